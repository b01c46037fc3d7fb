/* See LICENSE file for copyright and license details. */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/* What the command line asked for, before the template is known. */
struct opts {
	const char *config;
	const char *tmpl;
	const char *dir;
	const char *ext;
	const char *override[32][2];	/* policy key, value */
	size_t noverride;
	char opt[32];			/* the option of each override */
	const char *runtime;		/* -r, for gc */
	int runopts;			/* an option only a run takes */
	int dryrun, keep, list, langs, diff;
	char *script;
	char **args;
};

/* The run that cleanup must undo if sbx dies. */
static struct job *opt_job;

static void usage(int status) NORETURN;
static void write_mark(const char *dir, const char *name, const char *text);
static void check_tmp(const char *t);
static int engine_sees_ours(const struct job *jb);

#define DOCKERD_PID "/var/run/docker.pid"	/* dockerd's --pidfile default */
static void cleanup(void);
static void name_container(struct job *jb);

static void
usage(int status)
{
	fprintf(stderr, "usage: %s [-DhkLlnuV] [-c config] [-d dir] [-e ext] "
	    "[-i image] [-m memory]\n           [-p cpus] [-r runtime] "
	    "[-T timeout] [-t template] [-w mode]\n           script "
	    "[arg ...]\n"
	    "       %s start [-Dn] [-c config] [-d dir] [-e ext] [-i image] "
	    "[-m memory]\n           [-p cpus] [-r runtime] [-T timeout] "
	    "[-t template] [-w mode]\n"
	    "       %s exec [-c config] [-e ext] [-T timeout] id script "
	    "[arg ...]\n"
	    "       %s stop id\n       %s ls\n"
	    "       %s diff [-j] target [pattern ...]\n"
	    "       %s apply [-n] target [pattern ...]\n"
	    "       %s [-r runtime] gc\n", argv0, argv0, argv0, argv0, argv0,
	    argv0, argv0, argv0);
	exit(status);
}

/* --diff reads better in a script than -u; no other long option. */
static const struct option longopts[] = {
	{ "diff", no_argument, NULL, 'u' },
	{ NULL, 0, NULL, 0 }
};

static void
override(struct opts *o, int c, const char *key, const char *val)
{
	if (o->noverride == LEN(o->override))
		die("-%c: too many options", c);
	o->opt[o->noverride] = (char)c;
	o->override[o->noverride][0] = key;
	o->override[o->noverride++][1] = val;
}

static void
parse_args(int argc, char *argv[], struct opts *o, int need_script)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	o->tmpl = "default";
	o->dir = ".";
	/* "+": the script and its arguments are not ours to permute. */
	while ((c = getopt_long(argc, argv, "+c:Dd:e:hi:kLlm:np:r:T:t:uVw:",
	    longopts, NULL)) != -1) {
		/* "gc" with any of these is a script's name, not ours. */
		o->runopts |= strchr("DdeikmnpTtuw", c) != NULL;
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'D': o->dryrun = 1; break;
		case 'd': o->dir = optarg; break;
		case 'e': o->ext = optarg; break;
		case 'h':
			usage(0);
		case 'i': override(o, c, "image", optarg); break;
		case 'k': o->keep = 1; break;
		case 'L': o->langs = 1; break;
		case 'l': o->list = 1; break;
		case 'm': override(o, c, "memory", optarg); break;
		case 'n': override(o, c, "network", "true"); break;
		case 'p': override(o, c, "cpus", optarg); break;
		case 'r':
			o->runtime = optarg;
			override(o, c, "runtime", optarg);
			break;
		case 'T': override(o, c, "timeout", optarg); break;
		case 't': o->tmpl = optarg; break;
		case 'u': o->diff = 1; break;
		case 'V':
			printf("sbx %s\n", VERSION);
			exit(0);
		case 'w': override(o, c, "workspace", optarg); break;
		default:
			usage(EXIT_FAIL);
		}
	}
	if ((o->list || o->langs) && need_script)
		return;
	if (!need_script) {
		if (optind < argc || o->keep || o->diff || o->list || o->langs)
			usage(EXIT_FAIL);
		return;
	}
	if (optind >= argc)
		usage(EXIT_FAIL);
	o->script = argv[optind];
	o->args = argv + optind + 1;
}

/* The names of sbx's own files in /sbx, beside a staged script. */
static int
reserved(const char *name)
{
	return strcmp(name, "out") == 0 || strcmp(name, "init") == 0 ||
	    strcmp(name, "sbx_guard.py") == 0;
}

/* Template, then the command line's overrides, each validated. */
static void
make_policy(const struct config *cfg, const struct opts *o, struct policy *p)
{
	const char *e;
	char *names;
	size_t i;

	if (!policy_resolve(cfg, o->tmpl, p)) {
		names = config_names(cfg);
		die("unknown template '%s' in %s (available: %s)", o->tmpl,
		    cfg->path, names);
	}
	for (i = 0; i < o->noverride; i++)
		if ((e = policy_set(p, o->override[i][0], o->override[i][1])))
			die("-%c: %s", o->opt[i], e);
}

