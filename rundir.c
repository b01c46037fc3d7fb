/* See LICENSE file for copyright and license details. */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

/*
 * The private directory of a run or a session, in one place (FILES in
 * sbx(1)).  layout_set() names every path in it; this file makes it,
 * stages what the container sees at /sbx, and removes it.  What the
 * container sees of it is proto.h's.
 */

#define DOCKERD_PID "/var/run/docker.pid"	/* dockerd's --pidfile default */

static void check_tmp(const char *t);

/* TMPDIR made real and checked, once: it is the same for the whole run. */
const char *
tmpdir(void)
{
	static char real[PATH_MAX];
	static const char *done;
	const char *t = getenv("TMPDIR");

	if (done)
		return done;
	if (t == NULL || *t != '/')
		t = "/tmp";
	if (realpath(t, real) != NULL)
		t = real;
	/* The path becomes part of a --mount=a,b,c option. */
	if (strpbrk(t, ",\"\n") != NULL)
		die("TMPDIR %s: must not contain ',', '\"' or a newline", t);
	check_tmp(t);
	return done = t;
}

/*
 * Nobody but root and us may rename what is in t or above it, or our
 * run directories could be swapped for someone's own between two of our
 * steps: each directory of the path is root's or ours, and one that
 * others may write is sticky, as /tmp is.
 */
static void
check_tmp(const char *t)
{
	char path[PATH_MAX], *slash;
	const char *name;
	struct stat st;

	snprintf(path, sizeof(path), "%s", t);
	for (;;) {
		name = *path ? path : "/";
		if (lstat(name, &st) < 0)
			return;	/* mkdtemp will say */
		if (!S_ISDIR(st.st_mode) || (st.st_uid != 0 &&
		    st.st_uid != geteuid()) || ((st.st_mode & 022) &&
		    !(st.st_mode & S_ISVTX)))
			die("TMPDIR %s: %s may be changed by others (it must "
			    "be root's or ours, and sticky if others may "
			    "write it)", t, name);
		if (*path == '\0' || (slash = strrchr(path, '/')) == NULL)
			break;
		*slash = '\0';
	}
}

/* A run directory's name before mkdtemp: the pid in it is for people. */
char *
rundir_pattern(void)
{
	return smprintf("%s/" RUNDIR_PREFIX "%ld.XXXXXX", tmpdir(),
	    (long)getpid());
}

/* Is name, in TMPDIR, what rundir_pattern() makes? */
int
rundir_name(const char *name)
{
	char x[8];
	long pid;

	return sscanf(name, RUNDIR_PREFIX "%ld.%7s", &pid, x) == 2 &&
	    strlen(x) == 6;
}

/*
 * Every path of the directory dir, a run's, a session's or a dry run's
 * (its name left as the pattern).  l owns dir from here on.
 */
void
layout_set(struct layout *l, char *dir)
{
	l->dir = dir;
	l->ws = smprintf("%s/ws", dir);
	l->sbx = smprintf("%s/sbx", dir);
	l->out = smprintf("%s/out", dir);
	l->ctl = smprintf("%s/ctl", dir);
	l->owner = smprintf("%s/" MARK_OWNER, dir);
	l->container = smprintf("%s/" MARK_CONTAINER, dir);
	l->kept = smprintf("%s/kept", dir);
	l->manifest = smprintf("%s/manifest", dir);
	l->oom = smprintf("%s/oom", dir);
	l->state = smprintf("%s/state", dir);
	l->req = smprintf("%s/req", dir);
	l->rsp = smprintf("%s/rsp", dir);
	l->inflight = smprintf("%s/inflight", dir);
	l->seq = smprintf("%s/seq", dir);
}

void
layout_free(struct layout *l)
{
	char **p[] = { &l->dir, &l->ws, &l->sbx, &l->out, &l->ctl,
	    &l->owner, &l->container, &l->kept, &l->manifest, &l->oom,
	    &l->state, &l->req, &l->rsp, &l->inflight, &l->seq };
	size_t i;

	for (i = 0; i < LEN(p); i++) {
		free(*p[i]);
		*p[i] = NULL;
	}
}

/* A run's own directory, TMPDIR/sbx.PID.XXXXXX; or die. */
void
rundir_make(struct layout *l)
{
	char *dir = rundir_pattern();

	if (mkdtemp(dir) == NULL) {
		free(dir);
		die("mkdtemp in %s:", tmpdir());
	}
	layout_set(l, dir);
}

