/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"

const char *argv0 = "sbx";

static void
vwarn(const char *fmt, va_list ap, char *buf, size_t size)
{
	int saved = errno;
	size_t n;

	vsnprintf(buf, size, fmt, ap);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == ':')
		snprintf(buf + n, size - n, " %s", strerror(saved));
	fprintf(stderr, "%s: %s\n", argv0, buf);
	errno = saved;
}

/*
 * Fatal errors go to stderr for people and, as an "error" event, to
 * stdout for programs that read only the JSON stream.  Exiting runs the
 * atexit cleanup, so no container or temp tree outlives the error.
 */
void
die(const char *fmt, ...)
{
	static int dying;
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, buf, sizeof(buf));
	va_end(ap);
	if (!dying++ && !jb_render)	/* a person has read it already */
		event_msg("error", "%s", buf);
	exit(EXIT_FAIL);
}

void
warn(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap, buf, sizeof(buf));
	va_end(ap);
}

void *
emalloc(size_t n)
{
	void *p;

	if ((p = malloc(n ? n : 1)) == NULL)
		die("malloc:");
	return p;
}

void *
ecalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n ? n : 1, size ? size : 1)) == NULL)
		die("calloc:");
	return p;
}

void *
erealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		die("realloc:");
	return p;
}

char *
estrdup(const char *s)
{
	return strcpy(emalloc(strlen(s) + 1), s);
}

char *
vsmprintf(const char *fmt, va_list ap)
{
	va_list aq;
	char *s;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		die("vsnprintf:");
	s = emalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *
smprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vsmprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Splits s at runs of bytes in sep; empty fields are dropped. */
char **
strv_split(const char *s, const char *sep)
{
	char **v = ecalloc(strlen(s) / 2 + 2, sizeof(*v));
	size_t i = 0, n;

	for (;;) {
		s += strspn(s, sep);
		if (*s == '\0')
			break;
		n = strcspn(s, sep);
		v[i] = emalloc(n + 1);
		memcpy(v[i], s, n);
		v[i++][n] = '\0';
		s += n;
	}
	v[i] = NULL;
	return v;
}

char *
strv_join(char **v, const char *sep)
{
	char *s = estrdup(""), *n;
	size_t i;

	for (i = 0; v[i]; i++) {
		n = smprintf("%s%s%s", s, i ? sep : "", v[i]);
		free(s);
		s = n;
	}
	return s;
}

size_t
strv_len(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

void
strv_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Is pid a running sbx?  For sbx gc: a dead owner, or a pid reused by
 * something else, leaves its container and its directory to collect.
 */
/* A process's start time in clock ticks since boot, or 0. */
static unsigned long long
start_time(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The name in parentheses may hold anything: count from its end;
	 * the start time is the 20th field after it. */
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	for (i = 0; i < 20 && p; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu", &t) != 1)
		return 0;
	return t;
}

/*
 * Who this sbx is, in a form that outlives a reused pid and means
 * nothing in another pid namespace or after a reboot:
 * "BOOTID:PIDNS:PID:START".  For the sbx.owner label and a run
 * directory's owner file.
 */
const char *
owner_self(void)
{
	static char self[128];
	char boot[40] = "";
	struct stat st;
	ssize_t n;
	int fd;

	if (*self)
		return self;
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY |
	    O_CLOEXEC)) >= 0) {
		if ((n = read(fd, boot, sizeof(boot) - 1)) > 0)
			boot[strspn(boot, "0123456789abcdef-")] = '\0';
		close(fd);
	}
	if (stat("/proc/self/ns/pid", &st) < 0)
		st.st_ino = 0;
	snprintf(self, sizeof(self), "%s:%lu:%ld:%llu", *boot ? boot : "-",
	    (unsigned long)st.st_ino, (long)getpid(),
	    start_time((long)getpid()));
	return self;
}

/*
 * Is the sbx that an owner string names still running?  1 yes, 0 gone
 * (its boot is over, or its pid is free or another process's), -1 if
 * that cannot be judged from here (another pid namespace, a malformed
 * or missing owner): then only a deadline may end its run.
 */
int
owner_alive(const char *owner)
{
	char boot[40], myboot[40];
	unsigned long ns, myns;
	unsigned long long start, mystart;
	long pid, mypid;

	if (owner == NULL || sscanf(owner, "%39[0-9a-f-]:%lu:%ld:%llu", boot,
	    &ns, &pid, &start) != 4 || pid <= 0 || start == 0 ||
	    sscanf(owner_self(), "%39[0-9a-f-]:%lu:%ld:%llu", myboot, &myns,
	    &mypid, &mystart) != 4 || strcmp(boot, "-") == 0 ||
	    strcmp(myboot, "-") == 0 || myns == 0)
		return -1;
	if (strcmp(boot, myboot) != 0)
		return 0;	/* a reboot ended every process */
	if (ns != myns)
		return -1;
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 0;
	return start_time(pid) == start;
}

/*
 * Copies what is left of in to out: 0, or with errno set -1 if reading
 * failed and -2 if writing did.
 */