static void
pick_runtime(struct job *jb, int dryrun)
{
	const char *rt = jb->pol.runtime;

	if (strcmp(rt, "auto") == 0 && (rt = runtime_auto()) == NULL)
		die("no container runtime: install podman or docker");
	jb->runtime = rt;
	if ((jb->runtime_path = runtime_find(rt)) == NULL && !dryrun)
		die("%s: not found in PATH", rt);
	/* Rootless podman on cgroup v1 warns and runs without memory,
	 * CPU or pids limits: better no run than an unlimited one. */
	if (strcmp(rt, "podman") == 0 && geteuid() != 0 && !dryrun &&
	    access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0)
		die("rootless podman cannot enforce memory, cpus or pids "
		    "limits on cgroup v1; refusing to run (use cgroup v2, "
		    "or run as root)");
}

/*
 * The script as a clean path relative to the source tree.  Anything
 * that leaves the tree, or is not a plain file in it, is refused.
 */
static char *
script_path(const char *dir, const char *script)
{
	size_t dl = strlen(dir), n;
	const char *p = script, *base;
	char *rel = ecalloc(1, strlen(script) + 1), *q = rel, *abs = NULL;
	char real[PATH_MAX];

	if (*p == '/') {
		/* Compare real paths: dir is one, and the script's own
		 * directory may be reached through a link. */
		base = strrchr(p, '/');
		abs = smprintf("%.*s", (int)(base - p) + 1, p);
		if (realpath(abs, real) == NULL)
			die("%s:", script);
		free(abs);
		abs = smprintf("%s/%s", real, base + 1);
		if (strncmp(abs, dir, dl) != 0 || (abs[dl] != '/' && dl > 1))
			die("%s: script is outside %s", script, dir);
		p = abs + dl;
	}
	while (*p) {
		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 2 && strncmp(p, "..", 2) == 0)
			die("%s: script is outside %s", script, dir);
		if (n > 0 && !(n == 1 && *p == '.')) {
			if (q != rel)
				*q++ = '/';
			memcpy(q, p, n);
			q += n;
		}
		p += n;
	}
	if (*rel == '\0')
		die("%s: not a script", script);
	free(abs);
	return rel;
}

/* The tree, for finding things in it by descriptor; or die. */
static int
open_source(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		die("-d %s:", dir);
	return fd;
}

/*
 * The script, found in the tree as the copy will find it: no link
 * followed on the way, so a directory of its path that is a link to
 * outside the tree does not lead there.
 */
static void
check_script(const char *dir, const char *rel, const char *script)
{
	struct stat st;
	int root = open_source(dir);

	if (lstat_at(root, rel, &st) < 0)
		die(errno == ELOOP || errno == ENOTDIR ? "%s: script is not "
		    "a file of %s: a directory on its way is a link or not a "
		    "directory" : "%s:", script, dir);
	close(root);
	if (!S_ISREG(st.st_mode))
		die("%s: script is not a regular file", script);
	if (st.st_size == 0)
		die("%s: script is empty", script);
}

static const char *
extension(const char *script)
{
	const char *base = strrchr(script, '/'), *dot;

	base = base ? base + 1 : script;
	dot = strrchr(base, '.');
	return dot && dot != base ? dot + 1 : "";
}

/* A copy into the tree being copied would never end. */
static void
check_tmpdir(const char *dir)
{
	const char *t = tmpdir();
	size_t dl = strlen(dir);

	if (strncmp(t, dir, dl) == 0 && (t[dl] == '/' || t[dl] == '\0' ||
	    dl == 1))
		die("%s: holds the temporary directory %s; set TMPDIR "
		    "elsewhere", dir, t);
}

/*
 * user = auto: a uid of the run's own, the gid the same, so that what
 * the kernel counts per user (RLIMIT_NPROC, inotify instances, epoll
 * watches, queued signals, message queue bytes) is the run's alone and
 * no run can starve another.  Drawn at random from AUTO_SPAN ids, or for
 * rootless podman (and rootless docker, whose socket is the user's)
 * from AUTO_LOW to AUTO_HIGH: n runs at once share one
 * with a chance of about n*n/2 over the ids there, and then only share
 * those counts, not files or processes (each run has its own mounts and
 * pid namespace).
 */
static void
auto_user(struct job *jb)
{
	const char *host;
	uint32_t r;

	random_bytes(&r, sizeof(r));
	if (geteuid() != 0 && (strcmp(jb->runtime, "podman") == 0 ||
	    ((host = getenv("DOCKER_HOST")) && strstr(host, "/run/user/"))))
		jb->uid = (uid_t)(AUTO_LOW + r % (AUTO_HIGH - AUTO_LOW));
	else
		jb->uid = (uid_t)(AUTO_UID + r % AUTO_SPAN);
	jb->gid = (gid_t)jb->uid;
}

/*
 * What a run and a session share: the tree, the language and image,
 * the checks against the system's ceilings, the runtime.
 */