/* The names of sbx's own files in /sbx, beside a staged script. */
int
rundir_reserved(const char *name)
{
	return strcmp(name, "out") == 0 || strcmp(name, NAME_INIT) == 0 ||
	    strcmp(name, NAME_GUARD) == 0 || strcmp(name, NAME_PROXY) == 0;
}

/* A file of a run's directory, created with its text; or die. */
void
write_mark(const char *path, const char *text)
{
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0 || write(fd, text, strlen(text)) !=
	    (ssize_t)strlen(text) || close(fd) < 0)
		die("write %s:", path);
}

/*
 * What sbx gc asks of a directory: owner, who made it (see
 * owner_self()), and container, the name of its container, which only
 * sbx can write here and so ties the container to it.
 */
void
rundir_marks(const struct layout *l, const char *name)
{
	write_mark(l->owner, owner_self());
	write_mark(l->container, name);
}

/* A directory of the rundir that the container user may write. */
static void
user_dir(const struct job *jb, const char *path)
{
	if (mkdir(path, 0700) < 0)
		die("mkdir %s:", path);
	if (geteuid() == 0 ? chown(path, jb->uid, jb->gid) :
	    chmod(path, 0777))	/* inside our private rundir */
		die("chown %s:", path);
}

static int engine_sees_ours(const char *runtime);

/*
 * A workspace the script may write (rw, none) with workspace_size or
 * workspace_files set is a tmpfs of its own, so that no number or size
 * of files takes more than that from the host; its pages are charged to
 * the memory cgroup of who writes them, the container's.  Only root may
 * mount it, and only where the engine sees our mounts: elsewhere the
 * run is refused, not left without its bound.
 */
static int
ws_bounded(const struct job *jb)
{
	const struct policy *p = &jb->pol;

	/* Remote, the copy back is bounded instead: see remote_end(). */
	return p->workspace != WS_RO && (p->ws_size > 0 || p->ws_files > 0) &&
	    jb->ctr.remote == NULL;
}

/*
 * Mounted before the copy, big enough for any tree max_files and
 * max_bytes admit (each file a page at least) and the room after it: a
 * tmpfs bound can be lowered by a remount, never set where there was
 * none.  ws_fit() lowers it to the copy and the room.
 */
