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
#include <unistd.h>

#include "sbx.h"

#define MAXDEPTH 256	/* of the tree copied: a descriptor a level */

/* The walk's state. */
static struct {
	const char *dir;	/* the tree copied */
	uid_t uid;		/* the container user's, for chown */
	gid_t gid;
	const struct policy *p;	/* its max_files and max_bytes */
	long files;
	long long bytes;
	struct dirmode { char *path; mode_t mode; struct stat st; } *dirs;
	size_t ndirs;
	mode_t extra;		/* bits a non-root owner must grant */
	int chown;
	int record;		/* rw: keep a manifest of the original */
	int into;		/* ws/ is there already: a pool's */
	struct entries man;
	int fifos;		/* made anew, not skipped: ws_keep's */
	int tty;		/* stderr is a terminal: show progress */
	double start, shown;	/* of the copy, and of its last progress */
} cs;

/*
 * A copy that takes more than a second says how far it is, on a
 * terminal only, and at most five times a second; once done, its line
 * ends.
 */
static void
progress(int end)
{
	double t;

	if (!cs.tty || (end && cs.shown == 0))
		return;
	t = now();
	if (!end && (t - cs.start < 1 || t - cs.shown < 0.2))
		return;
	fprintf(stderr, "\rsbx: copying %s: %ld files, %lld MB%s", cs.dir,
	    cs.files, cs.bytes >> 20, end ? "\n" : "");
	cs.shown = t;
}

static void
copy_data(int in, int out, const char *path, off_t size)
{
	char buf[65536];
	ssize_t n, w;
	off_t done = 0;

	while (done < size) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read %s:", path);
		if (n == 0)
			break;
		for (w = 0; w < n; ) {
			ssize_t k = write(out, buf + w, (size_t)(n - w));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				die("write shadow copy of %s:", path);
			w += k;
		}
		done += n;
	}
}

/* What was opened is what the walk saw, or the tree is being changed. */
static void
same(int fd, const struct stat *st, const char *rel)
{
	struct stat now;

	if (fstat(fd, &now) < 0 || now.st_dev != st->st_dev ||
	    now.st_ino != st->st_ino ||
	    (now.st_mode & S_IFMT) != (st->st_mode & S_IFMT))
		die("%s/%s: changed while being copied", cs.dir, rel);
}

/* The file name in the directory dfd, read from its own descriptor. */
static void
copy_file(int dfd, const char *name, const char *rel, const char *dst,
    const struct stat *st)
{
	struct timespec ts[2];
	struct stat out_st;
	int in, out;

	/* O_NONBLOCK: a file swapped for a FIFO since the stat must not
	 * hang the copy; same() then tells what was really opened. */
	if ((in = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY |
	    O_NONBLOCK | O_CLOEXEC)) < 0)
		die("open %s/%s:", cs.dir, rel);
	same(in, st, rel);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (out < 0)
		die("create %s:", dst);
	copy_data(in, out, rel, st->st_size);
	if (cs.chown && fchown(out, cs.uid, cs.gid) < 0)
		die("chown %s:", dst);
	if (fchmod(out, (st->st_mode & 0777) | cs.extra) < 0)
		die("chmod %s:", dst);
	ts[0] = st->st_atim;
	ts[1] = st->st_mtim;
	futimens(out, ts);
	if (cs.record && fstat(out, &out_st) < 0)
		die("stat %s:", dst);
	if (close(out) < 0)
		die("write %s:", dst);
	close(in);
	if (cs.record)
		manifest_add(&cs.man, rel, st, &out_st, out_st.st_mode);
}

static void
copy_link(int dfd, const char *name, const char *rel, const char *dst,
    const struct stat *st)
{
	struct stat lst;
	char *target = emalloc((size_t)st->st_size + 1);
	ssize_t n;

	/* readlinkat fails on anything swapped in that is not a link. */
	if ((n = readlinkat(dfd, name, target, (size_t)st->st_size + 1)) < 0 ||
	    n > st->st_size)
		die("%s/%s: changed while being copied", cs.dir, rel);
	target[n] = '\0';
	if (symlink(target, dst) < 0)
		die("symlink %s:", dst);
	if (cs.chown && lchown(dst, cs.uid, cs.gid) < 0)
		die("chown %s:", dst);
	free(target);
	if (cs.record && lstat(dst, &lst) < 0)
		die("stat %s:", dst);
	if (cs.record)
		manifest_add(&cs.man, rel, st, &lst, lst.st_mode);
}

static void copy_dir(int fd, const char *rel, const char *dst,
    const struct stat *st, int depth);

