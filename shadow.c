/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/* nftw passes no user pointer, so the walk's state lives here. */
static struct {
	const struct job *jb;
	size_t srclen;
	long files;
	long long bytes;
	struct dirmode { char *path; mode_t mode; struct stat st; } *dirs;
	size_t ndirs;
	mode_t extra;		/* bits a non-root owner must grant */
	int chown;
	int record;		/* rw: keep a manifest of the original */
	struct entries man;
} cs;

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

static void
copy_file(const char *src, const char *dst, const struct stat *st)
{
	struct timespec ts[2];
	struct stat in_st;
	int in, out;

	/* O_NONBLOCK: a file swapped for a FIFO since the stat must not
	 * hang the copy; fstat then tells what was really opened. */
	if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)) < 0)
		die("open %s:", src);
	if (fstat(in, &in_st) < 0 || !S_ISREG(in_st.st_mode))
		die("%s: changed while being copied", src);
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (out < 0)
		die("create %s:", dst);
	copy_data(in, out, src, in_st.st_size);
	if (cs.chown && fchown(out, cs.jb->uid, cs.jb->gid) < 0)
		die("chown %s:", dst);
	if (fchmod(out, (st->st_mode & 0777) | cs.extra) < 0)
		die("chmod %s:", dst);
	ts[0] = st->st_atim;
	ts[1] = st->st_mtim;
	futimens(out, ts);
	if (cs.record && fstat(out, &in_st) < 0)
		die("stat %s:", dst);
	if (close(out) < 0)
		die("write %s:", dst);
	close(in);
	if (cs.record)
		manifest_add(&cs.man, src + cs.srclen + 1, st, &in_st,
		    in_st.st_mode);
}

static void
copy_link(const char *src, const char *dst, const struct stat *st)
{
	struct stat lst;
	char *target = emalloc((size_t)st->st_size + 1);
	ssize_t n;

	if ((n = readlink(src, target, (size_t)st->st_size + 1)) < 0)
		die("readlink %s:", src);
	if (n > st->st_size)
		die("%s: changed while being copied", src);
	target[n] = '\0';
	if (symlink(target, dst) < 0)
		die("symlink %s:", dst);
	if (cs.chown && lchown(dst, cs.jb->uid, cs.jb->gid) < 0)
		die("chown %s:", dst);
	free(target);
	if (cs.record && lstat(dst, &lst) < 0)
		die("stat %s:", dst);
	if (cs.record)
		manifest_add(&cs.man, src + cs.srclen + 1, st, &lst,
		    lst.st_mode);
}

static int
visit(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + cs.srclen;
	char *dst = smprintf("%s%s", cs.jb->workdir, rel);

	(void)ftw;
	if (++cs.files > cs.jb->pol.max_files)
		die("%s: more than %ld files (max_files)", cs.jb->dir,
		    cs.jb->pol.max_files);
	switch (flag) {
	case FTW_D:
		if (mkdir(dst, 0700) < 0)
			die("mkdir %s:", dst);
		cs.dirs = erealloc(cs.dirs, (cs.ndirs + 1) * sizeof(*cs.dirs));
		cs.dirs[cs.ndirs].path = dst;
		cs.dirs[cs.ndirs].st = *st;
		cs.dirs[cs.ndirs++].mode = st->st_mode & 0777;
		return 0;
	case FTW_SL:
		copy_link(path, dst, st);
		break;
	case FTW_F:
		if (S_ISREG(st->st_mode)) {
			if ((cs.bytes += st->st_size) > cs.jb->pol.max_bytes)
				die("%s: more than %lld bytes (max_bytes)",
				    cs.jb->dir, cs.jb->pol.max_bytes);
			copy_file(path, dst, st);
		} else {
			/* A FIFO would hang a reader, a device could
			 * reach the host: neither belongs in a copy. */
			event_msg("warning", "skipped %s: not a regular "
			    "file, directory or symlink", path);
			cs.files--;
		}
		break;
	case FTW_DNR:
		die("%s: cannot read directory", path);
	default:
		die("%s: cannot stat", path);
	}
	free(dst);
	return 0;
}

/*
 * Copies jb->dir to jb->workdir without following any link, owned by
 * the container user so that it can read it (and write it in rw mode).
 */
void
shadow_copy(struct job *jb)
{
	size_t i;

	memset(&cs, 0, sizeof(cs));
	cs.jb = jb;
	cs.srclen = strlen(jb->dir);
	cs.chown = geteuid() == 0;
	cs.record = jb->pol.workspace == WS_RW;
	if (!cs.chown)	/* the copy sits in our private 0700 rundir */
		cs.extra = jb->pol.workspace == WS_RW ? 0066 : 0044;
	if (nftw(jb->dir, visit, 64, FTW_PHYS) < 0)
		die("copy %s:", jb->dir);
	/* Directory modes last: a read-only directory must not stop
	 * its own contents from being copied. */
	for (i = cs.ndirs; i-- > 0; ) {
		mode_t m = cs.dirs[i].mode | (cs.extra ? cs.extra | 0011 : 0);
		if (cs.chown && chown(cs.dirs[i].path, jb->uid, jb->gid) < 0)
			die("chown %s:", cs.dirs[i].path);
		if (chmod(cs.dirs[i].path, m) < 0)
			die("chmod %s:", cs.dirs[i].path);
		/* The top is the tree itself, not an entry of it. */
		if (cs.record && i > 0)
			manifest_add(&cs.man, cs.dirs[i].path +
			    strlen(jb->workdir) + 1, &cs.dirs[i].st, NULL,
			    S_IFDIR | m);
		free(cs.dirs[i].path);
	}
	if (cs.record)
		manifest_write(jb->rundir, jb->dir, cs.extra, &cs.man);
	entries_free(&cs.man);
	free(cs.dirs);
	cs.dirs = NULL;
	cs.ndirs = 0;
}

/*
 * Opens the directory entry name in dfd for reading, making it
 * searchable first if the sandbox took our permissions away.
 */
static int
opendir_at(int dfd, const char *name)
{
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, 0) == 0)
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