static void
ws_mount(const struct job *jb)
{
	const struct policy *p = &jb->pol;
	long long page = sysconf(_SC_PAGESIZE), size = 0, files = 0;
	char *opts;

	if (geteuid() != 0 || !engine_sees_ours(jb->ctr.runtime))
		die("workspace %s: workspace_size and workspace_files need a "
		    "tmpfs that sbx mounts, as root, where the engine sees "
		    "it; set both to 0 for no bound",
		    workspace_name(p->workspace));
	if (p->ws_size > 0)
		size = p->max_bytes + p->max_files * page + p->ws_size;
	if (p->ws_files > 0)
		files = p->max_files + p->ws_files + 1;
	opts = smprintf("size=%lld,nr_inodes=%lld,mode=0700,uid=%ld,gid=%ld",
	    size, files, (long)jb->uid, (long)jb->gid);
	if (mkdir(jb->lay.ws, 0700) < 0)
		die("mkdir %s:", jb->lay.ws);
	if (mount("sbx", jb->lay.ws, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		die("mount tmpfs on %s:", jb->lay.ws);
	free(opts);
}

/* The bounded workspace, as it is now: its copy and the room after it. */
void
ws_fit(const struct job *jb)
{
	const struct policy *p = &jb->pol;
	struct statvfs sv;
	char *opts, *o;

	if (!ws_bounded(jb))
		return;
	if (statvfs(jb->lay.ws, &sv) < 0)
		die("statvfs %s:", jb->lay.ws);
	opts = p->ws_size > 0 ? smprintf("size=%lld", (long long)(sv.f_blocks -
	    sv.f_bfree) * (long long)sv.f_frsize + p->ws_size) : estrdup("");
	if (p->ws_files > 0) {
		o = smprintf("%s%snr_inodes=%lld", opts, *opts ? "," : "",
		    (long long)(sv.f_files - sv.f_ffree) + p->ws_files);
		free(opts);
		opts = o;
	}
	if (mount("sbx", jb->lay.ws, "tmpfs", MS_REMOUNT | MS_NOSUID |
	    MS_NODEV, opts) < 0)
		die("remount tmpfs on %s:", jb->lay.ws);
	free(opts);
}

/* Did the script fill the bounded workspace, in bytes or in files? */
int
ws_full(const struct job *jb)
{
	struct statvfs sv;

	return ws_bounded(jb) && statvfs(jb->lay.ws, &sv) == 0 &&
	    ((jb->pol.ws_size > 0 && sv.f_bavail == 0) ||
	    (jb->pol.ws_files > 0 && sv.f_favail == 0));
}

/*
 * ws/, the shadow copy of the tree that the container sees at
 * /workspace; with workspace none, or for a pool's container until a
 * run claims it, an empty directory of its user's.  Bounded, a tmpfs
 * (see ws_bounded), fitted here once the tree is in, or by the claim
 * of a pool's.
 */
void
make_shadow(struct job *jb)
{
	if (ws_bounded(jb))
		ws_mount(jb);
	else if (jb->pol.workspace == WS_NONE || jb->dir == NULL)
		user_dir(jb, jb->lay.ws);
	if (jb->pol.workspace != WS_NONE && jb->dir)
		shadow_copy(jb->dir, &jb->lay, &jb->pol, jb->uid, jb->gid);
	if (!(jb->pool && jb->session))	/* a pool's: at its claim */
		ws_fit(jb);
}

/* Does the script go to /sbx, the workspace not holding it? */
static int
script_in_sbx(const struct job *jb)
{
	return jb->pol.workspace == WS_NONE || strcmp(jb->script, "-") == 0;
}

/*
 * A pool's container, claimed by a run: what make_shadow() and stage()
 * give a cold run, into the directories it has mounted already.
 */
void
stage_claimed(struct job *jb)
{
	if (jb->pol.workspace != WS_NONE)
		shadow_copy(jb->dir, &jb->lay, &jb->pol, jb->uid, jb->gid);
	ws_fit(jb);
	if (script_in_sbx(jb))
		stage_script(jb);
}

/*
 * Whether the engine sees the mounts sbx makes: podman, a child of ours,
 * shares our mount namespace; dockerd has its own process's, found by
 * its pid file.  Under a private one (systemd's PrivateMounts, unshare
 * -m) dockerd would bind the directory beneath the tmpfs, and
 * $SBX_RESULT would be lost.  When that cannot be told (no pid file, a
 * /proc that hides it), the host's is assumed, as a dockerd of another
 * namespace is rare and a disk without bound is not the better guess.
 */
static int
engine_sees_ours(const char *runtime)
{
	struct stat a, b;
	char path[64];
	long pid;
	FILE *f;
	int n;

	if (strcmp(runtime, "podman") == 0 ||
	    (f = fopen(DOCKERD_PID, "r")) == NULL)
		return 1;
	n = fscanf(f, "%ld", &pid);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
	if (n != 1 || stat("/proc/self/ns/mnt", &a) < 0 || stat(path, &b) < 0)
		return 1;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/*
 * out/, writable at /sbx/out even when the workspace is not: $SBX_RESULT
 * and the guard's report.  The one place the container writes that sbx
 * reads back, as hostile input.  sbx run as root mounts a tmpfs of
 * OUT_SIZE and OUT_INODES there, charged to the container's memory, so
 * no script fills the host's disk through it; where it may not mount (no
 * CAP_SYS_ADMIN), out/ is a directory on the disk, bounded by fsize
 * alone.  rundir_remove() unmounts it.
 */
static void
stage_out(struct job *jb)
{
	char *point = smprintf("%s/out", jb->lay.sbx), *opts;

	if (mkdir(point, 0755) < 0)
		die("mkdir %s:", point);
	user_dir(jb, jb->lay.out);
	if (geteuid() == 0 && engine_sees_ours(jb->ctr.runtime)) {
		opts = smprintf("size=%s,nr_inodes=%d,mode=0700,uid=%ld,"
		    "gid=%ld", OUT_SIZE, OUT_INODES, (long)jb->uid,
		    (long)jb->gid);
		if (mount("sbx", jb->lay.out, "tmpfs", MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, opts) < 0 && errno != EPERM)
			die("mount tmpfs on %s:", jb->lay.out);
		free(opts);
	}
	free(point);
}

static const unsigned char guard_py[] = {
#include "guard.h"
};

static void
stage_guard(const struct job *jb)
{
	char *path = smprintf("%s/" NAME_GUARD, jb->lay.sbx);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
	    0644)) < 0 || write(fd, guard_py, sizeof(guard_py)) !=
	    (ssize_t)sizeof(guard_py) || close(fd) < 0)
		die("write %s:", path);
	free(path);
}