/* One entry of the directory dfd; rel and dst are its paths. */
static void
copy_entry(int dfd, const char *name, const char *rel, const char *dst,
    int depth)
{
	struct stat st;
	int fd;

	if (++cs.files > cs.p->max_files)
		die("%s: more than %ld files (max_files)", cs.dir,
		    cs.p->max_files);
	if (cs.files % 256 == 0)
		progress(0);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		die("%s/%s: cannot stat:", cs.dir, rel);
	if (S_ISDIR(st.st_mode)) {
		/* Never by name: a directory swapped for a link since the
		 * stat fails here, or in same(). */
		if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) < 0)
			die(errno == ELOOP || errno == ENOTDIR ?
			    "%s/%s: changed while being copied" :
			    "%s/%s: cannot read directory:", cs.dir, rel);
		same(fd, &st, rel);
		copy_dir(fd, rel, dst, &st, depth + 1);
	} else if (S_ISLNK(st.st_mode)) {
		copy_link(dfd, name, rel, dst, &st);
	} else if (S_ISREG(st.st_mode)) {
		if ((cs.bytes += st.st_size) > cs.p->max_bytes)
			die("%s: more than %lld bytes (max_bytes)",
			    cs.dir, cs.p->max_bytes);
		copy_file(dfd, name, rel, dst, &st);
	} else if (S_ISFIFO(st.st_mode) && cs.fifos) {
		/* A kept workspace's, made anew: never opened. */
		if (mkfifo(dst, st.st_mode & 0777) < 0 ||
		    (cs.chown && lchown(dst, cs.uid, cs.gid) < 0))
			die("mkfifo %s:", dst);
	} else {
		/* A FIFO would hang a reader, a device could reach the
		 * host: neither belongs in a copy. */
		event_msg("warning", "skipped %s/%s: not a regular file, "
		    "directory or symlink", cs.dir, rel);
		cs.files--;
	}
}

/*
 * The directory open at fd (rel in the tree, "" for its top) into dst:
 * every entry opened from its directory's descriptor, never by path.
 * Takes fd, and closes it: one descriptor a level.
 */
static void
copy_dir(int fd, const char *rel, const char *dst, const struct stat *st,
    int depth)
{
	struct dirent *de;
	char *r, *d;
	DIR *dir;

	if (depth > MAXDEPTH)
		die("%s/%s: deeper than %d directories", cs.dir, rel,
		    MAXDEPTH);
	/* A pool's container has ws/ mounted: the copy goes into it. */
	if (mkdir(dst, 0700) < 0 && !(depth == 0 && errno == EEXIST &&
	    cs.into))
		die("mkdir %s:", dst);
	cs.dirs = erealloc(cs.dirs, (cs.ndirs + 1) * sizeof(*cs.dirs));
	cs.dirs[cs.ndirs].path = estrdup(dst);
	cs.dirs[cs.ndirs].st = *st;
	cs.dirs[cs.ndirs++].mode = st->st_mode & 0777;
	if ((dir = fdopendir(fd)) == NULL)
		die("%s/%s: cannot read directory:", cs.dir, rel);
	while ((errno = 0, de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		r = *rel ? smprintf("%s/%s", rel, de->d_name) :
		    estrdup(de->d_name);
		d = smprintf("%s/%s", dst, de->d_name);
		copy_entry(fd, de->d_name, r, d, depth);
		free(r);
		free(d);
	}
	if (errno != 0)
		die("%s/%s: cannot read directory:", cs.dir, rel);
	closedir(dir);
}

/*
 * Copies dir to l->ws without following any link, owned by uid:gid, the
 * container user, so that it can read it (and write it in rw mode).
 * The tree is walked by descriptor: its owner may change it while it
 * is copied, and nothing outside it may be reached that way.
 */
static void
copy_tree(const char *dir, const struct layout *l, const struct policy *p,
    uid_t uid, gid_t gid, int fifos)
{
	struct stat st;
	size_t i;
	int fd;

	memset(&cs, 0, sizeof(cs));
	cs.fifos = fifos;
	cs.dir = dir;
	cs.uid = uid;
	cs.gid = gid;
	cs.p = p;
	cs.chown = geteuid() == 0;
	cs.record = p->workspace == WS_RW;
	cs.into = lstat(l->ws, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_uid == geteuid() || st.st_uid == uid);
	if (!cs.chown)	/* the copy sits in our private 0700 rundir */
		cs.extra = p->workspace == WS_RW ? 0066 : 0044;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		die("copy %s:", dir);
	cs.files = 1;	/* the top counts against max_files too */
	cs.tty = isatty(2);
	cs.start = now();
	copy_dir(fd, "", l->ws, &st, 0);
	progress(1);
	/* Directory modes last: a read-only directory must not stop
	 * its own contents from being copied. */
	for (i = cs.ndirs; i-- > 0; ) {
		mode_t m = cs.dirs[i].mode | (cs.extra ? cs.extra | 0011 : 0);
		if (cs.chown && chown(cs.dirs[i].path, uid, gid) < 0)
			die("chown %s:", cs.dirs[i].path);
		if (chmod(cs.dirs[i].path, m) < 0)
			die("chmod %s:", cs.dirs[i].path);
		/* The top is the tree itself, not an entry of it. */
		if (cs.record && i > 0)
			manifest_add(&cs.man, cs.dirs[i].path +
			    strlen(l->ws) + 1, &cs.dirs[i].st, NULL,
			    S_IFDIR | m);
		free(cs.dirs[i].path);
	}
	if (cs.record)
		manifest_write(l->manifest, dir, cs.extra, &cs.man);
	entries_free(&cs.man);
	free(cs.dirs);
	cs.dirs = NULL;
	cs.ndirs = 0;
}

void
shadow_copy(const char *dir, const struct layout *l, const struct policy *p,
    uid_t uid, gid_t gid)
{
	copy_tree(dir, l, p, uid, gid, 0);
}

/*
 * A workspace, src, copied to dst as it is: a bounded one, as the run
 * that made it is kept (see ws_keep), its FIFOs made anew so that sbx
 * diff and apply see what the script left.  The tmpfs bounded its
 * files and bytes; no manifest, the run's stays.
 */
void
shadow_keep(const char *src, const char *dst, uid_t uid, gid_t gid)
{
	struct layout l;
	struct policy p;

	memset(&l, 0, sizeof(l));
	memset(&p, 0, sizeof(p));
	l.ws = (char *)dst;
	p.workspace = WS_RO;
	p.max_files = LONG_MAX;
	p.max_bytes = LLONG_MAX;
	copy_tree(src, &l, &p, uid, gid, 1);
}

/*
 * Opens the directory entry name in dfd for reading, making it
 * searchable first if the sandbox took our permissions away; never
 * through a link swapped in (glibc checks the mode change on a
 * descriptor of the entry itself).
 */
static int
opendir_at(int dfd, const char *name)
{
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0 && errno == EACCES &&
	    fchmodat(dfd, name, 0700, AT_SYMLINK_NOFOLLOW) == 0)
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	return fd;
}

