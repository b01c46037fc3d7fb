/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"

/*
 * The copy transport's archives (see remote runs in backend_cli.c): a
 * tree into the runtime's "cp - NAME:DIR", and what "cp NAME:DIR -"
 * gives back out of it.  POSIX ustar, with pax records for what does
 * not fit its fields; the reader also takes GNU long names, which some
 * engines write.  What comes out of a container is hostile: it is made
 * under a directory of ours by descriptor, no link followed, links
 * made as links, hard links as copies, no set-id bit, within bounds.
 */

#define BLOCK 512
#define PAX_MAX 65536		/* of one extended header's records */
#define TAR_DEPTH 256		/* of the tree written: a descriptor a level */

struct hdr {
	char name[100], mode[8], uid[8], gid[8], size[12], mtime[12];
	char sum[8], type, link[100], magic[6], version[2];
	char uname[32], gname[32], major[8], minor[8], prefix[155];
	char pad[12];
};

static int
put(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
pad(int fd, long long size)
{
	static const char zero[BLOCK];

	return size % BLOCK ? put(fd, zero, BLOCK - size % BLOCK) : 0;
}

/* Exactly n bytes of in to out (out -1: passed over); -1 if in ends first. */
static int
copy_n(int in, int out, long long n)
{
	char buf[65536];
	ssize_t r;
	size_t k;

	for (; n > 0; n -= r) {
		k = n > (long long)sizeof(buf) ? sizeof(buf) : (size_t)n;
		if ((r = read(in, buf, k)) < 0 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r <= 0 || (out >= 0 && put(out, buf, (size_t)r) < 0))
			return -1;
	}
	return 0;
}

/* n - 1 octal digits and a NUL; a value too big for them is cut. */
static void
octal(char *f, size_t n, unsigned long long v)
{
	f[--n] = '\0';
	while (n-- > 0) {
		f[n] = (char)('0' + (v & 7));
		v >>= 3;
	}
}

static int
header(int fd, char type, const char *name, const char *link,
    long long size, const struct tar_owner *o, mode_t mode, time_t mtime)
{
	struct hdr h;
	unsigned sum = 0;
	size_t i;

	memset(&h, 0, sizeof(h));
	memcpy(h.name, name, strnlen(name, sizeof(h.name)));
	octal(h.mode, sizeof(h.mode), mode & 07777);
	octal(h.uid, sizeof(h.uid), o->uid);
	octal(h.gid, sizeof(h.gid), o->gid);
	octal(h.size, sizeof(h.size), (unsigned long long)size);
	octal(h.mtime, sizeof(h.mtime), mtime > 0 ? (unsigned long long)mtime
	    : 0);
	h.type = type;
	if (link)
		memcpy(h.link, link, strnlen(link, sizeof(h.link)));
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	memset(h.sum, ' ', sizeof(h.sum));
	for (i = 0; i < sizeof(h); i++)
		sum += ((unsigned char *)&h)[i];
	snprintf(h.sum, sizeof(h.sum), "%06o", sum);
	return put(fd, &h, sizeof(h));
}

static size_t
digits(size_t n)
{
	size_t d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* "LEN key=value\n", LEN counting itself. */
static void
record(struct jbuf *b, const char *key, const char *val)
{
	size_t n = strlen(key) + strlen(val) + 3, d = digits(n);
	char num[24];

	if (digits(n + d) > d)
		d++;
	snprintf(num, sizeof(num), "%zu ", n + d);
	jb_put(b, num, strlen(num));
	jb_put(b, key, strlen(key));
	jb_put(b, "=", 1);
	jb_put(b, val, strlen(val));
	jb_put(b, "\n", 1);
}

/* One entry, a pax header first if its name or link is too long. */
static int
entry(int fd, char type, const char *name, const char *link, long long size,
    const struct tar_owner *o, mode_t mode, time_t mtime)
{
	struct jbuf b = { NULL, 0, 0, 0 };
	char num[24];
	int r = 0;

	if (strlen(name) >= 100)
		record(&b, "path", name);
	if (link && strlen(link) >= 100)
		record(&b, "linkpath", link);
	if (size > 077777777777LL) {
		snprintf(num, sizeof(num), "%lld", size);
		record(&b, "size", num);
	}
	if (o->uid > 07777777 || o->gid > 07777777) {
		snprintf(num, sizeof(num), "%lu", (unsigned long)o->uid);
		record(&b, "uid", num);
		snprintf(num, sizeof(num), "%lu", (unsigned long)o->gid);
		record(&b, "gid", num);
	}
	if (b.len > 0)
		r = header(fd, 'x', "pax", NULL, (long long)b.len, o, 0644,
		    0) || put(fd, b.s, b.len) || pad(fd, (long long)b.len);
	free(b.s);
	return r ? -1 : header(fd, type, name, link, size, o, mode, mtime);
}

/* What the container sees of a mode: see struct tar_owner. */
static mode_t
shown(const struct tar_owner *o, mode_t m)
{
	if (!o->ro)
		return m & 07777;
	m &= 07555;
	return (m & ~(mode_t)070) | ((m & 0500) >> 3);
}

int
tar_file(int fd, const char *path, const char *name,
    const struct tar_owner *o, mode_t mode)
{
	struct stat st;
	int in, r;

	if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(in, &st) < 0) {
		if (in >= 0)
			close(in);
		return -1;
	}
	r = entry(fd, '0', name, NULL, st.st_size, o, mode, st.st_mtime) ||
	    copy_n(in, fd, st.st_size) || pad(fd, st.st_size);
	close(in);
	return r ? -1 : 0;
}

/* A directory of that name, made with mode. */
int
tar_dir(int fd, const char *name, const struct tar_owner *o, mode_t mode)
{
	char *n = smprintf("%s/", name);
	int r = entry(fd, '5', n, NULL, 0, o, mode, time(NULL));

	free(n);
	return r;
}

/* dir's entries under name (with its "/"), a descriptor a level. */
static int
tree(int fd, int dir, char *name, size_t len, const struct tar_owner *o,
    struct tar_result *n, int depth)
{
	char link[PATH_MAX + 1];
	struct dirent *d;
	struct stat st;
	ssize_t k;
	DIR *dp;
	int sub, r = 0;
	size_t l;

	if (depth > TAR_DEPTH || (dp = fdopendir(dir)) == NULL) {
		close(dir);
		return -1;
	}
	while (r == 0 && (d = readdir(dp)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		l = strlen(d->d_name);
		if (len + l + 2 > PATH_MAX ||
		    fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -1;
			break;
		}
		memcpy(name + len, d->d_name, l + 1);
		n->files++;
		if (S_ISREG(st.st_mode))
			n->bytes += st.st_size;
		if (S_ISDIR(st.st_mode)) {
			memcpy(name + len + l, "/", 2);
			if ((sub = openat(dirfd(dp), d->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
			    entry(fd, '5', name, NULL, 0, o, shown(o,
			    st.st_mode), st.st_mtime) < 0)
				r = -1;
			else
				r = tree(fd, sub, name, len + l + 1, o, n,
				    depth + 1);
		} else if (S_ISREG(st.st_mode)) {
			if ((sub = openat(dirfd(dp), d->d_name, O_RDONLY |
			    O_NOFOLLOW | O_CLOEXEC)) < 0)
				r = -1;
			else {
				r = entry(fd, '0', name, NULL, st.st_size, o,
				    shown(o, st.st_mode), st.st_mtime) ||
				    copy_n(sub, fd, st.st_size) ||
				    pad(fd, st.st_size) ? -1 : 0;
				close(sub);
			}
		} else if (S_ISLNK(st.st_mode)) {
			if ((k = readlinkat(dirfd(dp), d->d_name, link,
			    sizeof(link) - 1)) < 0)
				r = -1;
			else {
				link[k] = '\0';
				r = entry(fd, '2', name, link, 0, o, 0777,
				    st.st_mtime);
			}
		} else if (S_ISFIFO(st.st_mode)) {
			r = entry(fd, '6', name, NULL, 0, o, shown(o,
			    st.st_mode), st.st_mtime);
		}
		name[len] = '\0';
	}
	closedir(dp);
	return r;
}

/*
 * The tree at dir, its entries named relative to it, no link followed;
 * their number and their files' bytes added to *n.
 */
int
tar_tree(int fd, const char *dir, const struct tar_owner *o,
    struct tar_result *n)
{
	char name[PATH_MAX + 1] = "";
	int d;

	if ((d = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	return tree(fd, d, name, 0, o, n, 0);
}

int
tar_end(int fd)
{
	static const char zero[2 * BLOCK];

	return put(fd, zero, sizeof(zero));
}

/* Reading. */

struct reader {
	int in;
	const struct tar_bound *b;
	struct tar_result *res;
	int root;
	char path[PATH_MAX + 1];	/* pax or GNU, for the next entry */
	char link[PATH_MAX + 1];
	long long size;			/* pax, or -1 */
	struct dirmode { char *rel; mode_t mode; struct timespec t; } *dirs;
	size_t ndirs;
	int strip;			/* as b's, once known */
};

static int
get(int fd, void *buf, size_t n)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* n bytes of input passed over. */
static int
drop(int fd, long long n)
{
	return copy_n(fd, -1, n);
}

/* What pads size bytes of data to a block. */
static long long
padding(long long size)
{
	return size % BLOCK ? BLOCK - size % BLOCK : 0;
}

/* An octal field, or base-256 for a large one; -1 if neither. */
static long long
number(const char *f, size_t n)
{
	unsigned long long v = 0;
	size_t i = 0;

	if ((unsigned char)f[0] & 0x80) {
		if (n > 8 && (f[0] & 0x7f) == 0) {
			for (i = 1; i < n; i++) {
				if (v >> 55)
					return -1;
				v = v << 8 | (unsigned char)f[i];
			}
			return (long long)v;
		}
		return -1;
	}
	while (i < n && f[i] == ' ')
		i++;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (unsigned)(f[i] - '0');
	}
	if (i < n && f[i] != '\0' && f[i] != ' ')
		return -1;
	return (long long)v;
}

/*
 * A name as the reader makes it: relative, "." parts dropped, the
 * first strip components taken off; NULL for one with "..", or none
 * left (the tree's own top).
 */
static const char *
clean(char *name, int strip, char *out, size_t size)
{
	char *p, *next;
	size_t len = 0, l;

	for (p = name; p && *p; p = next) {
		next = strchr(p, '/');
		if (next)
			*next++ = '\0';
		l = strlen(p);
		if (l == 0 || strcmp(p, ".") == 0)
			continue;
		if (strcmp(p, "..") == 0)
			return NULL;
		if (strip > 0) {
			strip--;
			continue;
		}
		if (len + l + 2 > size)
			return NULL;
		if (len)
			out[len++] = '/';
		memcpy(out + len, p, l + 1);
		len += l;
	}
	return len ? out : NULL;
}

/* Of a name, the parts that are not empty or ".". */
static int
components(const char *name)
{
	const char *p = name;
	int n = 0;
	size_t l;

	for (; *p; p += l) {
		p += strspn(p, "/");
		l = strcspn(p, "/");
		if (l > 0 && !(l == 1 && *p == '.'))
			n++;
	}
	return n;
}

/* pax records of interest: path, linkpath, size. */
static int
pax(struct reader *r, long long size)
{
	char *buf, *p, *end, *eq, *rec;
	long len;

	if (size > PAX_MAX)
		return drop(r->in, size + padding(size));
	buf = emalloc((size_t)size + 1);
	if (get(r->in, buf, (size_t)size) < 0 ||
	    drop(r->in, padding(size)) < 0) {
		free(buf);
		return -1;
	}
	buf[size] = '\0';
	for (p = buf, end = buf + size; p < end; p = rec + len) {
		rec = p;
		len = strtol(p, &p, 10);
		if (len <= 0 || rec + len > end || *p != ' ' ||
		    rec[len - 1] != '\n')
			break;
		rec[len - 1] = '\0';
		if ((eq = strchr(++p, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(p, "path") == 0)
			snprintf(r->path, sizeof(r->path), "%s", eq);
		else if (strcmp(p, "linkpath") == 0)
			snprintf(r->link, sizeof(r->link), "%s", eq);
		else if (strcmp(p, "size") == 0)
			r->size = strtoll(eq, NULL, 10);
	}
	free(buf);
	return 0;
}

/* A regular file's data, size bytes of in or all of src, into a new one. */
static int
make_file(struct reader *r, int dfd, const char *base, int src,
    long long size, mode_t mode, time_t mtime)
{
	struct timespec t[2] = { { mtime, 0 }, { mtime, 0 } };
	int fd, ok;

	unlinkat(dfd, base, 0);
	if ((fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0)
		return src >= 0 ? 0 : drop(r->in, size + padding(size));
	ok = src >= 0 ? copy_fd(src, fd) == 0 : copy_n(r->in, fd, size) == 0 &&
	    drop(r->in, padding(size)) == 0;
	if (r->b->chown && fchown(fd, r->b->uid, r->b->gid) < 0)
		ok = 0;
	fchmod(fd, mode & 01777);
	futimens(fd, t);
	close(fd);
	return ok ? 0 : -1;
}

/* Counted against the bounds: 1 if it is past them. */
static int
over(struct reader *r, long long size)
{
	r->res->files++;
	r->res->bytes = size > LLONG_MAX - r->res->bytes ? LLONG_MAX :
	    r->res->bytes + size;
	if (r->res->files > r->b->files || r->res->bytes > r->b->bytes)
		return r->res->full = 1;
	return 0;
}

/*
 * The directory rel goes in, opened; those missing on the way made, as
 * GNU tar makes what an archive leaves out (counted as entries, and
 * bounded as they are: -2, full, for one past the bound).
 */
static int
parent(struct reader *r, const char *rel, const char **base)
{
	char sub[PATH_MAX + 1];
	const char *p, *name;
	int fd;

	if ((fd = open_parent(r->root, rel, base)) >= 0 || errno != ENOENT)
		return fd;
	for (p = strchr(rel, '/'); p; p = strchr(p + 1, '/')) {
		snprintf(sub, sizeof(sub), "%.*s", (int)(p - rel), rel);
		if ((fd = open_parent(r->root, sub, &name)) < 0)
			return -1;
		if (r->res->files >= r->b->files) {
			close(fd);
			r->res->full = 1;
			return -2;
		}
		if (mkdirat(fd, name, 0755) == 0) {
			r->res->files++;
			if (r->b->chown)
				fchownat(fd, name, r->b->uid, r->b->gid,
				    AT_SYMLINK_NOFOLLOW);
		}
		close(fd);
	}
	return open_parent(r->root, rel, base);
}

/* One entry made under root; -1 on a broken stream, 1 past the bounds. */
static int
make(struct reader *r, char type, const char *rel, const char *link,
    long long size, mode_t mode, time_t mtime)
{
	struct timespec t[2] = { { mtime, 0 }, { mtime, 0 } };
	char target[PATH_MAX + 1], lk[PATH_MAX + 1];
	const char *base, *tr;
	struct stat st;
	int dfd, src, ret = 0;
	size_t i;

	if ((dfd = parent(r, rel, &base)) < 0)
		return dfd == -2 ? 1 : drop(r->in, size + padding(size));
	switch (type) {
	case '5':
		if (over(r, 0))
			ret = 1;
		else if ((mkdirat(dfd, base, 0700) == 0 || (errno == EEXIST &&
		    fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)))) {
			if (r->b->chown)
				fchownat(dfd, base, r->b->uid, r->b->gid,
				    AT_SYMLINK_NOFOLLOW);
			for (i = 0; i < r->ndirs; i++)
				if (strcmp(r->dirs[i].rel, rel) == 0)
					break;
			if (i == r->ndirs) {
				r->dirs = erealloc(r->dirs, (r->ndirs + 1) *
				    sizeof(*r->dirs));
				r->dirs[r->ndirs++].rel = estrdup(rel);
			}
			r->dirs[i].mode = mode;
			r->dirs[i].t = t[0];
		}
		ret = ret ? ret : drop(r->in, size + padding(size));
		break;
	case '0': case '\0': case '7':
		ret = over(r, size) ? 1 : make_file(r, dfd, base, -1, size,
		    mode, mtime);
		break;
	case '1':
		/* A copy of what the entry it names became. */
		snprintf(lk, sizeof(lk), "%s", link);
		if ((tr = clean(lk, r->strip, target, sizeof(target))) ==
		    NULL || (src = open_file(r->root, tr, &st)) < 0)
			break;
		ret = over(r, st.st_size) ? 1 : make_file(r, dfd, base, src,
		    0, st.st_mode, st.st_mtime);
		close(src);
		ret = ret ? ret : drop(r->in, size + padding(size));
		break;
	case '2':
		if (over(r, 0)) {
			ret = 1;
			break;
		}
		unlinkat(dfd, base, 0);
		if (symlinkat(link, dfd, base) == 0) {
			if (r->b->chown)
				fchownat(dfd, base, r->b->uid, r->b->gid,
				    AT_SYMLINK_NOFOLLOW);
			utimensat(dfd, base, t, AT_SYMLINK_NOFOLLOW);
		}
		ret = drop(r->in, size + padding(size));
		break;
	case '6':
		if (over(r, 0)) {
			ret = 1;
			break;
		}
		unlinkat(dfd, base, 0);
		if (mkfifoat(dfd, base, 0600) == 0) {
			if (r->b->chown)
				fchownat(dfd, base, r->b->uid, r->b->gid,
				    AT_SYMLINK_NOFOLLOW);
			fchmodat(dfd, base, mode & 0777, 0);
			utimensat(dfd, base, t, AT_SYMLINK_NOFOLLOW);
		}
		ret = drop(r->in, size + padding(size));
		break;
	default:	/* devices and the rest: not made */
		ret = drop(r->in, size + padding(size));
	}
	close(dfd);
	return ret;
}

/* A GNU long name or link: the entry's data. */
static int
longname(struct reader *r, char *out, size_t outsz, long long size)
{
	size_t n = (size_t)size < outsz - 1 ? (size_t)size : outsz - 1;

	if (get(r->in, out, n) < 0 || drop(r->in, size - (long long)n +
	    padding(size)) < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static int
checksum_ok(const struct hdr *h)
{
	const unsigned char *p = (const unsigned char *)h;
	long long want = number(h->sum, sizeof(h->sum));
	long long sum = 0;
	size_t i;

	for (i = 0; i < sizeof(*h); i++)
		sum += i >= 148 && i < 156 ? ' ' : p[i];
	return sum == want;
}

static int
all_zero(const struct hdr *h)
{
	const char *p = (const char *)h;
	size_t i;

	for (i = 0; i < sizeof(*h); i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * Reads the archive on in into dir, which exists, bounded by b; what
 * it made in res.  -1, with res->error, for a stream that is not one;
 * bounds passed stop it with res->full.
 */
int
tar_extract(int in, const char *dir, const struct tar_bound *b,
    struct tar_result *res)
{
	struct reader r;
	struct hdr h;
	char name[PATH_MAX + 1], rel[PATH_MAX + 1], link[PATH_MAX + 1];
	const char *cl;
	long long size, mode, mtime;
	struct timespec t[2];
	size_t i;
	int ret = 0, dfd, d, strip = b->strip;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.in = in;
	r.b = b;
	r.res = res;
	r.size = -1;
	r.strip = strip;
	if ((r.root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		res->error = "cannot open the directory it goes to";
		return -1;
	}
	while (ret == 0) {
		if (get(in, &h, sizeof(h)) < 0) {
			res->error = "the archive ends early";
			ret = -1;
			break;
		}
		if (all_zero(&h))
			break;
		size = number(h.size, sizeof(h.size));
		mode = number(h.mode, sizeof(h.mode));
		mtime = number(h.mtime, sizeof(h.mtime));
		if (!checksum_ok(&h) || size < 0 || mode < 0) {
			res->error = "not a tar archive";
			ret = -1;
			break;
		}
		if (r.size >= 0)
			size = r.size;
		/* No stream holds it, and its padding added would wrap. */
		if (size > LLONG_MAX - BLOCK) {
			res->error = "not a tar archive";
			ret = -1;
			break;
		}
		switch (h.type) {
		case 'x':
			ret = pax(&r, size);
			continue;
		case 'L':
			ret = longname(&r, r.path, sizeof(r.path), size);
			continue;
		case 'K':
			ret = longname(&r, r.link, sizeof(r.link), size);
			continue;
		case 'g':
			ret = drop(in, size + padding(size));
			continue;
		}
		if (r.path[0])
			snprintf(name, sizeof(name), "%s", r.path);
		else if (h.prefix[0] && memcmp(h.magic, "ustar", 5) == 0)
			snprintf(name, sizeof(name), "%.*s/%.*s",
			    (int)strnlen(h.prefix, sizeof(h.prefix)), h.prefix,
			    (int)strnlen(h.name, sizeof(h.name)), h.name);
		else
			snprintf(name, sizeof(name), "%.*s",
			    (int)strnlen(h.name, sizeof(h.name)), h.name);
		if (r.link[0])
			snprintf(link, sizeof(link), "%s", r.link);
		else
			snprintf(link, sizeof(link), "%.*s",
			    (int)strnlen(h.link, sizeof(h.link)), h.link);
		r.path[0] = r.link[0] = '\0';
		r.size = -1;
		/* Strip -1: the first entry is the top, and names it as the
		 * others do ("/", or docker's "workspace/"). */
		if (strip < 0)
			r.strip = strip = components(name);
		if ((cl = clean(name, strip, rel, sizeof(rel))) == NULL)
			ret = drop(in, size + padding(size));
		else
			ret = make(&r, h.type, cl, link, size, (mode_t)mode,
			    mtime < 0 ? 0 : (time_t)mtime);
	}
	/* Cut in an entry's data, or in an extended header's. */
	if (ret < 0 && res->error == NULL)
		res->error = "the archive ends early";
	/* Deepest last made first: a mode without w would stop the rest. */
	for (i = r.ndirs; i-- > 0; ) {
		t[0] = t[1] = r.dirs[i].t;
		if ((dfd = open_parent(r.root, r.dirs[i].rel, &cl)) >= 0 &&
		    (d = openat(dfd, cl, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC)) >= 0) {
			fchmod(d, r.dirs[i].mode & 01777);
			futimens(d, t);
			close(d);
		}
		if (dfd >= 0)
			close(dfd);
		free(r.dirs[i].rel);
	}
	free(r.dirs);
	close(r.root);
	return ret < 0 ? -1 : 0;
}