int
copy_fd(int in, int out)
{
	char buf[65536];
	ssize_t n, w, k;

	while ((n = read(in, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (w = 0; w < n; w += k)
			if ((k = write(out, buf + w, (size_t)(n - w))) < 0)
				return -2;
	}
	return 0;
}

/* Copies what is left of in, read from src, to a new file dst; or die. */
void
copy_into(int in, const char *src, const char *dst, mode_t mode)
{
	int out, r;

	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) < 0)
		die("create %s:", dst);
	if ((r = copy_fd(in, out)) == -2 || close(out) < 0)
		die("write %s:", dst);
	if (r < 0)
		die("copy %s:", src);
}

/* The user's tree, for finding things in it by descriptor; or die. */
int
open_source(const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		die("-d %s:", dir);
	return fd;
}

/* This binary's path, from /proc/self/exe, into buf; -1 if unknown. */
int
self_path(char *buf, size_t size)
{
	ssize_t n;

	if ((n = readlink("/proc/self/exe", buf, size - 1)) <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/*
 * sbx-supervise, pid 1 of every container: $SBX_SUPERVISE, else the
 * installed one, else the one beside the running sbx, as in a build
 * tree (git finds its exec-path the same way); or die.
 */
const char *
supervisor(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("SBX_SUPERVISE");
	char *slash;

	if (env != NULL && *env != '\0') {
		/* The runtime wants an absolute path. */
		if (realpath(env, path) == NULL)
			die("SBX_SUPERVISE %s: the supervisor:", env);
		env = path;
		/* The path becomes part of a --mount=a,b,c option. */
		if (strpbrk(env, ",\"\n") != NULL)
			die("SBX_SUPERVISE %s: must not contain ',', '\"' "
			    "or a newline", env);
		if (access(env, R_OK) < 0)
			die("SBX_SUPERVISE %s: the supervisor:", env);
		return env;
	}
	if (access(LIBEXECDIR "/sbx-supervise", R_OK) == 0)
		return LIBEXECDIR "/sbx-supervise";
	if (errno != ENOENT)
		die("%s: the supervisor:", LIBEXECDIR "/sbx-supervise");
	strcpy(path, "beside sbx");
	if (self_path(path, sizeof(path)) == 0) {
		if ((slash = strrchr(path, '/')) != NULL &&
		    (size_t)(slash - path) + sizeof("/sbx-supervise") <=
		    sizeof(path)) {
			strcpy(slash, "/sbx-supervise");
			if (strpbrk(path, ",\"\n") == NULL &&
			    access(path, R_OK) == 0)
				return path;
		}
	}
	die("the supervisor is neither %s nor %s: install sbx, or set "
	    "SBX_SUPERVISE", LIBEXECDIR "/sbx-supervise", path);
}

/*
 * Opens the directory that holds rel's last component, under root,
 * never following a link on the way.  Returns its fd and points *name
 * at the last component, or -1.
 */
int
open_parent(int root, const char *rel, const char **name)
{
	const char *p = rel, *slash;
	char comp[NAME_MAX + 1];
	int fd, next;

	if ((fd = dup(root)) < 0)
		return -1;
	while ((slash = strchr(p, '/')) != NULL) {
		if ((size_t)(slash - p) > NAME_MAX) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, (size_t)(slash - p));
		comp[slash - p] = '\0';
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		close(fd);
		if ((fd = next) < 0)
			return -1;
		p = slash + 1;
	}
	*name = p;
	return fd;
}

/* Opens rel under root for reading: a regular file, no link followed. */
int
open_file(int root, const char *rel, struct stat *st)
{
	const char *name;
	int dfd, fd;

	if ((dfd = open_parent(root, rel, &name)) < 0)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	close(dfd);
	if (fd >= 0 && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

int
lstat_at(int root, const char *rel, struct stat *st)
{
	const char *name;
	int dfd, r;

	if ((dfd = open_parent(root, rel, &name)) < 0)
		return -1;
	r = fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW);
	close(dfd);
	return r;
}

/* n bytes from the kernel's random source; or die. */
void
random_bytes(void *buf, size_t n)
{
	int fd;

	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) < 0 ||
	    read(fd, buf, n) != (ssize_t)n)
		die("/dev/urandom:");
	close(fd);
}

/* 2 * nbytes lowercase hex digits of random, and a NUL, into out. */
void
random_hex(char *out, size_t nbytes)
{
	unsigned char r[32];
	size_t i;

	if (nbytes > sizeof(r))
		die("random_hex: %zu bytes", nbytes);
	random_bytes(r, nbytes);
	for (i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/*
 * A small file that sbx wrote in a directory of its own, read as if
 * anyone could have: no link followed, a regular file, at most size - 1
 * bytes, NUL-terminated; dst gets the directory's status.  -1 if none.
 */
ssize_t
read_mark(const char *dir, const char *name, char *buf, size_t size,
    struct stat *dst)
{
	struct stat st;
	ssize_t n = -1;
	int dfd, fd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -1;
	if (fstat(dfd, dst) == 0 && (fd = openat(dfd, name, O_RDONLY |
	    O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0) {
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
			n = read(fd, buf, size - 1);
		close(fd);
	}
	close(dfd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}
