/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/*
 * What a script changed in its shadow copy, and applying it back.
 *
 * The copy writes a manifest into the run directory, out of the
 * container's reach: for every entry of the original, its stat as
 * copied and the stat of its shadow twin.  A shadow file whose inode
 * and ctime are what the copy left was not touched (no one inside a
 * container can set a ctime), so only touched files are read.  The
 * shadow is hostile: it is walked by descriptor, never following a
 * link, with bounded depth, names and count.
 */

#define MAXSCAN 200000		/* shadow entries looked at */
#define MAXDEPTH 256
#define MAXPATHBYTES (64 << 20)	/* of the names of those entries */
#define MAXLISTED 10000		/* paths in a changes event */
#define MAXDIFF (1 << 20)	/* bytes per side of a text diff */

static const char magic[] = "sbx-manifest 1";

void
entries_add(struct entries *es, const struct entry *e)
{
	if (es->n == es->cap) {
		es->cap = es->cap ? es->cap * 2 : 256;
		es->v = erealloc(es->v, es->cap * sizeof(*es->v));
	}
	es->v[es->n++] = *e;
}

/* Copies e, and its path. */
void
entries_copy(struct entries *es, const struct entry *e)
{
	struct entry c = *e;

	c.path = estrdup(e->path);
	entries_add(es, &c);
}

void
entries_free(struct entries *es)
{
	size_t i;

	for (i = 0; i < es->n; i++)
		free(es->v[i].path);
	free(es->v);
	memset(es, 0, sizeof(*es));
}

/* Called by the copy for each entry: copies rel. */
void
manifest_add(struct entries *es, const char *rel, const struct stat *orig,
    const struct stat *shadow, mode_t smode)
{
	struct entry e;

	memset(&e, 0, sizeof(e));
	e.path = estrdup(rel);
	e.mode = orig->st_mode;
	e.size = orig->st_size;
	e.mtime = orig->st_mtim;
	e.ctime = orig->st_ctim;
	e.dev = orig->st_dev;
	e.ino = orig->st_ino;
	if (shadow) {
		e.sino = shadow->st_ino;
		e.sctime = shadow->st_ctim;
	}
	e.smode = smode;
	entries_add(es, &e);
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->path,
	    ((const struct entry *)b)->path);
}

/*
 * rundir/manifest: a header, then one NUL-terminated record per
 * entry, the path last so that it may hold any byte but NUL.
 */
void
manifest_write(const char *path, const char *dir, mode_t extra,
    struct entries *es)
{
	struct jbuf b = { NULL, 0, 0, 0 };
	char *tmp;
	const struct entry *e;
	char line[256];
	size_t i;
	int fd, n;

	if (es->n > 0)
		qsort(es->v, es->n, sizeof(*es->v), by_path);
	n = snprintf(line, sizeof(line), "%s %o ", magic, (unsigned)extra);
	jb_put(&b, line, (size_t)n);
	jb_put(&b, dir, strlen(dir) + 1);
	for (i = 0; i < es->n; i++) {
		e = &es->v[i];
		n = snprintf(line, sizeof(line), "%o %lld %lld %ld %lld %ld "
		    "%llu %llu %llu %lld %ld %o ", (unsigned)e->mode,
		    (long long)e->size, (long long)e->mtime.tv_sec,
		    e->mtime.tv_nsec, (long long)e->ctime.tv_sec,
		    e->ctime.tv_nsec, (unsigned long long)e->dev,
		    (unsigned long long)e->ino, (unsigned long long)e->sino,
		    (long long)e->sctime.tv_sec, e->sctime.tv_nsec,
		    (unsigned)e->smode);
		jb_put(&b, line, (size_t)n);
		jb_put(&b, e->path, strlen(e->path) + 1);
	}
	tmp = smprintf("%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW,
	    0600)) < 0 || write(fd, b.s, b.len) != (ssize_t)b.len ||
	    close(fd) < 0 || rename(tmp, path) < 0)
		die("write %s:", path);
	free(tmp);
	free(b.s);
}