static void
job_common(const struct config *cfg, const struct opts *o, struct job *jb,
    const char *ext)
{
	const char *colon;

	if ((jb->lang = lang_find(cfg, ext)) == NULL)
		die("%s: no language for extension '%s' (add a [language %s] "
		    "section to %s)", o->script ? o->script : "-e", ext, ext,
		    cfg->path);
	jb->image = jb->pol.image ? jb->pol.image : jb->lang->image;
	/* An empty list means no restriction, and no guard. */
	jb->guard = strcmp(jb->lang->ext, "py") == 0 && jb->pol.imports[0];
	policy_check(cfg, &jb->pol, jb->image);
	check_tmpdir(jb->dir);
	pick_runtime(jb, o->dryrun);
	if (strcmp(jb->pol.user, "auto") == 0) {
		auto_user(jb);
		return;
	}
	jb->uid = (uid_t)strtoll(jb->pol.user, NULL, 10);
	colon = strchr(jb->pol.user, ':');
	jb->gid = colon ? (gid_t)strtoll(colon + 1, NULL, 10) : jb->uid;
}

static void
set_dir(struct job *jb, const char *dir)
{
	char real[PATH_MAX];

	if (realpath(dir, real) == NULL)
		die("-d %s:", dir);
	jb->dir = estrdup(real);
}

/* Everything about the run that needs no file system changes. */
static void
make_job(const struct config *cfg, struct opts *o, struct job *jb)
{
	const char *ext, *slash;
	char *rel;

	set_dir(jb, o->dir);
	jb->args = o->args;
	jb->keep = o->keep;
	jb->diff = o->diff;
	jb->script = jb->script_orig = o->script;
	if (strcmp(o->script, "-") == 0) {
		ext = o->ext ? o->ext : "py";
		jb->script_ctr = smprintf("/sbx/main.%s", ext);
	} else {
		rel = script_path(jb->dir, o->script);
		check_script(jb->dir, rel, o->script);
		ext = o->ext ? o->ext : extension(rel);
		slash = strrchr(rel, '/');
		/* /sbx holds sbx's own files beside a staged script. */
		if (jb->pol.workspace == WS_NONE && reserved(slash ? slash + 1 :
		    rel))
			die("%s: name reserved in /sbx with workspace none",
			    o->script);
		jb->script_ctr = jb->pol.workspace == WS_NONE ?
		    smprintf("/sbx/%s", slash ? slash + 1 : rel) :
		    smprintf("/workspace/%s", rel);
		jb->script = rel;
	}
	job_common(cfg, o, jb, ext);
	name_container(jb);
	if (jb->diff && jb->pol.workspace != WS_RW)
		event_msg("warning", "-u: the workspace is %s, not rw: no "
		    "changes to show", workspace_name(jb->pol.workspace));
}

/* Reads at most max bytes of fd into path, for a script given as "-". */
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

static const unsigned char guard_py[] = {
#include "guard.h"
};

static void
stage_guard(struct job *jb)
{
	char *path = smprintf("%s/sbx_guard.py", jb->scriptdir);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
	    0644)) < 0 || write(fd, guard_py, sizeof(guard_py)) !=
	    (ssize_t)sizeof(guard_py) || close(fd) < 0)
		die("write %s:", path);
	free(path);
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

/*
 * rundir/out, writable at /sbx/out even when the workspace is not:
 * $SBX_RESULT and the guard's report.  The one place the container
 * writes that sbx reads back, as hostile input.  sbx run as root mounts
 * a tmpfs of OUT_SIZE and OUT_INODES there, charged to the container's
 * memory, so no script fills the host's disk through it; where it may
 * not mount (no CAP_SYS_ADMIN), out/ is a directory on the disk, bounded
 * by fsize alone.  rundir_remove() unmounts it.
 */