/*
 * sbx/, read-only at /sbx: the script when the workspace will not hold
 * it, the import guard, the mount points of /sbx/init and /sbx/out.
 */
void
stage(struct job *jb)
{
	char *init;

	if (mkdir(jb->lay.sbx, 0755) < 0)
		die("mkdir %s:", jb->lay.sbx);
	if (jb->script && script_in_sbx(jb))
		stage_script(jb);
	if (!jb->session) {	/* a session's pid 1 is a copy in /sbx */
		init = smprintf("%s/" NAME_INIT, jb->lay.sbx);
		write_mark(init, "");
		free(init);
	}
	/* A session's steps may be Python whatever its first language;
	 * a repl session's python is the guard's. */
	if (jb->guard || (jb->session && (jb->pol.imports[0] ||
	    jb->pol.repl)))
		stage_guard(jb);
	stage_out(jb);
}

/* Reads at most max bytes of fd 0 into path, for a script given as "-". */
static void
save_stdin(const char *path, long long max)
{
	char buf[65536];
	long long total = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
	    0644)) < 0)
		die("create %s:", path);
	while ((n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read standard input:");
		if ((total += n) > max)
			die("script on standard input: more than %lld bytes "
			    "(max_bytes)", max);
		if (write(fd, buf, (size_t)n) != n)
			die("write %s:", path);
	}
	if (close(fd) < 0)
		die("write %s:", path);
	if (total == 0)
		die("script on standard input is empty");
}

/* -x: the code of a reply, as the script. */
static void
write_code(const char *path, const char *code)
{
	size_t n = strlen(code);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) < 0 || write(fd, code, n) != (ssize_t)n ||
	    close(fd) < 0)
		die("write %s:", path);
}

/*
 * The script goes to sbx/, at its script_ctr under /sbx, when the
 * workspace will not hold it: from the tree, from a session step's host
 * path, or from stdin.
 */