static int
parse_record(char *rec, struct entry *e)
{
	unsigned mode, smode;
	long long size, mt, ct, sct;
	unsigned long long dev, ino, sino;
	int off = -1;

	memset(e, 0, sizeof(*e));
	/* No space before %n: a path may begin with white space. */
	if (sscanf(rec, "%o %lld %lld %ld %lld %ld %llu %llu %llu %lld %ld "
	    "%o%n", &mode, &size, &mt, &e->mtime.tv_nsec, &ct,
	    &e->ctime.tv_nsec, &dev, &ino, &sino, &sct, &e->sctime.tv_nsec,
	    &smode, &off) != 12 || off < 0 || rec[off] != ' ' ||
	    rec[off + 1] == '\0')
		return 0;
	off++;
	e->mode = (mode_t)mode;
	e->smode = (mode_t)smode;
	e->size = (off_t)size;
	e->mtime.tv_sec = (time_t)mt;
	e->ctime.tv_sec = (time_t)ct;
	e->sctime.tv_sec = (time_t)sct;
	e->dev = (dev_t)dev;
	e->ino = (ino_t)ino;
	e->sino = (ino_t)sino;
	e->path = estrdup(rec + off);
	return 1;
}

/* Reads rundir/manifest, which only sbx writes: a bad one is fatal. */
static void
manifest_read(struct tree *t)
{
	const char *path = t->lay.manifest;
	char *buf, *p, *end;
	unsigned extra;
	struct stat st;
	struct entry e;
	ssize_t n;
	int fd, off = -1;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) < 0)
		die("%s: no manifest: was the workspace rw?", t->lay.dir);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		die("%s: not a manifest", path);
	buf = emalloc((size_t)st.st_size + 1);
	if ((n = read(fd, buf, (size_t)st.st_size)) != st.st_size)
		die("read %s:", path);
	close(fd);
	buf[n] = '\0';
	end = buf + n;
	if (strncmp(buf, magic, sizeof(magic) - 1) != 0 ||
	    sscanf(buf + sizeof(magic) - 1, " %o %n", &extra, &off) != 1 ||
	    off < 0 || memchr(buf, '\0', (size_t)n) == NULL)
		die("%s: not an sbx manifest", path);
	t->extra = (mode_t)extra;
	t->dir = estrdup(buf + sizeof(magic) - 1 + off);
	for (p = buf + strlen(buf) + 1; p < end; p += strlen(p) + 1) {
		if (!parse_record(p, &e))
			die("%s: corrupt record", path);
		entries_add(&t->old, &e);
	}
	free(buf);
}

/*
 * Walks the shadow directory open at dfd into t->now.  path holds the
 * relative name so far, len bytes of it.
 */