static void
stage_out(struct job *jb)
{
	char *path = smprintf("%s/out", jb->scriptdir), *opts;

	if (mkdir(path, 0755) < 0)
		die("mkdir %s:", path);
	user_dir(jb, jb->outdir);
	if (geteuid() == 0 && engine_sees_ours(jb)) {
		opts = smprintf("size=%s,nr_inodes=%d,mode=0700,uid=%ld,"
		    "gid=%ld", OUT_SIZE, OUT_INODES, (long)jb->uid,
		    (long)jb->gid);
		if (mount("sbx", jb->outdir, "tmpfs", MS_NOSUID | MS_NODEV |
		    MS_NOEXEC, opts) < 0 && errno != EPERM)
			die("mount tmpfs on %s:", jb->outdir);
		free(opts);
	}
	free(path);
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
engine_sees_ours(const struct job *jb)
{
	struct stat a, b;
	char path[64];
	long pid;
	FILE *f;
	int n;

	if (strcmp(jb->runtime, "podman") == 0 ||
	    (f = fopen(DOCKERD_PID, "r")) == NULL)
		return 1;
	n = fscanf(f, "%ld", &pid);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%ld/ns/mnt", pid);
	if (n != 1 || stat("/proc/self/ns/mnt", &a) < 0 || stat(path, &b) < 0)
		return 1;
	return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

/* Copies the regular files at the top of from into to, no link followed. */
static void
copy_files(int from, int to)
{
	struct dirent *de;
	struct stat st;
	char buf[8192];
	ssize_t n;
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
			while ((n = read(in, buf, sizeof(buf))) > 0 &&
			    write(out, buf, (size_t)n) == n)
				;
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

/* rm -rf of a run or session directory, its out/ unmounted first. */
int
rundir_remove(const char *dir)
{
	out_release(dir, 0);
	return shadow_remove(dir);
}

/* rundir/sbx, read-only at /sbx: the script when the workspace will
 * not hold it, the import guard, and the mount point of /sbx/out. */
void
stage(struct job *jb)
{
	if (mkdir(jb->scriptdir, 0755) < 0)
		die("mkdir %s:", jb->scriptdir);
	if (jb->script && (jb->pol.workspace == WS_NONE ||
	    strcmp(jb->script, "-") == 0))
		stage_script(jb);
	if (!jb->session)	/* the mount point of the run's init */
		write_mark(jb->scriptdir, "init", "");
	/* A session's steps may be Python whatever its first language. */
	if (jb->guard || (jb->session && jb->pol.imports[0]))
		stage_guard(jb);
	stage_out(jb);
}

/*
 * The script goes to rundir/sbx when the workspace will not hold it:
 * from the tree, from a session step's host path, or from stdin.
 */
void
stage_script(struct job *jb)
{
	char *src, *dst;
	struct stat st;
	int in, root;

	dst = smprintf("%s%s", jb->rundir, jb->script_ctr);
	if (strcmp(jb->script, "-") == 0) {
		save_stdin(dst, jb->pol.max_bytes);
		/* The code came on stdin; the script itself gets none. */
		if ((in = open("/dev/null", O_RDONLY)) < 0 || dup2(in, 0) < 0)
			die("/dev/null:");
		close(in);
	} else {
		/* A session step's script is a host path of the user's;
		 * a run's is in the tree, opened as the copy opens it. */
		src = jb->session ? estrdup(jb->script) :
		    smprintf("%s/%s", jb->dir, jb->script);
		if (jb->session) {
			if ((in = open(src, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC)) < 0 || fstat(in, &st) < 0 ||
			    !S_ISREG(st.st_mode))
				die("open %s:", src);
		} else {
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
	}
	free(dst);
}

const char *
tmpdir(void)
{
	static char real[PATH_MAX];
	static const char *done;
	const char *t = getenv("TMPDIR");

	if (done)	/* checked once: it is the same for the whole run */
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
static char *
rundir_pattern(void)
{
	return smprintf("%s/sbx.%ld.XXXXXX", tmpdir(), (long)getpid());
}

/*
 * The layout of a run's or a session's directory, in one place (FILES
 * in sbx(1)): the shadow copy in ws/, sbx/ read-only at /sbx, out/ at
 * /sbx/out, a session's FIFOs in ctl/.  dir becomes the job's.
 */
void
layout(struct job *jb, char *dir)
{
	jb->rundir = dir;
	jb->workdir = smprintf("%s/ws", dir);
	jb->scriptdir = smprintf("%s/sbx", dir);
	jb->outdir = smprintf("%s/out", dir);
	jb->ctldir = smprintf("%s/ctl", dir);
}

/* A file of a run's directory, created with its text; or die. */
static void
write_mark(const char *dir, const char *name, const char *text)
{
	char *path = smprintf("%s/%s", dir, name);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0 || write(fd, text, strlen(text)) !=
	    (ssize_t)strlen(text) || close(fd) < 0)
		die("write %s:", path);
	free(path);
}

/*
 * What sbx gc asks of a directory: owner, who made it (see
 * owner_self()), and container, the name of its container, which only
 * sbx can write here and so ties the container to it.
 */
void
write_marks(const struct job *jb)
{
	write_mark(jb->rundir, "owner", owner_self());
	write_mark(jb->rundir, "container", jb->name);
}

/*
 * The private run directory: the shadow copy in ws/, the script in
 * sbx/ when it does not come from the workspace, and podman's OOM
 * marker.  From here on, cleanup removes it on every way out.
 */
static void
make_rundir(struct job *jb)
{
	const char *real = tmpdir();

	/* The pid in the name is for people; owner tells sbx gc. */
	char *dir = rundir_pattern();

	if (mkdtemp(dir) == NULL) {
		free(dir);
		die("mkdtemp in %s:", real);
	}
	layout(jb, dir);
	write_marks(jb);
	make_workspace(jb);
	stage(jb);
}

/* rundir/ws: the shadow copy of the tree, or for none an empty one. */
void
make_workspace(struct job *jb)
{
	if (jb->pol.workspace != WS_NONE)
		shadow_copy(jb);
	else
		user_dir(jb, jb->workdir);
}

static void
name_container(struct job *jb)
{
	char hex[13];

	random_hex(hex, 6);
	snprintf(jb->name, sizeof(jb->name), "sbx-%ld-%s", (long)getpid(),
	    hex);
}

/* A kept run directory is the user's now: sbx gc leaves it alone. */
static void
keep_mark(const char *rundir)
{
	char *path = smprintf("%s/kept", rundir);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW, 0600)) >= 0)
		close(fd);
	free(path);
}

/* Arms (jb) or disarms (NULL) the cleanup of a run or a new session. */
void
set_cleanup(struct job *jb)
{
	static int armed;

	opt_job = jb;
	if (jb && !armed)
		atexit(cleanup);
	armed = 1;
}

static void
cleanup(void)
{
	struct job *jb = opt_job;

	if (jb == NULL)
		return;
	opt_job = NULL;
	if (backend_stop(jb) < 0 && jb->rundir) {
		/* Its directory is what lets sbx gc know it for ours. */
		warn("%s: container %s not removed; sbx gc will", jb->runtime,
		    jb->name);
		out_release(jb->rundir, 1);
		return;
	}
	if (jb->rundir && jb->keep) {
		out_release(jb->rundir, 1);
		keep_mark(jb->rundir);
	} else if (jb->rundir && rundir_remove(jb->rundir) < 0)
		warn("remove %s:", jb->rundir);
}

static void
event_argv(char **argv)
{
	struct jbuf j;

	jb_begin(&j, "argv");
	jb_strv(&j, "argv", argv);
	jb_emit(&j);
}

static void
event_start(const struct job *jb)
{
	struct jbuf j;

	jb_begin(&j, "start");
	jb_str(&j, "template", jb->pol.name);
	jb_str(&j, "runtime", jb->runtime);
	jb_str(&j, "image", jb->image);
	jb_str(&j, "name", jb->name);
	jb_str(&j, "script", jb->script);
	jb_strv(&j, "args", jb->args);
	jb_str(&j, "dir", jb->dir);
	jb_int(&j, "uid", (long long)jb->uid);
	jb_int(&j, "gid", (long long)jb->gid);
	policy_json(&j, &jb->pol);
	jb_emit(&j);
}

void
event_result(const struct job *jb, const struct result *r)
{
	struct jbuf j;

	jb_begin(&j, "result");
	jb_int(&j, "status", r->status);
	if (r->exit_code >= 0)
		jb_int(&j, "exit_code", r->exit_code);
	else
		jb_null(&j, "exit_code");
	if (r->signal)
		jb_int(&j, "signal", r->signal);
	else
		jb_null(&j, "signal");
	jb_bool(&j, "timed_out", r->timed_out);
	jb_bool(&j, "oom_killed", r->oom_killed);
	jb_bool(&j, "cpu_time_exceeded", r->cpu_exceeded);
	jb_bool(&j, "truncated", r->truncated);
	jb_str(&j, "import_refused", *r->refused ? r->refused : NULL);
	if (r->value)
		jb_raw(&j, "value", r->value);
	else
		jb_null(&j, "value");
	jb_str(&j, "value_error", r->value_error);
	if (r->interrupted)
		jb_int(&j, "interrupted", r->interrupted);
	else
		jb_null(&j, "interrupted");
	jb_fixed(&j, "duration", (long long)(r->duration * 1000), 3);
	jb_int(&j, "stdout_bytes", (long long)r->out_bytes);
	jb_int(&j, "stderr_bytes", (long long)r->err_bytes);
	jb_str(&j, "error", r->error);
	if (r->changed) {
		jb_obj(&j, "changes");
		jb_int(&j, "added", (long long)r->changes[ADDED]);
		jb_int(&j, "modified", (long long)r->changes[MODIFIED]);
		jb_int(&j, "deleted", (long long)r->changes[DELETED]);
		jb_endobj(&j);
	} else {
		jb_null(&j, "changes");
	}
	if (jb->keep && jb->rundir && jb->pol.workspace != WS_NONE)
		jb_str(&j, "shadow", jb->workdir);
	jb_emit(&j);
}

/* fds 0-2 must be open, or our own files would land on them. */
static void
std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* A full disk or a closed pipe on stdout is a failure, not a success. */
static int
finish(int status)
{
	if (jb_failed() || fflush(stdout) == EOF || ferror(stdout) ||
	    fclose(stdout) == EOF) {
		warn("write error on standard output");
		return EXIT_FAIL;
	}
	return status;
}

void
job_free(struct job *jb)
{
	free(jb->runtime_path);
	free((char *)jb->dir);
	if (jb->script != jb->script_orig)
		free((char *)jb->script);
	free(jb->script_ctr);
	free(jb->rundir);
	free(jb->workdir);
	free(jb->scriptdir);
	free(jb->outdir);
	free(jb->ctldir);
	policy_free(&jb->pol);
}

/* -D: the exact argv, with the temp dir's name left as its pattern. */
static int
dry_run(struct job *jb)
{
	char **argv;

	layout(jb, rundir_pattern());
	event_argv(argv = backend_argv(jb));
	strv_free(argv);
	return 0;
}

/*
 * What the guard reported, read as the hostile input it is: no link
 * followed, a regular file, a few bytes of a module name or nothing.
 */
void
read_refused(const struct job *jb, struct result *r)
{
	char *path, buf[sizeof(r->refused)];
	struct stat st;
	ssize_t n;
	int fd;

	/* Only the guard writes it; any script could, so it counts only
	 * when the guard ran. */
	if (!jb->guard)
		return;
	path = smprintf("%s/refused", jb->outdir);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		if (buf[strspn(buf, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")] == '\0') {
			memcpy(r->refused, buf, (size_t)n + 1);
			/* A script may catch the ImportError and go on. */
			event_msg(r->exit_code == 0 ? "warning" : "error",
			    "import of '%s' refused by template '%s'",
			    r->refused, jb->pol.name);
		}
	}
	close(fd);
}

#define MAXVALUE (1 << 20)

/*
 * $SBX_RESULT, read like the guard's report: no link followed, a
 * regular file, at most MAXVALUE bytes, and valid JSON, which goes into
 * the result compacted to one line.  Anything else is a value_error.
 */
void
read_value(const struct job *jb, struct result *r)
{
	char *path = smprintf("%s/result.json", jb->outdir), *buf;
	struct jbuf out = { NULL, 0, 0, 0 };
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		if (errno != ENOENT)
			r->value_error = errno == ELOOP ? "a symbolic link" :
			    "cannot be opened";
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r->value_error = "not a regular file";
		close(fd);
		return;
	}
	buf = emalloc(MAXVALUE + 1);
	while (len <= MAXVALUE &&
	    (n = read(fd, buf + len, MAXVALUE + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len > MAXVALUE)
		r->value_error = "larger than 1 MiB";
	else if (!json_compact(buf, len, &out))
		r->value_error = "not valid JSON";
	else
		r->value = out.s;
	if (r->value_error)
		free(out.s);
	free(buf);
}

static const char *kind_names[] = { "added", "modified", "deleted" };

/* A "diff" event: one file's patch, or why it has none. */
static void
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

/* rw: what the script changed in the shadow, against the manifest. */
static void
report_changes(const struct job *jb, struct result *r)
{
	struct tree t;

	tree_open(&t, jb->rundir);
	event_changes(&t);
	if (jb->diff)
		tree_diffs(&t, event_diff, NULL);
	r->changed = 1;
	memcpy(r->changes, t.count, sizeof(r->changes));
	tree_close(&t);
}

/*
 * The run itself: shadow copy, container argv, the child and its
 * events, the result.  Cleanup is armed before anything is created.
 */
static int
run(const struct config *cfg, struct job *jb)
{
	struct result r;
	char **argv, *id = NULL;
	int audit;

	audit = audit_open(system_value(cfg, "audit_log"));
	set_cleanup(jb);
	make_rundir(jb);
	argv = backend_argv(jb);
	if (audit >= 0)
		id = backend_image_id(jb);
	event_start(jb);
	audit_write(audit, jb, NULL, id);
	memset(&r, 0, sizeof(r));
	backend_run(jb, argv, &r);
	read_refused(jb, &r);
	read_value(jb, &r);
	if (jb->pol.workspace == WS_RW && !sbx_signalled())
		report_changes(jb, &r);
	event_result(jb, &r);
	audit_write(audit, jb, &r, id);
	cleanup();
	free(r.value);
	free(id);
	strv_free(argv);
	return r.status;
}

/* A run directory's owner file, read as ours but bounded; or NULL. */
static char *
read_owner(const char *dir)
{
	static char buf[128];
	struct stat st;

	return read_mark(dir, "owner", buf, sizeof(buf), &st) > 0 ? buf :
	    NULL;
}

/*
 * sbx gc, the directories: ours, not kept, of an sbx known to be gone.
 * One whose owner cannot be judged (another pid namespace, no owner
 * file yet) stays.
 */
static void
gc_dirs(void)
{
	const char *t = tmpdir();
	struct dirent *de;
	struct stat st;
	char *path, *kept, x[8];
	long pid;
	DIR *d;

	if ((d = opendir(t)) == NULL)
		die("%s:", t);
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "sbx.%ld.%7s", &pid, x) != 2 ||
		    strlen(x) != 6)
			continue;
		path = smprintf("%s/%s", t, de->d_name);
		kept = smprintf("%s/kept", path);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_uid == geteuid() && lstat(kept, &st) < 0 &&
		    owner_alive(read_owner(path)) == 0) {
			if (rundir_remove(path) == 0)
				event_gc("directory", NULL, path,
				    "owner gone");
			else
				warn("remove %s:", path);
		}
		free(kept);
		free(path);
	}
	closedir(d);
}