void
stage_script(struct job *jb)
{
	char *src, *dst;
	struct stat st;
	int in, root;

	dst = smprintf("%s%s", jb->lay.sbx, jb->script_ctr + strlen(CTR_SBX));
	if (strcmp(jb->script, "-") == 0) {
		if (jb->code)
			write_code(dst, jb->code);
		else
			save_stdin(dst, jb->pol.max_bytes);
		/* The code came on stdin; the script itself gets none. */
		if ((!jb->code || jb->code_stdin) && ((in = open("/dev/null",
		    O_RDONLY)) < 0 || dup2(in, 0) < 0))
			die("/dev/null:");
		if (!jb->code || jb->code_stdin)
			close(in);
		free(dst);
		return;
	}
	/* A session step's script is a host path of the user's; a run's
	 * is in the tree, opened as the copy opens it. */
	if (jb->session) {
		src = estrdup(jb->script);
		if ((in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
		    fstat(in, &st) < 0 || !S_ISREG(st.st_mode))
			die("open %s:", src);
	} else {
		src = smprintf("%s/%s", jb->dir, jb->script);
		root = open_source(jb->dir);
		if ((in = open_file(root, jb->script, &st)) < 0)
			die("open %s:", src);
		close(root);
	}
	if (st.st_size == 0)
		die("%s: script is empty", src);
	if (st.st_size > jb->pol.max_bytes)
		die("%s: more than %lld bytes (max_bytes)", src,
		    jb->pol.max_bytes);
	copy_into(in, src, dst, 0644);
	close(in);
	free(src);
	free(dst);
}

/* Copies the regular files at the top of from into to, no link followed. */
static void
copy_files(int from, int to)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int in, out, fd;

	if ((fd = dup(from)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if ((in = openat(from, de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_NONBLOCK | O_CLOEXEC)) < 0)
			continue;
		if (fstat(in, &st) == 0 && S_ISREG(st.st_mode) &&
		    (out = openat(to, de->d_name, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) >= 0) {
			copy_fd(in, out);
			close(out);
		}
		close(in);
	}
	closedir(d);
}

/*
 * Unmounts the out/ tmpfs of a run or session directory, if it has one;
 * for a kept run, what was at its top first goes to the directory under
 * it.  The directory is pinned by a descriptor: only its own out/ goes.
 */
static void
out_release(const char *dir, int keep)
{
	char path[64];
	int dfd, from = -1, to;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return;
	if (keep)
		from = openat(dfd, "out", O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/self/fd/%d/out", dfd);
	if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0 && from >= 0 &&
	    (to = openat(dfd, "out", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) >= 0) {
		copy_files(from, to);
		close(to);
	}
	if (from >= 0)
		close(from);
	close(dfd);
}

/* The bounded ws/ of a run or session directory, if it has one, goes. */
static void
ws_release(const char *dir)
{
	char path[64];
	int dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return;
	snprintf(path, sizeof(path), "/proc/self/fd/%d/ws", dfd);
	umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	close(dfd);
}

/* What the walk of a kept workspace found: bytes a copy would write. */
static long long keep_bytes;
static int keep_deep;

static int
keep_count(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)path;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		keep_bytes += st->st_size;
	keep_deep |= ftw->level > 200;
	return 0;
}

/*
 * A kept run's bounded ws/ goes to the disk, where the user may keep it
 * as long as they like and remove it as any directory: copied as a
 * shadow copy is, no link followed, then the tmpfs unmounted.  sbx
 * diff and apply then compare contents, the inodes being new.
 */
static void
ws_keep(const struct layout *l)
{
	struct stat ws, top;
	struct statvfs sv;
	char *disk;

	if (lstat(l->dir, &top) < 0 || lstat(l->ws, &ws) < 0 ||
	    !S_ISDIR(ws.st_mode) || ws.st_dev == top.st_dev)
		return;		/* not a mount of its own */
	/*
	 * Hard links and sparse files take more on the disk than in the
	 * tmpfs, and a deep tree may not copy: then it stays mounted, as
	 * the bound holds it, for the user to unmount.  The container is
	 * dead: nothing changes the tree while it is walked.
	 */
	keep_bytes = keep_deep = 0;
	if (statvfs(l->ws, &sv) < 0 || nftw(l->ws, keep_count, 16,
	    FTW_PHYS | FTW_MOUNT) < 0 || keep_deep || keep_bytes >
	    (long long)(sv.f_blocks - sv.f_bfree) * (long long)sv.f_frsize) {
		event_msg("warning", "%s: kept as the tmpfs it is (its hard "
		    "links, sparse files or depth would take more on the "
		    "disk): umount it before removing", l->ws);
		return;
	}
	disk = smprintf("%s.disk", l->ws);
	shadow_keep(l->ws, disk, ws.st_uid, ws.st_gid);
	ws_release(l->dir);
	if (rmdir(l->ws) < 0 || rename(disk, l->ws) < 0)
		die("keep %s:", l->ws);
	free(disk);
}

/* rm -rf of a run or session directory, its tmpfs unmounted first. */
int
rundir_remove(const char *dir)
{
	out_release(dir, 0);
	ws_release(dir);
	return shadow_remove(dir);
}

/*
 * A directory kept for the user (-k), or for sbx gc when its container
 * could not be removed: out/ back on the disk.  With mark, it is the
 * user's now: sbx gc leaves it alone.
 */
void
rundir_keep(const struct layout *l, int mark)
{
	int fd;

	out_release(l->dir, 1);
	if (mark)
		ws_keep(l);
	if (mark && (fd = open(l->kept, O_WRONLY | O_CREAT | O_NOFOLLOW,
	    0600)) >= 0)
		close(fd);
}

/*
 * fn for each directory of ours in TMPDIR whose name match takes: a
 * directory, not a link, and our own; anyone may make one of that name.
 */
void
rundir_each(int (*match)(const char *name), void (*fn)(const struct layout *))
{
	const char *t = tmpdir();
	struct dirent *de;
	struct layout l;
	struct stat st;
	DIR *d;

	if ((d = opendir(t)) == NULL)
		die("%s:", t);
	while ((de = readdir(d)) != NULL) {
		if (!match(de->d_name))
			continue;
		layout_set(&l, smprintf("%s/%s", t, de->d_name));
		if (lstat(l.dir, &st) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_uid == geteuid())
			fn(&l);
		layout_free(&l);
	}
	closedir(d);
}