static void
scan(struct tree *t, int dfd, char *path, size_t len, int depth)
{
	struct dirent *de;
	struct entry e;
	struct stat st;
	size_t nl;
	DIR *d;
	int sub;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		t->incomplete = "a directory cannot be read";
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		nl = strlen(de->d_name);
		if (len + nl + 2 > PATH_MAX) {
			t->incomplete = "a path is longer than PATH_MAX";
			continue;
		}
		if (t->now.n >= MAXSCAN) {
			t->incomplete = "more than 200000 entries";
			break;
		}
		if ((t->pathbytes += len + nl + 2) > MAXPATHBYTES) {
			t->incomplete = "more than 64 MiB of path names";
			break;
		}
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			/* Gone is gone; unseen would look deleted. */
			if (errno != ENOENT)
				t->incomplete = "an entry cannot be read";
			continue;
		}
		if (len)
			path[len] = '/';
		memcpy(path + len + (len > 0), de->d_name, nl + 1);
		memset(&e, 0, sizeof(e));
		e.path = estrdup(path);
		e.mode = st.st_mode;
		e.size = st.st_size;
		e.ino = st.st_ino;
		e.ctime = st.st_ctim;
		entries_add(&t->now, &e);
		if (S_ISDIR(st.st_mode)) {
			if (depth >= MAXDEPTH)
				t->incomplete = "directories nested too deep";
			else if ((sub = openat(dirfd(d), de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				t->incomplete = "a directory cannot be read";
			else
				scan(t, sub, path, len + (len > 0) + nl,
				    depth + 1);
		}
		path[len] = '\0';
	}
	closedir(d);
}

/* Opens the tree at t's run directory: the manifest and the shadow. */
void
tree_open(struct tree *t, const char *rundir)
{
	char path[PATH_MAX] = "", mark[8];
	struct stat st;
	int fd;

	memset(t, 0, sizeof(*t));
	layout_set(&t->lay, estrdup(rundir));
	manifest_read(t);
	if ((fd = open(t->lay.ws, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		die("%s:", t->lay.ws);
	scan(t, fd, path, 0, 0);
	if (t->now.n > 0)	/* none: no array to sort (UBSan) */
		qsort(t->now.v, t->now.n, sizeof(*t->now.v), by_path);
	if (read_mark(t->lay.dir, MARK_PARTIAL, mark, sizeof(mark), &st) >= 0)
		t->incomplete = strcmp(mark, MARK_FAILED) == 0 ? "the copy "
		    "back from the remote engine failed" : "the copy back "
		    "from the remote engine stopped at workspace_size or "
		    "workspace_files";
	if ((t->sfd = open(t->lay.ws, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		die("%s:", t->lay.ws);
	if ((t->ofd = open(t->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		die("%s:", t->dir);
	tree_compare(t);
}

void
tree_close(struct tree *t)
{
	entries_free(&t->old);
	entries_free(&t->now);
	free(t->changes);
	layout_free(&t->lay);
	free(t->dir);
	if (t->sfd > 0)
		close(t->sfd);
	if (t->ofd > 0)
		close(t->ofd);
	memset(t, 0, sizeof(*t));
}

/* Reads at most max bytes of rel into a new buffer; -1 if bigger. */
static char *
slurp(int root, const char *rel, size_t max, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	if ((fd = open_file(root, rel, &st)) < 0)
		return NULL;
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		close(fd);
		return NULL;
	}
	buf = emalloc((size_t)st.st_size + 1);
	*len = 0;
	while (*len < (size_t)st.st_size && (n = read(fd, buf + *len,
	    (size_t)st.st_size - *len)) > 0)
		*len += (size_t)n;
	close(fd);
	buf[*len] = '\0';
	return buf;
}

static int
same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Is the original's entry still as it was copied? */
int
orig_unchanged(const struct tree *t, const struct entry *e)
{
	struct stat st;

	if (lstat_at(t->ofd, e->path, &st) < 0 ||
	    (st.st_mode & S_IFMT) != (e->mode & S_IFMT) || st.st_ino != e->ino)
		return 0;
	if (S_ISDIR(st.st_mode))	/* its entries answer for themselves */
		return (st.st_mode & 07777) == (e->mode & 07777);
	return st.st_mode == e->mode && st.st_size == e->size &&
	    same_time(st.st_mtim, e->mtime) && same_time(st.st_ctim, e->ctime);
}

static int
same_bytes(int afd, int bfd)
{
	char a[65536], b[65536];
	ssize_t n, m, k;

	for (;;) {
		if ((n = read(afd, a, sizeof(a))) < 0)
			return 0;
		for (m = 0; m < n; m += k)
			if ((k = read(bfd, b + m, (size_t)(n - m))) <= 0)
				return 0;
		if (n == 0)
			return read(bfd, b, 1) == 0;
		if (memcmp(a, b, (size_t)n) != 0)
			return 0;
	}
}

static int
same_link(const struct tree *t, const char *rel)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *name;
	ssize_t n = -1, m = -1;
	int dfd;

	if ((dfd = open_parent(t->sfd, rel, &name)) >= 0) {
		n = readlinkat(dfd, name, a, sizeof(a));
		close(dfd);
	}
	if ((dfd = open_parent(t->ofd, rel, &name)) >= 0) {
		m = readlinkat(dfd, name, b, sizeof(b));
		close(dfd);
	}
	return n >= 0 && n == m && memcmp(a, b, (size_t)n) == 0;
}

/* Same content as the original, when the inode says it might not be. */
static int
same_content(const struct tree *t, const struct entry *o,
    const struct entry *s)
{
	struct stat st;
	int afd, bfd, r;

	if (s->ino == o->sino && same_time(s->ctime, o->sctime))
		return 1;	/* untouched since the copy */
	if (!orig_unchanged(t, o))
		return 0;	/* cannot tell: call it modified */
	if (S_ISLNK(o->mode))
		return same_link(t, s->path);
	if (s->size != o->size)
		return 0;
	if ((afd = open_file(t->sfd, s->path, &st)) < 0)
		return 0;
	if ((bfd = open_file(t->ofd, o->path, &st)) < 0) {
		close(afd);
		return 0;
	}
	r = same_bytes(afd, bfd);
	close(afd);
	close(bfd);
	return r;
}

static void
add_change(struct tree *t, enum change_kind k, const struct entry *o,
    const struct entry *s)
{
	struct change *c;

	t->changes = erealloc(t->changes, (t->nchanges + 1) *
	    sizeof(*t->changes));
	c = &t->changes[t->nchanges++];
	c->kind = k;
	c->old = o;
	c->now = s;
	c->path = o ? o->path : s->path;
	c->selected = 1;
	c->failed = 0;
	c->done = 0;
	c->blocks = 0;
	t->count[k]++;
}

static void
compare_one(struct tree *t, const struct entry *o, const struct entry *s)
{
	if ((o->mode & S_IFMT) != (s->mode & S_IFMT) ||
	    (s->mode & 07777) != (o->smode & 07777))
		add_change(t, MODIFIED, o, s);
	else if (!S_ISDIR(s->mode) && !same_content(t, o, s))
		add_change(t, MODIFIED, o, s);
}

/*
 * Merges the two sorted lists into t->changes, in path order.  Of a
 * shadow not read whole, an original entry that was not seen may still
 * be there: no deletion is claimed then.
 */
void
tree_compare(struct tree *t)
{
	size_t i = 0, j = 0;
	int c;

	while (i < t->old.n || j < t->now.n) {
		if (i == t->old.n)
			c = 1;
		else if (j == t->now.n)
			c = -1;
		else
			c = strcmp(t->old.v[i].path, t->now.v[j].path);
		if (c < 0 && t->incomplete)
			i++;
		else if (c < 0)
			add_change(t, DELETED, &t->old.v[i++], NULL);
		else if (c > 0)
			add_change(t, ADDED, NULL, &t->now.v[j++]);
		else
			compare_one(t, &t->old.v[i++], &t->now.v[j++]);
	}
}

const char *
type_name(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "directory" : S_ISLNK(m) ?
	    "symlink" : "other";
}

static const char *kind_names[] = { "added", "modified", "deleted" };

static void
mode_str(struct jbuf *j, const char *key, mode_t m)
{
	char s[8];

	snprintf(s, sizeof(s), "%04o", (unsigned)(m & 07777));
	jb_str(j, key, s);
}

/* The "changes" event: every selected path, with type, size and mode. */
void
event_changes(const struct tree *t)
{
	const struct change *c;
	struct jbuf j;
	size_t i, n[3] = { 0, 0, 0 }, shown = 0;

	for (i = 0; i < t->nchanges; i++)
		n[t->changes[i].kind] += t->changes[i].selected;
	jb_begin(&j, "changes");
	jb_int(&j, "added", (long long)n[ADDED]);
	jb_int(&j, "modified", (long long)n[MODIFIED]);
	jb_int(&j, "deleted", (long long)n[DELETED]);
	jb_str(&j, "incomplete", t->incomplete);
	jb_put(&j, ",\"paths\":[", 10);
	for (i = 0; i < t->nchanges; i++) {
		c = &t->changes[i];
		if (!c->selected || shown >= MAXLISTED)
			continue;
		if (shown++)
			jb_put(&j, ",", 1);
		jb_put(&j, "{", 1);
		j.first = 1;
		jb_str(&j, "path", c->path);
		jb_str(&j, "change", kind_names[c->kind]);
		jb_str(&j, "type", type_name(c->now ? c->now->mode :
		    c->old->mode));
		if (c->old && c->now && (c->old->mode & S_IFMT) !=
		    (c->now->mode & S_IFMT))
			jb_str(&j, "old_type", type_name(c->old->mode));
		jb_int(&j, "size", (long long)(c->now ? c->now->size :
		    c->old->size));
		mode_str(&j, "mode", c->now ? c->now->mode : c->old->smode);
		if (c->old && c->now && (c->now->mode & 07777) !=
		    (c->old->smode & 07777))
			mode_str(&j, "old_mode", c->old->smode);
		jb_put(&j, "}", 1);
	}
	jb_put(&j, "]", 1);
	j.first = 0;
	/* The counts are whole; the list stops at MAXLISTED paths. */
	jb_int(&j, "unlisted", (long long)(n[ADDED] + n[MODIFIED] +
	    n[DELETED] - shown));
	jb_emit(&j);
}

/* -------- diffs: git's format, which patch -p1 also reads -------- */

static void
put_str(struct jbuf *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

/* A path as git writes it: C-quoted if it holds odd bytes. */
static void
put_name(struct jbuf *b, const char *prefix, const char *path)
{
	const unsigned char *p;
	char esc[8];
	int quote = 0;

	for (p = (const unsigned char *)path; *p; p++)
		quote |= *p < 0x20 || *p == '"' || *p == '\\' || *p >= 0x7f;
	if (!quote) {
		put_str(b, prefix);
		put_str(b, path);
		return;
	}
	jb_put(b, "\"", 1);
	put_str(b, prefix);
	for (p = (const unsigned char *)path; *p; p++) {
		if (*p == '"' || *p == '\\')
			snprintf(esc, sizeof(esc), "\\%c", *p);
		else if (*p == '\n')
			snprintf(esc, sizeof(esc), "\\n");
		else if (*p == '\t')
			snprintf(esc, sizeof(esc), "\\t");
		else if (*p < 0x20 || *p >= 0x7f)
			snprintf(esc, sizeof(esc), "\\%03o", *p);
		else
			snprintf(esc, sizeof(esc), "%c", *p);
		put_str(b, esc);
	}
	jb_put(b, "\"", 1);
}

/* "--- a/x" and "+++ b/x"; a tab ends a name with a space in it. */
static void
put_header(struct jbuf *b, const char *mark, const char *prefix,
    const char *path)
{
	put_str(b, mark);
	if (path == NULL) {
		put_str(b, "/dev/null\n");
		return;
	}
	put_name(b, prefix, path);
	put_str(b, strchr(path, ' ') ? "\t\n" : "\n");
}

static unsigned
git_mode(mode_t m)
{
	return S_ISLNK(m) ? 0120000 : (m & 0111) ? 0100755 : 0100644;
}

/* A side's content: file bytes or a link's target, NULL if too big. */
static char *
content(int root, const char *path, mode_t mode, size_t *len)
{
	char *buf;
	const char *name;
	ssize_t n;
	int dfd;

	if (!S_ISLNK(mode))
		return slurp(root, path, MAXDIFF, len);
	buf = emalloc(PATH_MAX);
	if ((dfd = open_parent(root, path, &name)) < 0 ||
	    (n = readlinkat(dfd, name, buf, PATH_MAX - 1)) < 0)
		n = 0;
	if (dfd >= 0)
		close(dfd);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static int
binary(const char *s, size_t n)
{
	return memchr(s, '\0', n < 8000 ? n : 8000) != NULL;
}

/*
 * One file's diff from o (NULL: none) to s (NULL: none), as git's
 * "diff --git" text.  Sets *why to "binary" or "too large" when the
 * content is left out.  One function: git's header lines depend on one
 * another (modes, new and deleted files, links), and read best in order.
 */
static int
diff_one(const struct tree *t, struct jbuf *b, const char *path,
    const struct entry *o, const struct entry *s, const char **why)
{
	int shown = !o || !s || git_mode(o->smode) != git_mode(s->mode);

	struct jbuf h = { NULL, 0, 0, 0 };
	char *x = NULL, *y = NULL, line[64];
	size_t xn = 0, yn = 0;

	*why = NULL;
	put_str(b, "diff --git ");
	put_name(b, "a/", path);
	put_str(b, " ");
	put_name(b, "b/", path);
	put_str(b, "\n");
	if (o && s && git_mode(o->smode) != git_mode(s->mode)) {
		snprintf(line, sizeof(line), "old mode %o\nnew mode %o\n",
		    git_mode(o->smode), git_mode(s->mode));
		put_str(b, line);
	} else if (!o || !s) {
		snprintf(line, sizeof(line), "%s file mode %o\n", o ? "deleted" :
		    "new", git_mode(o ? o->mode : s->mode));
		put_str(b, line);
	}
	if ((o && (x = content(t->ofd, path, o->mode, &xn)) == NULL) ||
	    (s && (y = content(t->sfd, path, s->mode, &yn)) == NULL))
		*why = "too large";
	else if (binary(x ? x : "", xn) || binary(y ? y : "", yn))
		*why = "binary";
	if (*why == NULL) {
		diff_hunks(&h, x ? x : "", xn, y ? y : "", yn);
		if (h.len) {
			shown = 1;
			put_header(b, "--- ", "a/", o ? path : NULL);
			put_header(b, "+++ ", "b/", s ? path : NULL);
			jb_put(b, h.s, h.len);
		}
		free(h.s);
	} else {
		/* As diff -r says it, which git apply and patch skip; the
		 * names quoted as git quotes them, so that no name can
		 * start a line of its own. */
		b->len = 0;
		put_str(b, strcmp(*why, "binary") == 0 ? "Binary files " :
		    "Files ");
		if (o)
			put_name(b, "a/", path);
		else
			put_str(b, "/dev/null");
		put_str(b, " and ");
		if (s)
			put_name(b, "b/", path);
		else
			put_str(b, "/dev/null");
		put_str(b, strcmp(*why, "binary") == 0 ? " differ\n" :
		    " differ (too large to diff)\n");
		shown = 1;
	}
	free(x);
	free(y);
	/* Bits other than x are not git's to track: nothing to show. */
	return shown;
}

/*
 * Calls fn with each changed file's diff text.  Directories have none;
 * a change of type is a deletion and an addition, as git shows it.
 */
void
tree_diffs(const struct tree *t, void (*fn)(const struct change *,
    const char *, const char *, void *), void *arg)
{
	const struct entry *o, *s;
	struct jbuf b;
	const char *why;
	size_t i;
	int k;

	for (i = 0; i < t->nchanges; i++) {
		if (!t->changes[i].selected)
			continue;
		for (k = 0; k < 2; k++) {
			o = t->changes[i].old;
			s = t->changes[i].now;
			if (o && s && (o->mode & S_IFMT) != (s->mode & S_IFMT)) {
				if (k == 0)
					s = NULL;
				else
					o = NULL;
			} else if (k == 1) {
				break;
			}
			if ((o && S_ISDIR(o->mode)) || (s && S_ISDIR(s->mode)) ||
			    (o && !S_ISREG(o->mode) && !S_ISLNK(o->mode)) ||
			    (s && !S_ISREG(s->mode) && !S_ISLNK(s->mode)))
				continue;
			memset(&b, 0, sizeof(b));
			if (diff_one(t, &b, t->changes[i].path, o, s, &why))
				fn(&t->changes[i], b.s, why, arg);
			free(b.s);
		}
	}
}

/* -------- pattern selection -------- */

struct change *
tree_find(struct tree *t, const char *path)
{
	size_t lo = 0, hi = t->nchanges, mid;
	int c;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(path, t->changes[mid].path)) == 0)
			return &t->changes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* A pattern names a path, or a directory the path is in. */
static int
matches(char **pats, const char *path)
{
	char *p = estrdup(path), *slash;
	size_t i;
	int m = 0;

	for (;;) {
		for (i = 0; pats[i] && !m; i++)
			m = fnmatch(pats[i], p, FNM_PATHNAME | FNM_PERIOD) == 0;
		if (m || (slash = strrchr(p, '/')) == NULL)
			break;
		*slash = '\0';
	}
	free(p);
	return m;
}

/*
 * Keeps the changes the patterns name, and the new directories they
 * need to land in.
 */
void
tree_select(struct tree *t, char **pats)
{
	struct change *c;
	char *p, *slash;
	size_t i;

	if (pats == NULL || *pats == NULL)
		return;
	for (i = 0; i < t->nchanges; i++)
		t->changes[i].selected = matches(pats, t->changes[i].path);
	for (i = 0; i < t->nchanges; i++) {
		if (!t->changes[i].selected)
			continue;
		p = estrdup(t->changes[i].path);
		while ((slash = strrchr(p, '/')) != NULL) {
			*slash = '\0';
			if ((c = tree_find(t, p)) != NULL && c->kind != DELETED)
				c->selected = 1;
		}
		free(p);
	}
}

/* A "diff" event: one file's patch, or why it has none. */
void
event_diff(const struct change *c, const char *patch, const char *why,
    void *arg)
{
	struct jbuf j;

	(void)arg;
	jb_begin(&j, "diff");
	jb_str(&j, "path", c->path);
	jb_str(&j, "change", kind_names[c->kind]);
	jb_str(&j, "omitted", why);
	jb_str(&j, "patch", patch);
	jb_emit(&j);
}