/*
 * Removes one entry of dfd, file or empty directory.  A directory the
 * sandbox made read-only is made writable once and tried again.
 * Fails with ENOTEMPTY for a directory that still has contents.
 */
static int
unlink_entry(int dfd, const char *name)
{
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (unlinkat(dfd, name, 0) == 0)
			return 0;
		if ((errno == EISDIR || errno == EPERM) &&
		    unlinkat(dfd, name, AT_REMOVEDIR) == 0)
			return 0;
		if (errno != EACCES || tries > 0 || fchmod(dfd, 0700) < 0)
			return -1;
	}
	return -1;
}

/* The identity of each directory above the one being emptied. */
struct up {
	struct { dev_t dev; ino_t ino; } *v;
	size_t n, cap;
};

static int
push_up(struct up *u, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 64;
		u->v = erealloc(u->v, u->cap * sizeof(*u->v));
	}
	u->v[u->n].dev = st.st_dev;
	u->v[u->n++].ino = st.st_ino;
	return 0;
}

/* Back up through "..", which must be the directory we came down from. */
static int
pop_up(struct up *u, int *fd)
{
	struct stat st;
	int sub;

	if ((sub = openat(*fd, "..", O_RDONLY | O_DIRECTORY)) < 0)
		return -1;
	u->n--;
	if (fstat(sub, &st) < 0 || st.st_dev != u->v[u->n].dev ||
	    st.st_ino != u->v[u->n].ino) {
		close(sub);
		errno = ESTALE;	/* moved under us: stop, delete nothing */
		return -1;
	}
	close(*fd);
	*fd = sub;
	return 0;
}

/*
 * Empties the directory open at *fd.  Rather than recurse, it steps down
 * into the first non-empty subdirectory and back up through ".." once
 * that is empty, so a hostile tree of any depth costs two descriptors
 * and no path ever grows past PATH_MAX.  Each ".." is checked against
 * the directory it should lead back to: a tree moved under us (by a
 * process that should not exist, but might) ends the removal rather
 * than let it climb out.
 */
static int
empty_dir(int *fd)
{
	struct up up = { NULL, 0, 0 };
	struct dirent *de;
	DIR *d;
	int sub, descended, r = -1;

	for (;;) {
		if ((sub = dup(*fd)) < 0 || (d = fdopendir(sub)) == NULL)
			break;
		descended = 0;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (unlink_entry(*fd, de->d_name) == 0)
				continue;
			if (errno != ENOTEMPTY && errno != EEXIST)
				break;
			if (push_up(&up, *fd) < 0 ||
			    (sub = opendir_at(*fd, de->d_name)) < 0)
				break;
			close(*fd);
			*fd = sub;
			descended = 1;
			break;
		}
		closedir(d);
		if (descended)
			continue;
		if (de != NULL)
			break;
		if (up.n == 0) {
			r = 0;
			break;
		}
		if (pop_up(&up, fd) < 0)
			break;
	}
	free(up.v);
	return r;
}

/* rm -rf path/\* that follows no link and fears no depth. */
int
shadow_empty(const char *path)
{
	int fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) < 0)
		return -1;
	r = empty_dir(&fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

/* rm -rf that follows no link and fears no depth. */
int
shadow_remove(const char *path)
{
	int fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -1;
	r = empty_dir(&fd);
	saved = errno;
	close(fd);
	if (r == 0 && (r = rmdir(path)) < 0)
		saved = errno;
	errno = saved;
	return r;
}