/*
 * sbx gc: what a killed sbx left behind, on every runtime in PATH (or
 * the one -r names) and in TMPDIR.  Never anything sbx did not make.
 */
static int
gc(const struct opts *o)
{
	static const char *names[] = { "podman", "docker" };
	struct job jb;
	size_t i;
	int status = 0;

	for (i = 0; i < LEN(names); i++) {
		memset(&jb, 0, sizeof(jb));
		jb.runtime = names[i];
		if (o->runtime && strcmp(o->runtime, names[i]) != 0)
			continue;
		if ((jb.runtime_path = runtime_find(names[i])) == NULL)
			continue;
		if (backend_gc(&jb) < 0) {
			event_msg("warning", "%s: cannot list containers",
			    names[i]);
			status = EXIT_FAIL;
		}
		free(jb.runtime_path);
	}
	/* A directory is what ties a container to sbx: not one goes
	 * while a runtime could not say what it holds. */
	if (status == 0) {
		gc_dirs();
		session_gc();
	}
	return status;
}

/*
 * What sbx diff and apply work on: a kept run's directory or its ws/
 * (the result's "shadow"), or a session's id.  Caller frees.
 */
static char *
target_dir(const char *arg)
{
	char real[PATH_MAX], *dir, *slash;
	struct stat st;

	if (session_id_ok(arg))
		return session_find(arg);
	if (realpath(arg, real) == NULL)
		die("%s:", arg);
	if ((slash = strrchr(real, '/')) != NULL && strcmp(slash, "/ws") == 0)
		*slash = '\0';
	dir = smprintf("%s/manifest", real);
	if (lstat(dir, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_uid != geteuid())
		die("%s: not a kept sbx run with a rw workspace, nor a "
		    "session id", arg);
	free(dir);
	return estrdup(real);
}

static void
write_patch(const struct change *c, const char *patch, const char *why,
    void *arg)
{
	size_t n = strlen(patch);

	(void)c;
	(void)why;
	if (fwrite(patch, 1, n, stdout) != n)
		*(int *)arg = 1;
}

/*
 * What sbx diff and apply share: one flag letter, a target and its
 * patterns; the tree opened, a session's lock held.  Returns the lock.
 */
static int
tree_args(int argc, char *argv[], int flag, int *set, struct tree *t,
    char **dir)
{
	char opts[2] = { (char)flag, '\0' };
	int c, lock;

	while ((c = getopt(argc, argv, opts)) != -1) {
		if (c != flag)
			usage(EXIT_FAIL);
		*set = 1;
	}
	if (optind >= argc)
		usage(EXIT_FAIL);
	*dir = target_dir(argv[optind]);
	lock = session_lock(*dir, 0);
	session_settle(*dir);
	tree_open(t, *dir);
	tree_select(t, argv + optind + 1);
	return lock;
}

static void
tree_done(struct tree *t, int lock, char *dir)
{
	tree_close(t);
	close(lock);
	free(dir);
}

/* sbx diff [-j] target [pattern ...]: a patch, or JSON events. */
static int
cmd_diff(int argc, char *argv[])
{
	struct tree t;
	char *dir;
	int json = 0, err = 0, lock;

	lock = tree_args(argc, argv, 'j', &json, &t, &dir);
	/* A patch of part of the changes would delete what was unseen
	 * as surely as git apply takes it; the events say incomplete. */
	if (t.incomplete && !json)
		die("%s: the shadow could not be read whole (%s); no patch",
		    t.shadow, t.incomplete);
	if (json) {
		event_changes(&t);
		tree_diffs(&t, event_diff, NULL);
	} else {
		tree_diffs(&t, write_patch, &err);
	}
	tree_done(&t, lock, dir);
	return err ? EXIT_FAIL : 0;
}

/* sbx apply [-n] target [pattern ...] */
static int
cmd_apply(int argc, char *argv[])
{
	struct tree t;
	char *dir;
	int dry = 0, status, lock;

	lock = tree_args(argc, argv, 'n', &dry, &t, &dir);
	status = tree_apply(&t, dry);
	tree_done(&t, lock, dir);
	return status;
}

/* sbx start [options]: a run's options, less the script. */
static int
cmd_start(int argc, char *argv[])
{
	struct opts o;
	struct config cfg;
	struct job jb;
	char **av;
	int status = 0;

	parse_args(argc, argv, &o, 0);
	config_find(&cfg, o.config);
	memset(&jb, 0, sizeof(jb));
	make_policy(&cfg, &o, &jb.pol);
	set_dir(&jb, o.dir);
	job_common(&cfg, &o, &jb, o.ext ? o.ext : "py");
	if (o.dryrun) {
		jb.session = "XXXXXXXXXXXX";
		snprintf(jb.name, sizeof(jb.name), "sbx-session-%s", jb.session);
		layout(&jb, session_dir(jb.session));
		event_argv(av = backend_argv(&jb));
		strv_free(av);
	} else {
		status = session_start(&cfg, &jb);
	}
	jb.session = NULL;
	job_free(&jb);
	config_free(&cfg);
	return status;
}

/* sbx exec [-c config] [-e ext] [-T timeout] id script [arg ...] */
static int
cmd_exec(int argc, char *argv[])
{
	struct config cfg;
	struct job jb;
	const char *conf = NULL, *ext = NULL, *e;
	char *dir;
	long timeout = 0;
	int c, lock, status, audit;

	while ((c = getopt(argc, argv, "c:e:T:")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'e': ext = optarg; break;
		case 'T':
			if (!parse_duration(optarg, &timeout) || timeout < 1)
				die("-T %s: not a duration of 1 s or more",
				    optarg);
			break;
		default:
			usage(EXIT_FAIL);
		}
	}
	if (argc - optind < 2)
		usage(EXIT_FAIL);
	if (!session_id_ok(argv[optind]))
		die("%s: not a session id", argv[optind]);
	config_find(&cfg, conf);
	session_load(&jb, argv[optind]);
	dir = estrdup(jb.rundir);
	if (timeout > jb.pol.timeout)
		die("-T %ld: more than the session's timeout of %ld s",
		    timeout, jb.pol.timeout);
	jb.script = jb.script_orig = argv[optind + 1];
	jb.args = argv + optind + 2;
	if (strcmp(jb.script, "-") == 0)
		e = ext ? ext : "py";
	else
		e = ext ? ext : extension(jb.script);
	if ((jb.lang = lang_find(&cfg, e)) == NULL)
		die("%s: no language for extension '%s' in %s", jb.script, e,
		    cfg.path);
	jb.guard = strcmp(e, "py") == 0 && jb.pol.imports[0];
	jb.script_base = strcmp(jb.script, "-") == 0 ? smprintf("main.%s", e) :
	    estrdup(strrchr(jb.script, '/') ? strrchr(jb.script, '/') + 1 :
	    jb.script);
	audit = audit_open(system_value(&cfg, "audit_log"));
	lock = session_lock(dir, 0);
	status = session_exec(&jb, dir, timeout ? timeout : jb.pol.timeout,
	    audit);
	close(lock);
	if (audit >= 0)
		close(audit);
	free(jb.script_base);
	free(jb.image_id);
	free((char *)jb.image);
	jb.session = NULL;
	job_free(&jb);
	config_free(&cfg);
	free(dir);
	return status;
}

static const char *
id_arg(int argc, char *argv[])
{
	if (argc != 2)
		usage(EXIT_FAIL);
	if (!session_id_ok(argv[1]))
		die("%s: not a session id", argv[1]);
	return argv[1];
}

static int
cmd_stop(int argc, char *argv[])
{
	return session_stop(id_arg(argc, argv));
}

static int
cmd_ls(int argc, char *argv[])
{
	(void)argv;
	if (argc != 1)
		usage(EXIT_FAIL);
	return session_ls();
}

/*
 * sbx -L: each language, its image and interpreter, and whether the
 * runtime has the image (null when there is no runtime to ask).
 */
static int
list_langs(const struct config *cfg, const struct opts *o)
{
	const struct lang *l, *last = NULL;
	struct job jb;
	struct jbuf j;
	char *id;

	memset(&jb, 0, sizeof(jb));
	if (o->runtime && strcmp(o->runtime, "podman") != 0 &&
	    strcmp(o->runtime, "docker") != 0 && strcmp(o->runtime, "auto"))
		die("-r %s: not podman, docker or auto", o->runtime);
	jb.runtime = o->runtime && strcmp(o->runtime, "auto") != 0 ?
	    o->runtime : runtime_auto();
	if (jb.runtime)
		jb.runtime_path = runtime_find(jb.runtime);
	/* The list is built backwards: walk it by file order. */
	while (last != cfg->langs) {
		for (l = cfg->langs; l->next != last; l = l->next)
			;
		last = l;
		jb_begin(&j, "language");
		jb_str(&j, "ext", l->ext);
		jb_str(&j, "image", l->image);
		jb_strv(&j, "command", l->command);
		jb_str(&j, "runtime", jb.runtime_path ? jb.runtime : NULL);
		if (jb.runtime_path) {
			jb.image = l->image;
			id = backend_image_id(&jb);
			jb_bool(&j, "present", id != NULL);
			free(id);
		} else {
			jb_null(&j, "present");
		}
		jb_emit(&j);
	}
	free(jb.runtime_path);
	return 0;
}

/* Commands that name themselves first: sbx apply ..., sbx exec ... */
static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "apply", cmd_apply },
	{ "diff", cmd_diff },
	{ "exec", cmd_exec },
	{ "ls", cmd_ls },
	{ "start", cmd_start },
	{ "stop", cmd_stop },
};

static int
command(int argc, char *argv[])
{
	size_t i;

	if (argc < 2)
		return -1;
	for (i = 0; i < LEN(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return (int)i;
	return -1;
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct config cfg;
	struct job jb;
	int status, i;

	std_fds();
	backend_signals();
	if ((i = command(argc, argv)) >= 0)
		return finish(cmds[i].fn(argc - 1, argv + 1));
	parse_args(argc, argv, &o, 1);
	config_find(&cfg, o.config);
	memset(&jb, 0, sizeof(jb));
	if (o.list) {
		config_list(&cfg);
		status = 0;
	} else if (o.langs) {
		status = list_langs(&cfg, &o);
	} else if (strcmp(o.script, "gc") == 0 && *o.args == NULL &&
	    !o.runopts) {
		status = gc(&o);
	} else {
		make_policy(&cfg, &o, &jb.pol);
		make_job(&cfg, &o, &jb);
		status = o.dryrun ? dry_run(&jb) : run(&cfg, &jb);
	}
	job_free(&jb);
	config_free(&cfg);
	return finish(status);
}
