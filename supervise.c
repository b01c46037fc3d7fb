/* See LICENSE file for copyright and license details. */
/*
 * sbx-supervise: pid 1 of an sbx container, of a run or a session.
 *
 *	/sbx/init -t SECONDS [-n] [-c WORDS CCPU CPU FSIZE] -- ARGV...
 *
 * A one-shot run's init, as tini is docker's: see init_main().  With
 * -n, it also forwards allow_hosts' proxy port: see forward().
 *
 *	/sbx/supervise IDLE MAX [-n]
 *
 * We run the steps of proto.h, which says what the host sends and what
 * we answer, kill whatever each step left behind, and drop any other
 * line in silence.  We also exit 0 after IDLE seconds without a step,
 * and after MAX seconds in all.  With -n, each step has the forwarder
 * of a run's -n beside it.
 *
 * A step runs as our own user, so everything it does is hostile: it can
 * write to our FIFOs, signal us, fork-bomb, hide in a new session.  What
 * keeps us in control is being pid 1 of the pid namespace (its signals
 * without a handler never reach us, and kill(-1) reaches all of it but
 * us), not being dumpable (no ptrace, no /proc/1/fd or /proc/1/mem), and
 * never blocking on anything a step can hold.  What a step can still do
 * is end the session: prlimit(2) on us is allowed to our own user (see
 * restore_limits).
 *
 * Self-contained and static, as it runs in images that have no libc:
 *	cc -static -std=c99 -pedantic -Wall -Wextra -D_DEFAULT_SOURCE \
 *	    -D_XOPEN_SOURCE=700 -O2 -o sbx-supervise supervise.c pump.c
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __GNUC__
#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NORETURN
#define PRINTF(f, a)
#endif

#include <linux/capability.h>

#include "proto.h"
#include "pump.h"

#define RSP_WAIT	2000		/* ms a full rsp FIFO gets to drain */
#define KILL_ROUNDS	5000		/* of kill(-1), reaping, a 1 ms nap */
#define DRAIN_READS	512		/* 2 MiB: more than any pipe holds */
#define FLOW_BUF	65536		/* a stream's bytes in our hands */

enum {
	EXIT_FAIL = 125,	/* our own failure, or a bad request */
	EXIT_CANNOT = 126,	/* the program cannot be executed */
	EXIT_NOTFOUND = 127	/* the program was not found */
};

enum result { R_EXIT, R_SIGNAL, R_TIMEOUT, R_KILLED, R_LIFETIME, R_ERROR };

static const char *result_name[] = {
	ST_EXIT, ST_SIGNAL, ST_TIMEOUT, ST_KILLED, ST_LIFETIME, ST_ERROR
};

/*
 * One of a step's standard streams, relayed (see relay()): from the
 * host's FIFO into the step's pipe for its stdin, from its pipe into
 * the host's FIFO for its stdout and stderr.  0 is a closed end: our
 * 0, 1 and 2 are always open (std_fds), so no end of ours is 0.
 */
struct flow {
	int from, to;
	int drop;		/* its reader gone, read on and drop it all */
	char *buf;		/* FLOW_BUF bytes */
	size_t len, off;	/* held, and written of it */
};

enum { IN, OUT, ERR };

/* The running step; pid 0 when idle.  Times in ms, monotonic. */
struct step {
	long long n;
	pid_t pid;		/* its main process, or the repl's */
	int repl;		/* runs in the repl interpreter */
	int done, code;		/* the interpreter said the step is over */
	int lost;		/* it found no interpreter of before */
	struct flow io[3];	/* IN, OUT, ERR */
	int reaped;		/* pid has ended, with status */
	int status;
	int killed;		/* a matching "kill" line came */
	pid_t fwd;		/* its allow_hosts forwarder */
	long long start, end, deadline;
	/* Over (see finish), its output still on its way: the answer. */
	int ending;
	enum result r;
	int value;
	long long flushby;	/* its output given up on */
	char usage[96];		/* "OOM LOST CPU_US RSS_KB PEAK" */
	long long oom;		/* the cgroup's OOM kills before it, or -1 */
	long long cpu0;		/* cpu_now() at its start */
	char nonce[NONCE_LEN + 1];
};

/*
 * A repl session's interpreter (see proto.h), alive across steps; its
 * command, to tell when a step asks for another.
 */
struct kernel {
	pid_t pid;		/* 0: none */
	int to, from;		/* our ends of its pipes */
	int out, err;		/* and of its stdout's and stderr's */
	int ever;		/* one was started before */
	char cmd[FILE_MAX];
	size_t cmdlen;
	char line[64];		/* of its answer, so far */
	size_t len;
};

struct sup {
	int req, rsp;		/* the control FIFOs, both O_RDWR */
	sigset_t waitmask;	/* the mask during pselect: SIGCHLD open */
	long long born, idle, max, last;	/* ms; last: a step's end */
	char line[LINE_MAX_REQ];	/* the request line being read */
	size_t len;
	int skip;		/* in a line too long: drop up to its '\n' */
	int fwd_l;		/* -n: allow_hosts' port, for each step's forwarder */
	struct step st;
	struct kernel k;
};

/*
 * A step's request file, read to one byte more than it may hold, and
 * its argv, one pointer for each byte at most.  Too big for the stack.
 */
static char reqbuf[FILE_MAX + 2];
static char *reqargv[FILE_MAX + 1];

NORETURN PRINTF(1, 2) static void
die(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	fputs(INIT_SAYS, stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[0] != '\0' && fmt[strlen(fmt) - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
	exit(EXIT_FAIL);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A decimal in [min, max] as the host writes it: digits only, with no
 * sign, space or leading zero, so that each number has one spelling.
 */
static int
num(const char *s, size_t n, long long min, long long max, long long *v)
{
	long long x = 0;
	size_t i;

	if (n == 0 || n > 12 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	if (x < min || x > max)
		return -1;
	*v = x;
	return 0;
}

static int
is_nonce(const char *s)
{
	size_t i;

	for (i = 0; i < NONCE_LEN; i++)
		if (strchr("0123456789abcdefABCDEF", s[i]) == NULL ||
		    s[i] == '\0')
			return 0;
	return s[i] == '\0';
}

/*
 * One line to the host, with its '\n' in front, in one write(2) so
 * that it is never torn: a line is far below PIPE_BUF.  A step may have filled the FIFO with
 * garbage; the host drains it, so wait a little for room, but never
 * for long: a host that is gone must not stop us.
 */
static void
respond(struct sup *s, const char *buf, size_t n)
{
	long long end = now_ms() + RSP_WAIT, left;
	struct pollfd pfd;

	pfd.fd = s->rsp;
	pfd.events = POLLOUT;
	while (write(s->rsp, buf, n) != (ssize_t)n) {
		if (errno != EAGAIN && errno != EINTR)
			return;
		if ((left = end - now_ms()) <= 0)
			return;
		poll(&pfd, 1, (int)left);
	}
}

/*
 * The first bytes of a file the kernel writes (of /proc or a cgroup),
 * NUL-terminated; -1 if it cannot be read.
 */
static ssize_t
read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/*
 * How many times the kernel's OOM killer has struck in our memory
 * cgroup (v1 memory.oom_control, v2 memory.events), or -1 if it does
 * not say.  The kernel writes these; a step cannot.
 */
static long long
oom_kills(void)
{
	static const char *files[] = { "/sys/fs/cgroup/memory.events",
	    "/sys/fs/cgroup/memory/memory.oom_control" };
	char buf[4096], *p;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (read_small(files[i], buf, sizeof(buf)) == -1)
			continue;
		for (p = buf; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (strncmp(p, "oom_kill ", 9) == 0)
				return strtoll(p + 9, NULL, 10);
	}
	return -1;
}

/*
 * What the kernel counted of a run or a step, never what it said of
 * itself.  CPU time is our cgroup's (cgroup_cpu_us), or where that
 * cannot be read, that of the processes reaped: each is reaped by its
 * parent, whose count then holds it, or, orphaned, by us.  Memory is
 * the peak of our memory cgroup (v2 memory.peak, v1
 * max_usage_in_bytes), the container's, which no step can reset; and
 * for a step, the largest peak resident set of one of its processes.
 * -1: the kernel does not say.
 */
static long long peak_kb;	/* largest ru_maxrss reaped since reset */

static pid_t
reap_any(int *status)
{
	struct rusage ru;
	pid_t pid;

	if ((pid = wait4(-1, status, WNOHANG, &ru)) > 0 &&
	    ru.ru_maxrss > peak_kb)
		peak_kb = ru.ru_maxrss;
	return pid;
}

static long long
children_us(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_CHILDREN, &ru) == -1)
		return -1;
	return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	    1000000 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static long long
cgroup_peak(void)
{
	static const char *files[] = { "/sys/fs/cgroup/memory.peak",
	    "/sys/fs/cgroup/memory/memory.max_usage_in_bytes" };
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (read_small(files[i], buf, sizeof(buf)) > 0 &&
		    buf[0] >= '0' && buf[0] <= '9')
			return strtoll(buf, NULL, 10);
	return -1;
}

/*
 * A live child's CPU time, its own and its reaped children's (fields 14
 * to 17 of /proc/PID/stat, after "(comm)"), in microseconds; 0 if gone.
 */
static long long
proc_cpu_us(pid_t pid)
{
	char path[64], buf[1024], *p;
	long long t, sum = 0;
	long hz = sysconf(_SC_CLK_TCK);
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (hz <= 0 || read_small(path, buf, sizeof(buf)) == -1 ||
	    (p = strrchr(buf, ')')) == NULL)
		return 0;
	for (i = 3; i <= 17 && (p = strchr(p + 1, ' ')) != NULL; i++)
		if (i >= 14 && (t = strtoll(p + 1, NULL, 10)) > 0)
			sum += t;
	return sum * 1000000 / hz;
}

/*
 * A live child's peak resident set in kB (VmHWM), which hwm_reset()
 * sets back to what it holds now ("5" to clear_refs, open to its user).
 */
static long long
proc_hwm_kb(pid_t pid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (read_small(path, buf, sizeof(buf)) == -1 ||
	    (p = strstr(buf, "\nVmHWM:")) == NULL)
		return 0;
	return strtoll(p + 7, NULL, 10);
}

static void
hwm_reset(pid_t pid)
{
	char path[64];
	ssize_t w;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", (long)pid);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return;
	w = write(fd, "5", 1);	/* if not, the peak counts from its start */
	(void)w;
	close(fd);
}

/*
 * Our cgroup's CPU time (v2 cpu.stat usage_usec, v1 cpuacct.usage in
 * ns): every process of the container, those that the kernel reaped
 * itself too (a parent that ignores SIGCHLD passes none of its
 * children's time on), and ours, which is little.  -1 if unreadable.
 */
static long long
cgroup_cpu_us(void)
{
	char buf[512], *p;

	if (read_small("/sys/fs/cgroup/cpu.stat", buf, sizeof(buf)) > 0 &&
	    (p = strstr(buf, "usage_usec ")) != NULL)
		return strtoll(p + 11, NULL, 10);
	if (read_small("/sys/fs/cgroup/cpuacct/cpuacct.usage", buf,
	    sizeof(buf)) > 0 && buf[0] >= '0' && buf[0] <= '9')
		return strtoll(buf, NULL, 10) / 1000;
	return -1;
}

/*
 * CPU time so far: the cgroup's, or else the reaped's and the repl
 * interpreter's.  A step's is the difference across it: steps run one
 * at a time, the interpreter stopped between them.
 */
static long long
cpu_now(const struct sup *s)
{
	long long cg = cgroup_cpu_us();

	if (cg >= 0)
		return cg;
	return children_us() + (s->k.pid ? proc_cpu_us(s->k.pid) : 0);
}

/* What the step used, once it is over: for its answer. */
static void
step_usage(struct sup *s)
{
	long long rss = peak_kb, hwm;
	int oom;

	oom = s->st.oom >= 0 && oom_kills() > s->st.oom;
	if (s->k.pid && (hwm = proc_hwm_kb(s->k.pid)) > rss)
		rss = hwm;
	snprintf(s->st.usage, sizeof(s->st.usage), "%d %d %lld %lld %lld",
	    oom, s->st.lost, cpu_now(s) - s->st.cpu0, rss, cgroup_peak());
}

/*
 * The answer; OOM is 1 if the OOM killer struck during the step, and
 * then what the step used: CPU microseconds, the largest peak resident
 * set of its processes in kB, the container's memory peak in bytes.
 */
static void
respond_step(struct sup *s, enum result r, int value, long long ms)
{
	char buf[192];
	int n;

	if (s->st.usage[0] == '\0')
		step_usage(s);
	n = snprintf(buf, sizeof(buf), "\n%s %s %d %lld %s\n", s->st.nonce,
	    result_name[r], value, ms, s->st.usage);
	respond(s, buf, (size_t)n);
}

static void
nap_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000;
	nanosleep(&ts, NULL);
}

/*
 * Kills every process in the container but us, and reaps them all: we
 * are init, orphans are ours.  One kill(-1) can miss a child forked
 * while it runs, so repeat until none is left, but a bounded number of
 * times: a process stuck in the kernel must not stop us for good.
 */
static void
kill_all(void)
{
	int i, status;
	pid_t pid;

	for (i = 0; i < KILL_ROUNDS; i++) {
		kill(-1, SIGKILL);
		while ((pid = reap_any(&status)) > 0)
			;
		if (pid == -1 && errno == ECHILD)
			return;
		nap_ms(1);
	}
	fputs("sbx-supervise: processes survive kill(-1)\n", stderr);
}

/* The repl interpreter is dead (killed, or reaped): its pipes go. */
static void
kernel_gone(struct sup *s)
{
	if (s->k.to > 0)
		close(s->k.to);
	if (s->k.from > 0)
		close(s->k.from);
	if (s->k.out > 0)
		close(s->k.out);
	if (s->k.err > 0)
		close(s->k.err);
	s->k.pid = 0;
	s->k.to = s->k.from = s->k.out = s->k.err = -1;
	s->k.len = 0;
}

/*
 * The repl interpreter alone killed and reaped, at a step's start, once
 * kill_others() has killed all else: not allow_hosts' forwarder, which
 * is the step's.
 */
static void
kernel_kill(struct sup *s)
{
	int status;

	kill(-s->k.pid, SIGKILL);	/* its group: what it forked too */
	kill(s->k.pid, SIGKILL);
	while (waitpid(s->k.pid, &status, 0) == -1 && errno == EINTR)
		;
	kernel_gone(s);
}

/*
 * Has pid no thread left that runs?  Gone, or a zombie (its state in
 * /proc/PID/stat, after "(comm)") with no thread but its leader: a
 * leader that ended alone is a zombie while its other threads run on.
 */
static int
ended(pid_t pid)
{
	char path[64], buf[512], *p;
	struct dirent *de;
	ssize_t n;
	int fd, tasks = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] != 'Z' &&
	    p[2] != 'X')
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((d = opendir(path)) == NULL)
		return 1;
	while ((de = readdir(d)) != NULL)
		tasks += de->d_name[0] != '.';
	closedir(d);
	return tasks <= 1;
}

/*
 * As kill_all(), but the repl interpreter lives on: every other process
 * is killed by its pid from /proc, round after round, until none but
 * zombies its parent has not reaped are left.  The interpreter's own
 * children are killed too; a thread of it is part of it, and is
 * stopped with it between steps (see finish).
 */
static void
kill_others(struct sup *s)
{
	struct dirent *de;
	int i, left, status;
	pid_t pid;
	DIR *d;

	if (s->k.pid == 0 || (d = opendir("/proc")) == NULL) {
		kill_all();
		kernel_gone(s);
		return;
	}
	closedir(d);
	for (i = 0; i < KILL_ROUNDS; i++) {
		left = 0;
		if ((d = opendir("/proc")) == NULL)
			break;
		while ((de = readdir(d)) != NULL) {
			if (strspn(de->d_name, "0123456789") !=
			    strlen(de->d_name) ||
			    (pid = (pid_t)atol(de->d_name)) <= 1 ||
			    pid == s->k.pid)
				continue;
			kill(pid, SIGKILL);
			left += !ended(pid);
		}
		closedir(d);
		while ((pid = reap_any(&status)) > 0)
			if (pid == s->k.pid)
				kernel_gone(s);
		if (left == 0 || s->k.pid == 0)
			break;
		nap_ms(1);
	}
	if (s->k.pid == 0)
		kill_all();
}

/* Drops what a pipe of ours holds, never blocking. */
static void
discard(int fd)
{
	char buf[4096];
	int i;

	for (i = 0; i < DRAIN_READS; i++)
		if (read(fd, buf, sizeof(buf)) <= 0)
			break;
}

/*
 * Drops whatever is in the request FIFO.  Called when a step has ended
 * and all its processes are dead: what it wrote there, such as a "stop"
 * or a "run" with a nonce of its own, must not act once we are idle.
 */
static void
drain(struct sup *s)
{
	discard(s->req);
	s->len = 0;
	s->skip = 0;
}

/*
 * A step's streams are pipes of ours, not the host's FIFOs.  Its stdin:
 * a step may open it again by path (/dev/stdin), which of a FIFO the
 * host has closed would wait for a writer forever.  Its stdout and
 * stderr: see plain_step.  We pass on what comes, never blocking: our
 * ends are non-blocking, and a stream that is not read only holds its
 * own bytes back.
 */
static char flowbuf[3][FLOW_BUF];

/* Both ends of f closed, what it held dropped. */
static void
flow_close(struct flow *f)
{
	if (f->from > 0)
		close(f->from);
	if (f->to > 0)
		close(f->to);
	f->from = f->to = 0;
	f->len = f->off = 0;
}

/*
 * Moves what f can: a read if it holds nothing and rd, a write if it
 * holds something and wr.  A read of nothing (or when last, of nothing
 * yet) ends its input, and its output once what it holds is out: that
 * is EOF for the reader.  A reader gone (a step that closed its stdin,
 * a host that went) ends both, so the writer hears it at once; but for
 * a flow that drops (a repl interpreter's output, whose pipe is not
 * ours alone to close), which reads on and drops what comes, so that
 * the interpreter never blocks on it.  A write that fits is halved
 * until it does: gVisor's pipe is writable with any room at all, and
 * fails a write of up to PIPE_BUF bytes that does not fit whole.
 */
static void
flow_move(struct flow *f, int rd, int wr, int last)
{
	ssize_t n;
	size_t k;

	if (f->from > 0 && f->len == 0 && rd) {
		if ((n = read(f->from, f->buf, FLOW_BUF)) > 0) {
			f->len = f->to > 0 ? (size_t)n : 0;
			f->off = 0;
		} else if (n == 0 || (errno != EINTR &&
		    (last || errno != EAGAIN))) {
			close(f->from);
			f->from = 0;
		}
	}
	if (f->to > 0 && f->len > 0 && wr) {
		k = f->len - f->off;
		while ((n = write(f->to, f->buf + f->off, k)) < 0 &&
		    errno == EAGAIN && k > 1)
			k /= 2;
		if (n > 0 && (f->off += (size_t)n) == f->len) {
			f->len = 0;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			if (f->drop) {
				close(f->to);
				f->to = 0;
				f->len = 0;
			} else {
				flow_close(f);
			}
		}
	}
	if (f->from == 0 && f->len == 0 && f->to > 0) {
		close(f->to);
		f->to = 0;
	}
}

static void
relay(struct sup *s, fd_set *r, fd_set *w)
{
	struct flow *f;

	for (f = s->st.io; f < s->st.io + 3; f++)
		flow_move(f, f->from > 0 && FD_ISSET(f->from, r),
		    f->to > 0 && FD_ISSET(f->to, w), 0);
}

/*
 * As the main loop does for an ending step (see conclude), but at once
 * and within RSP_WAIT: for the step that max_lifetime ends, as we end.
 */
static void
flush_output(struct sup *s)
{
	long long end = now_ms() + RSP_WAIT, left;
	struct pollfd pfd[2];
	struct flow *f;
	int i, open, held;

	for (;;) {
		for (i = open = held = 0; i < 2; i++) {
			f = &s->st.io[OUT + i];
			flow_move(f, 1, 1, 1);
			pfd[i].fd = f->len > 0 ? f->to : -1;
			pfd[i].events = POLLOUT;
			open += f->to > 0;
			held += f->len > 0;
		}
		if (open == 0 || (left = end - now_ms()) <= 0)
			break;
		if (held)
			poll(pfd, 2, (int)left);
	}
}


/*
 * The step is over: whatever it left is killed, the repl interpreter
 * too unless it said the step is done (a step that timed out, was
 * killed or crashed it ends it: its state is lost).  Nothing of it
 * writes any more, and it is ending: conclude() answers once what its
 * stdout and stderr hold has gone to the host.
 */
static void
finish(struct sup *s, enum result r, int value)
{
	long long end = s->st.reaped ? s->st.end : now_ms(), now;

	if (s->st.repl && !s->st.done) {
		kill_all();
		kernel_gone(s);
		s->st.lost = 1;
	} else {
		kill_others(s);
		if (s->st.repl && s->k.pid == 0)
			s->st.lost = 1;
	}
	/* Said once: the next step's fresh interpreter is no news. */
	if (s->st.repl && s->st.lost)
		s->k.ever = 0;
	/* Between steps the interpreter does nothing: its threads are
	 * the next Python step's, and the workspace holds still for sbx
	 * diff and apply, as in any session.  A step may SIGCONT it: it
	 * is stopped again at that step's end. */
	if (s->k.pid)
		kill(s->k.pid, SIGSTOP);
	step_usage(s);
	flow_close(&s->st.io[IN]);
	s->st.ending = 1;
	s->st.r = r;
	s->st.value = value;
	s->st.end = end;
	now = now_ms();		/* after the kills, which take time */
	s->st.flushby = s->st.deadline > now + RSP_WAIT ? s->st.deadline :
	    now + RSP_WAIT;
}

/*
 * An ending step's answer, once its output is out: what its pipes still
 * hold (all of it, as nothing writes them now: a repl interpreter's
 * never read EOF, as it holds their other ends, so nothing left is
 * their end) has gone to the host, and their FIFOs are closed, which is
 * the end for the host.  Not before, so that a host that reads slowly
 * (its own reader slow) loses nothing; but only until the step's
 * deadline, or a kill: output that could not go out in its time is as
 * a step that blocked on it would be, timed out.  Drops the request
 * FIFO's lines, which a step may have written, only now.
 */
static void
conclude(struct sup *s)
{
	enum result r = s->st.r;
	int i, value = s->st.value;

	for (i = OUT; i <= ERR; i++)
		flow_move(&s->st.io[i], 1, 0, 1);
	if (s->st.io[OUT].to > 0 || s->st.io[ERR].to > 0) {
		if (!s->st.killed && now_ms() < s->st.flushby)
			return;
		/* Or, killed with its output cut, as a kill reports. */
		if (s->st.killed || r == R_EXIT || r == R_SIGNAL) {
			r = s->st.killed ? R_KILLED : R_TIMEOUT;
			value = 0;
		}
	}
	for (i = 0; i < 3; i++)
		flow_close(&s->st.io[i]);
	drain(s);
	respond_step(s, r, value, s->st.end - s->st.start);
	memset(&s->st, 0, sizeof(s->st));
	s->last = now_ms();
}

/*
 * Reads a regular file of at most FILE_MAX bytes into reqbuf, which it
 * NUL-terminates.  Returns its length, or -1.
 */
static ssize_t
slurp(const char *path)
{
	struct stat sb;
	size_t len = 0;
	ssize_t r = 0;
	int fd;

	/* O_NONBLOCK: a FIFO in its place must not hang us in open. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
		while (len < sizeof(reqbuf) - 1 &&
		    (r = read(fd, reqbuf + len, sizeof(reqbuf) - 1 - len)) > 0)
			len += (size_t)r;
	else
		r = -1;
	close(fd);
	if (r == -1 || len > FILE_MAX)
		return -1;
	reqbuf[len] = '\0';
	return (ssize_t)len;
}

/*
 * Reads /sbx/steps/N/req: NUL-terminated fields, the timeout in seconds,
 * the mode and then argv, into reqargv.  Returns argc, or -1 if it is
 * not such a file.
 */
static int
load(long long n, long long *timeout, int *repl)
{
	char path[64], *p, *mode, *end;
	ssize_t len;
	int argc = 0;

	snprintf(path, sizeof(path), CTR_SBX "/" STEP_REQ, n);
	if ((len = slurp(path)) <= 0 || reqbuf[len - 1] != '\0' ||
	    num(reqbuf, strlen(reqbuf), 1, TIMEOUT_MAX, timeout) == -1)
		return -1;
	end = reqbuf + len;
	if ((mode = reqbuf + strlen(reqbuf) + 1) >= end ||
	    (strcmp(mode, MODE_STEP) != 0 && strcmp(mode, MODE_REPL) != 0))
		return -1;
	*repl = strcmp(mode, MODE_REPL) == 0;
	for (p = mode + strlen(mode) + 1; p < end; p += strlen(p) + 1)
		reqargv[argc++] = p;
	reqargv[argc] = NULL;
	return argc > 0 ? argc : -1;
}

/* Opens path on fd to, for the child. */
static int
open_on(int to, const char *path, int flags)
{
	int fd;

	if ((fd = open(path, flags | O_NOFOLLOW)) == -1)
		return -1;
	if (fd != to) {
		if (dup2(fd, to) == -1)
			return -1;
		close(fd);
	}
	return 0;
}

/*
 * Step n's FIFO name in /sbx/ctl, made by the host, which opened it
 * before it sent "run": for its stdout or stderr, to read, so ours to
 * write; for its stdin, to write (and to read, so that nothing it
 * writes before we open it is lost), so ours to read, or /dev/null if
 * the host made none: only the host can make one in /sbx/ctl.  Never
 * blocking, in open or after: a missing reader is an error at once
 * rather than a hang until the timeout.  -1 if it is no FIFO.
 */
static int
host_fifo(long long n, const char *name, int flags)
{
	char path[64];
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), name, n);
	if (flags == O_RDONLY && lstat(path, &sb) == -1 && errno == ENOENT)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	if ((fd = open(path, flags | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1 || !S_ISFIFO(sb.st_mode)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * n pipes in p, or none (-1).  Ours are the ends that relay() or the
 * repl's reader holds: close-on-exec; a child's get dup2'd into place.
 */
static int
pipes(int p[][2], int n)
{
	int i, j;

	for (i = 0; i < n; i++) {
		if (pipe(p[i]) == -1) {
			for (j = 0; j < i; j++) {
				close(p[j][0]);
				close(p[j][1]);
			}
			return -1;
		}
		fcntl(p[i][0], F_SETFD, FD_CLOEXEC);
		fcntl(p[i][1], F_SETFD, FD_CLOEXEC);
	}
	return 0;
}

/* Our end of a pipe, once the child has its own: never blocking. */
static int
our_end(int fd)
{
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

/*
 * A step's process, or the repl interpreter's, after fork: a session of
 * its own, the OOM killer's pick rather than us.
 */
static void
step_begin(void)
{
	ssize_t w;
	int fd;

	setsid();
	if ((fd = open("/proc/self/oom_score_adj", O_WRONLY)) != -1) {
		w = write(fd, "1000", 4);
		(void)w;
		close(fd);
	}
}

/* Closes every descriptor from fd on but except (-1: none). */
static void
close_from(int fd, int except)
{
	long max;

	if ((max = sysconf(_SC_OPEN_MAX)) < 0)
		max = 1024;
	for (; fd < max; fd++)
		if (fd != except)
			close(fd);
}

/*
 * And its end: signals as a new program expects them, no fd of ours
 * from keep on, and argv.  An exec that fails says so on stderr, as a
 * run's init does: a step's is the host's.
 */
NORETURN static void
step_exec(char **argv, int keep)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_from(keep, -1);
	execvp(argv[0], argv);
	fprintf(stderr, INIT_SAYS "exec %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANNOT);
}

/*
 * The step's process, after fork: its stdin, stdout and stderr our
 * pipes, which relay() fills from and empties into the host's FIFOs.
 */
NORETURN static void
child(int p[3][2], char **argv)
{
	step_begin();
	if (dup2(p[IN][0], 0) == -1 || dup2(p[OUT][1], 1) == -1 ||
	    dup2(p[ERR][1], 2) == -1 || chdir(CTR_WORKSPACE) == -1)
		_exit(EXIT_FAIL);
	step_exec(argv, 3);
}

/*
 * The step's stdin is open: the host may close its end once its own
 * input ends.  Not before: a reader that opens a FIFO with no writer
 * left would never see POLLHUP, and a step that polls its stdin (node,
 * select, a shell's read) would wait for an end that never comes.
 */
static void
respond_open(struct sup *s)
{
	char buf[64];
	int n;

	n = snprintf(buf, sizeof(buf), "\n" SAY_OPEN " %s\n", s->st.nonce);
	respond(s, buf, (size_t)n);
}

/*
 * Our resource limits, as the runtime set them.  A step runs as our
 * user, so prlimit(2) on pid 1 is open to it: being pid 1 and not
 * dumpable does not stop that.  Before each step we put them back; a
 * hard limit lowered cannot be raised again, and then the session is
 * over: better no session than steps under limits a step chose.
 */
static struct rlimit saved_rlim[RLIM_NLIMITS];

/* Every limit the kernel has, not a list that can miss one. */
static void
save_limits(void)
{
	int i;

	for (i = 0; i < RLIM_NLIMITS; i++)
		if (getrlimit(i, &saved_rlim[i]) == -1)
			die("getrlimit:");
}

static void
restore_limits(void)
{
	struct rlimit r;
	int i;

	for (i = 0; i < RLIM_NLIMITS; i++)
		if (getrlimit(i, &r) == -1 ||
		    ((r.rlim_cur != saved_rlim[i].rlim_cur ||
		    r.rlim_max != saved_rlim[i].rlim_max) &&
		    setrlimit(i, &saved_rlim[i]) == -1))
			die("a step changed our resource limits; ending");
}

/*
 * Where argv is a repl step's: the index of its CTR_GUARD REPL_FLAG,
 * with TEMPLATE, LIST and SCRIPT after it; else -1.
 */
static int
repl_at(char **argv)
{
	int i;

	for (i = 1; argv[i] && argv[i + 1]; i++)
		if (strcmp(argv[i], CTR_GUARD) == 0 &&
		    strcmp(argv[i + 1], REPL_FLAG) == 0)
			return argv[i + 2] && argv[i + 3] && argv[i + 4] ? i :
			    -1;
	return -1;
}

/* The repl interpreter's command, argv[0] to LIST, NUL-separated. */
static size_t
repl_cmd(char **argv, int at, char *buf)
{
	size_t len = 0, n;
	int i;

	for (i = 0; i <= at + 3; i++) {
		n = strlen(argv[i]) + 1;
		memcpy(buf + len, argv[i], n);
		len += n;
	}
	return len;
}

/*
 * The repl interpreter's process, after fork: a step's, with pipes on
 * REPL_REQ_FD, REPL_RSP_FD, REPL_OUT_FD and REPL_ERR_FD (see proto.h),
 * moved up first so that none is clobbered on its way down.
 */
NORETURN static void
kernel_child(int p[4][2], char **argv, int at)
{
	int fd[4] = { p[0][0], p[1][1], p[2][1], p[3][1] }, i;

	step_begin();
	for (i = 0; i < 4; i++)
		if ((fd[i] = fcntl(fd[i], F_DUPFD, REPL_ERR_FD + 1)) == -1)
			_exit(EXIT_FAIL);
	for (i = 0; i < 4; i++)
		if (dup2(fd[i], REPL_REQ_FD + i) == -1)
			_exit(EXIT_FAIL);
	if (open_on(0, "/dev/null", O_RDONLY) == -1 ||
	    open_on(1, "/dev/null", O_WRONLY) == -1 ||
	    open_on(2, "/dev/null", O_WRONLY) == -1 ||
	    chdir(CTR_WORKSPACE) == -1)
		_exit(EXIT_FAIL);
	argv[at + 4] = NULL;
	step_exec(argv, REPL_ERR_FD + 1);
}

/*
 * The interpreter for a repl step of argv: the one alive if it has the
 * same command, else a new one (which loses what the last had).  0, or
 * -1 if none can be started.
 */
static int
kernel_for(struct sup *s, char **argv, int at)
{
	static char cmd[FILE_MAX];
	size_t len = repl_cmd(argv, at, cmd);
	int p[4][2], i;
	pid_t pid;

	if (s->k.pid && (len != s->k.cmdlen || memcmp(cmd, s->k.cmd, len)))
		kernel_kill(s);
	if (s->k.pid)
		return 0;
	s->st.lost = s->k.ever;
	if (pipes(p, 4) == -1)
		return -1;
	if ((pid = fork()) == 0)
		kernel_child(p, argv, at);
	for (i = 0; i < 4; i++) {
		close(p[i][i != 0]);	/* the child's end */
		if (pid == -1)
			close(p[i][i == 0]);
	}
	if (pid == -1)
		return -1;
	s->k.pid = pid;
	s->k.to = our_end(p[0][1]);
	s->k.from = our_end(p[1][0]);
	s->k.out = our_end(p[2][0]);
	s->k.err = our_end(p[3][0]);
	s->k.ever = 1;
	s->k.len = 0;
	memcpy(s->k.cmd, cmd, len);
	s->k.cmdlen = len;
	return 0;
}

/* Step n to the repl interpreter: "N\n", one write far below PIPE_BUF. */
static int
kernel_send(struct sup *s, long long n)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%lld\n", n);

	return write(s->k.to, buf, (size_t)len) == len ? 0 : -1;
}

/*
 * A repl step's interpreter, woken and told of step n; a fresh one if
 * the one there cannot be told (a step filled its pipe).  0, or -1.
 */
static int
kernel_step(struct sup *s, long long n, int at)
{
	struct flow *out = &s->st.io[OUT], *err = &s->st.io[ERR];
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (kernel_for(s, reqargv, at) == -1)
			return -1;
		/* What a step before left unsent is not this one's. */
		discard(s->k.out);
		discard(s->k.err);
		if ((out->from = fcntl(s->k.out, F_DUPFD_CLOEXEC, 0)) == -1 ||
		    (err->from = fcntl(s->k.err, F_DUPFD_CLOEXEC, 0)) == -1)
			return -1;
		out->drop = err->drop = 1;
		kill(s->k.pid, SIGCONT);
		if (kernel_send(s, n) == 0)
			return 0;
		close(out->from);
		close(err->from);
		out->from = err->from = 0;
		kernel_kill(s);
		s->k.ever = 1;	/* so the fresh one says state_lost */
	}
	return -1;
}

/*
 * A plain step's process, its standard streams pipes of ours that
 * relay() joins to the host's FIFOs, its stdin's opened here while the
 * host's writer is open (see respond_open).  Its output is not the
 * host's FIFO itself: gVisor (runsc 20221219) fails a write(2) of no
 * bytes to a host FIFO where Linux returns 0, and python -u makes
 * such writes when it prints a traceback.
 */
static pid_t
plain_step(struct sup *s, long long n, int p[3][2])
{
	struct flow *io = s->st.io;
	pid_t pid;
	int i;

	if ((io[IN].from = host_fifo(n, CTR_CTL "/" STEP_IN, O_RDONLY)) ==
	    -1 || pipes(p, 3) == -1)
		return -1;
	respond_open(s);	/* before the step can write anything */
	if ((pid = fork()) == 0)
		child(p, reqargv);
	for (i = 0; i < 3; i++) {
		close(p[i][i != IN]);	/* the child's end */
		if (pid == -1)
			close(p[i][i == IN]);
	}
	if (pid == -1)
		return -1;
	io[IN].to = our_end(p[IN][1]);
	io[OUT].from = our_end(p[OUT][0]);
	io[ERR].from = our_end(p[ERR][0]);
	return pid;
}

#define FWD_MAX	64	/* connections at once through the forwarder */

/* allow_hosts' port, bound before the script runs so that it cannot
 * take it first; -1 if it cannot be. */
static int
forward_listen(void)
{
	struct sockaddr_in in;
	int l, one = 1;

	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = htons(PROXY_PORT);
	in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(l, (struct sockaddr *)&in, sizeof(in)) == -1 ||
	    listen(l, FWD_MAX) == -1) {
		if (l != -1)
			close(l);
		return -1;
	}
	return l;
}

/* A connection to the port, joined to one of its own to the host's
 * proxy; NULL if that cannot be had now. */
static struct pump *
forward_accept(int l)
{
	struct sockaddr_un un;
	struct pump *p;
	int c, u;

	if ((c = accept(l, NULL, NULL)) == -1)
		return NULL;
	fcntl(c, F_SETFD, FD_CLOEXEC);
	fcntl(c, F_SETFL, O_NONBLOCK);
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	strcpy(un.sun_path, CTR_PROXY);
	if ((u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1 || connect(u, (struct sockaddr *)&un, sizeof(un)) == -1 ||
	    (p = malloc(sizeof(*p))) == NULL) {
		if (u != -1)
			close(u);
		close(c);
		return NULL;
	}
	pump_init(p, c, u);
	return p;
}

/*
 * The forwarder, a child of the init: each connection to the port goes
 * on, as it is, to the host's proxy on CTR_PROXY, which checks it.  It
 * checks nothing itself and holds nothing the script may not have: the
 * script can reach the socket too.  One process, so that it costs the
 * run's pids limit one.
 */
NORETURN static void
forward(int l)
{
	struct pollfd pfd[1 + 2 * FWD_MAX];
	struct pump *p[FWD_MAX];
	int i, n = 0;

	memset(p, 0, sizeof(p));
	for (;;) {
		pfd[0].fd = n < FWD_MAX ? l : -1;
		pfd[0].events = POLLIN;
		for (i = 0; i < FWD_MAX; i++)
			if (p[i])
				pump_events(p[i], pfd + 1 + 2 * i);
			else
				pfd[1 + 2 * i].fd = pfd[2 + 2 * i].fd = -1;
		if (poll(pfd, sizeof(pfd) / sizeof(pfd[0]), -1) == -1)
			continue;
		for (i = 0; i < FWD_MAX; i++) {
			if (p[i] == NULL) {
				if ((pfd[0].revents & POLLIN) &&
				    (p[i] = forward_accept(l)) != NULL)
					n++;
				pfd[0].revents = 0;
				continue;
			}
			pump_move(p[i], pfd + 1 + 2 * i, PUMP_BUF);
			if (pump_done(p[i])) {
				close(p[i]->fd[0]);
				close(p[i]->fd[1]);
				free(p[i]);
				p[i] = NULL;
				n--;
			}
		}
	}
}

/*
 * The forwarder's process, on the port l, in a group of its own, with
 * none of our descriptors but l and stdio (a session's FIFOs and a
 * step's pipes are not its to hold open).  Its pid, or -1.
 */
static pid_t
forward_start(int l)
{
	pid_t pid;

	if ((pid = fork()) == 0) {
		setpgid(0, 0);
		close_from(3, l);
		forward(l);
	}
	return pid;
}

/*
 * A session's forwarder, for step's time: on the port we hold for the
 * session's life, bound at its start, so that no step can take it for
 * the next (a repl interpreter lives on), emptied first of connections
 * made while no step ran.  Its pid, or -1.
 */
static pid_t
forward_step(struct sup *s)
{
	int c;

	while ((c = accept(s->fwd_l, NULL, NULL)) != -1)
		close(c);
	return forward_start(s->fwd_l);
}

static void
start(struct sup *s, long long n, const char *nonce)
{
	int p[3][2], at = -1, i, repl;
	long long timeout;
	pid_t pid;

	memcpy(s->st.nonce, nonce, NONCE_LEN + 1);
	s->st.n = n;
	s->last = now_ms();
	/* Nothing from before may see this step, not even a survivor;
	 * but for a repl session's interpreter. */
	kill_others(s);
	restore_limits();
	s->st.oom = oom_kills();
	s->st.cpu0 = cpu_now(s);
	peak_kb = 0;
	if (s->k.pid)
		hwm_reset(s->k.pid);
	if (load(n, &timeout, &repl) == -1 ||
	    (repl && (at = repl_at(reqargv)) == -1)) {
		respond_step(s, R_ERROR, EXIT_FAIL, 0);
		memset(&s->st, 0, sizeof(s->st));
		return;
	}
	s->st.start = now_ms();
	for (i = 0; i < 3; i++)
		s->st.io[i].buf = flowbuf[i];
	s->st.io[OUT].to = host_fifo(n, CTR_CTL "/" STEP_OUT, O_WRONLY);
	s->st.io[ERR].to = host_fifo(n, CTR_CTL "/" STEP_ERR, O_WRONLY);
	/* allow_hosts' forwarder, for this step alone: killed with
	 * whatever the step leaves. */
	if (s->st.io[OUT].to == -1 || s->st.io[ERR].to == -1 ||
	    (s->fwd_l > 0 && (s->st.fwd = forward_step(s)) == -1))
		pid = -1;
	else if (repl) {
		s->st.repl = 1;
		pid = kernel_step(s, n, at) == 0 ? s->k.pid : -1;
	} else {
		pid = plain_step(s, n, p);
	}
	if (pid == -1) {
		respond_step(s, R_ERROR, EXIT_FAIL, 0);
		if (s->st.fwd > 0)
			kill(s->st.fwd, SIGKILL);	/* reaped by reap() */
		for (i = 0; i < 3; i++)
			flow_close(&s->st.io[i]);
		memset(&s->st, 0, sizeof(s->st));
		return;
	}
	s->st.pid = pid;
	s->st.deadline = s->st.start + timeout * 1000;
}

/* The repl interpreter's "N CODE\n" for the step running, if it came. */
static void
kernel_read(struct sup *s)
{
	long long n;
	ssize_t r;
	char *nl;
	int code;

	r = read(s->k.from, s->k.line + s->k.len,
	    sizeof(s->k.line) - 1 - s->k.len);
	if (r == 0) {		/* the step closed it: no answer can come */
		close(s->k.from);
		s->k.from = -1;
	}
	if (r <= 0)
		return;
	s->k.len += (size_t)r;
	s->k.line[s->k.len] = '\0';
	while ((nl = strchr(s->k.line, '\n')) != NULL) {
		*nl = '\0';
		if (sscanf(s->k.line, "%lld %d", &n, &code) == 2 &&
		    s->st.repl && n == s->st.n && code >= 0 && code < 256) {
			s->st.done = 1;
			s->st.code = code;
		} else if (sscanf(s->k.line, "%lld", &n) == 1 &&
		    s->st.repl && n == s->st.n &&
		    strcmp(strchr(s->k.line, ' ') ? strchr(s->k.line, ' ') :
		    "", " " REPL_OPEN) == 0) {
			respond_open(s);
		}
		memmove(s->k.line, nl + 1, s->k.len - (size_t)(nl + 1 -
		    s->k.line) + 1);
		s->k.len = strlen(s->k.line);
	}
	if (s->k.len == sizeof(s->k.line) - 1)
		s->k.len = 0;	/* no line that long is ours */
}

/* "run N NONCE" */
static void
run_line(struct sup *s, const char *args)
{
	const char *sp = strchr(args, ' ');
	long long n;

	if (sp == NULL ||
	    num(args, (size_t)(sp - args), 1, STEP_MAX, &n) == -1 ||
	    !is_nonce(sp + 1))
		return;
	start(s, n, sp + 1);
}

/*
 * One request line, '\n' removed.  Anything the container user can
 * write comes here, so whatever does not parse is dropped in silence.
 * While a step runs only its own nonce's "kill" counts.
 */
static void
handle(struct sup *s, const char *l)
{
	if (s->st.pid != 0) {
		if (strncmp(l, REQ_KILL, strlen(REQ_KILL)) == 0 &&
		    strcmp(l + strlen(REQ_KILL), s->st.nonce) == 0)
			s->st.killed = 1;
	} else if (strcmp(l, REQ_PING) == 0) {
		s->last = now_ms();	/* a step is coming: see step_open */
		respond(s, "\n" SAY_PONG "\n", sizeof(SAY_PONG) + 1);
	} else if (strcmp(l, REQ_STOP) == 0) {
		exit(0);
	} else if (strncmp(l, REQ_RUN, strlen(REQ_RUN)) == 0) {
		run_line(s, l + strlen(REQ_RUN));
	}
}

/* Splits the bytes into lines, dropping those that are too long. */
static void
feed(struct sup *s, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] != '\n') {
			if (s->len < sizeof(s->line) - 1)
				s->line[s->len++] = buf[i];
			else
				s->skip = 1;
			continue;
		}
		s->line[s->len] = '\0';
		/* A NUL would hide the rest of the line from strcmp. */
		if (!s->skip && strlen(s->line) == s->len)
			handle(s, s->line);
		s->len = 0;
		s->skip = 0;
	}
}

static void
reap(struct sup *s)
{
	int status;
	pid_t pid;

	while ((pid = reap_any(&status)) > 0) {
		if (s->st.pid != 0 && pid == s->st.pid && !s->st.reaped) {
			s->st.reaped = 1;
			s->st.status = status;
			s->st.end = now_ms();
		}
		if (s->k.pid != 0 && pid == s->k.pid)
			kernel_gone(s);
	}
}

/* max_lifetime, with a step ending: its answer at once, and our end. */
NORETURN static void
end_of_life(struct sup *s)
{
	flush_output(s);
	s->st.flushby = 0;
	conclude(s);
	exit(0);
}

/* Ends the step if it is over, for whichever reason came first. */
static void
check_step(struct sup *s)
{
	long long now = now_ms();
	int status = s->st.status;

	if (s->st.pid == 0)
		return;
	if (s->st.ending && now >= s->born + s->max)
		end_of_life(s);
	if (s->st.ending) {
		conclude(s);
		return;
	}
	if (s->st.repl && s->st.done && !s->st.reaped) {
		s->st.end = now_ms();
		s->st.reaped = 1;	/* for finish()'s end */
		finish(s, R_EXIT, s->st.code);
	} else if (s->st.reaped && WIFSIGNALED(status))
		finish(s, R_SIGNAL, WTERMSIG(status));
	else if (s->st.reaped)
		finish(s, R_EXIT, WEXITSTATUS(status));
	else if (now >= s->born + s->max) {
		finish(s, R_LIFETIME, 0);
		end_of_life(s);
	} else if (s->st.killed)
		finish(s, R_KILLED, 0);
	else if (now >= s->st.deadline)
		finish(s, R_TIMEOUT, 0);
	if (s->st.ending)	/* at once if nothing is held */
		conclude(s);
}

static void
check_idle(struct sup *s)
{
	long long now = now_ms();

	if (s->st.pid == 0 &&
	    (now >= s->born + s->max || now >= s->last + s->idle))
		exit(0);
}

static long long
next_deadline(const struct sup *s)
{
	long long d = s->st.ending ? s->st.flushby : s->st.pid ?
	    s->st.deadline : s->last + s->idle;

	return d < s->born + s->max ? d : s->born + s->max;
}

static void
watch(fd_set *set, int fd, int *max)
{
	FD_SET(fd, set);
	if (fd > *max)
		*max = fd;
}

/*
 * Sleeps until a request comes, a child ends or the next deadline.
 * SIGCHLD is blocked but here, so one that comes at any other time is
 * pending and ends the next pselect at once: no wakeup is lost.
 */
static void
wait_input(struct sup *s)
{
	long long ms = next_deadline(s) - now_ms();
	struct timespec ts;
	struct flow *f;
	char buf[4096];
	fd_set rfds, wfds;
	ssize_t n;
	int max;

	if (ms < 0)
		ms = 0;
	ms++;		/* rounded down by now_ms(): not a ms early */
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = ms % 1000 * 1000000;
	FD_ZERO(&rfds);
	FD_SET(s->req, &rfds);
	FD_ZERO(&wfds);
	max = s->req;
	if (s->k.pid != 0 && s->k.from >= 0)
		watch(&rfds, s->k.from, &max);
	for (f = s->st.io; f < s->st.io + 3; f++) {
		if (f->from > 0 && f->len == 0)
			watch(&rfds, f->from, &max);
		if (f->to > 0 && f->len > 0)
			watch(&wfds, f->to, &max);
	}
	if (pselect(max + 1, &rfds, &wfds, NULL, &ts, &s->waitmask) <= 0)
		return;
	if (s->k.pid != 0 && s->k.from >= 0 && FD_ISSET(s->k.from, &rfds))
		kernel_read(s);
	relay(s, &rfds, &wfds);
	if (FD_ISSET(s->req, &rfds) && (n = read(s->req, buf, sizeof(buf))) > 0)
		feed(s, buf, (size_t)n);
}

/* Its only job is to exist: a caught SIGCHLD interrupts pselect. */
static void
on_chld(int sig)
{
	(void)sig;
}

/*
 * No handler for anything else: as pid 1 of the namespace, signals
 * from a step that we do not catch are never delivered to us.
 */
static void
signals(struct sup *s)
{
	struct sigaction sa;
	sigset_t chld;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) == -1)
		die("sigaction:");
	/*
	 * We hold a read end of rsp, and pid 1 drops a SIGPIPE it does not
	 * catch anyway; ignored all the same, so that no change of that
	 * can make a vanished host our end.
	 */
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &chld, &s->waitmask) == -1)
		die("sigprocmask:");
	sigdelset(&s->waitmask, SIGCHLD);
}

/*
 * O_RDWR: we are a writer of req ourselves, so it never reads EOF when
 * the host closes it, and a reader of rsp, so writing to it never
 * blocks or raises SIGPIPE when the host is gone.
 */
static int
open_ctl(const char *path)
{
	struct stat sb;
	int fd;

	if ((fd = open(path, O_RDWR | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		die("open %s:", path);
	if (fstat(fd, &sb) == -1 || !S_ISFIFO(sb.st_mode))
		die("%s: not a FIFO", path);
	return fd;
}

/* A closed 0, 1 or 2 would make a FIFO our stderr. */
static void
std_fds(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", O_RDWR) != fd)
			die("open /dev/null:");
}

static void
setup(struct sup *s, int argc, char *argv[])
{
	long long idle, max;

	/* Outside a pid namespace, kill(-1) would kill all the user has. */
	if (getpid() != 1)
		die("must be pid 1 of a container, refusing to run");
	if ((argc != 3 && (argc != 4 || strcmp(argv[3], "-n") != 0)) ||
	    num(argv[1], strlen(argv[1]), 1, SECONDS_MAX, &idle) == -1 ||
	    num(argv[2], strlen(argv[2]), 1, SECONDS_MAX, &max) == -1)
		die("usage: supervise IDLE MAX [-n] (seconds)");
	/* Same-uid steps must not ptrace us or read /proc/1/fd. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1 ||
	    prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("prctl PR_SET_DUMPABLE:");
	std_fds();
	memset(s, 0, sizeof(*s));
	if (argc == 4 && (s->fwd_l = forward_listen()) == -1)
		die("proxy port 127.0.0.1:%d:", PROXY_PORT);
	save_limits();
	signals(s);
	s->req = open_ctl(CTR_REQ);
	s->rsp = open_ctl(CTR_RSP);
	if (s->req >= FD_SETSIZE)
		die("%s: fd %d too big for pselect", CTR_REQ, s->req);
	s->born = s->last = now_ms();
	s->idle = idle * 1000;
	s->max = max * 1000;
	respond(s, "\n" SAY_READY "\n", sizeof(SAY_READY) + 1);
}

/*
 * A run's usage, once nothing of it is left: "KEY CPU_US PEAK" in
 * /sbx/out, for the host, which trusts only a line with the key it gave
 * us in our environment.  The script could write any file there, but
 * not know the key: non-dumpable, our /proc/1/environ is closed to it.
 */
static void
usage_write(const char *key)
{
	char buf[128];
	ssize_t w;
	int fd, n;

	if (*key == '\0')
		return;
	n = snprintf(buf, sizeof(buf), "%s %lld %lld %lld\n", key,
	    cgroup_cpu_us() >= 0 ? cgroup_cpu_us() : children_us(),
	    cgroup_peak(), oom_kills());
	unlink(CTR_OUT "/" OUT_USAGE);
	if ((fd = open(CTR_OUT "/" OUT_USAGE, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return;
	w = write(fd, buf, (size_t)n);	/* short: the host finds no key */
	(void)w;
	close(fd);
}

/* The end of a run: all of it killed and reaped, its usage written. */
static int
init_end(const char *key, int code)
{
	kill_all();
	usage_write(key);
	return code;
}

/* A process of the run: in a group of its own, our signals its own,
 * and for a compiled language, its phase's limits (0: the container's). */
static pid_t
init_child(char **argv, const sigset_t *old, long long cpu,
    long long fsize)
{
	struct rlimit rl;
	pid_t child;

	if ((child = fork()) == -1)
		die("fork:");
	if (child > 0)
		return child;
	setpgid(0, 0);
	sigprocmask(SIG_SETMASK, old, NULL);
	/* SIGXCPU at the limit, SIGKILL a second later, as --ulimit. */
	rl.rlim_cur = (rlim_t)cpu;
	rl.rlim_max = (rlim_t)cpu + 1;
	if (cpu > 0 && setrlimit(RLIMIT_CPU, &rl) == -1)
		_exit(EXIT_CANNOT);
	rl.rlim_cur = rl.rlim_max = (rlim_t)fsize;
	if (fsize > 0 && setrlimit(RLIMIT_FSIZE, &rl) == -1)
		_exit(EXIT_CANNOT);
	execvp(argv[0], argv);
	fprintf(stderr, "sbx-supervise: exec %s: %s\n", argv[0],
	    strerror(errno));
	_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANNOT);
}

/*
 * Waits for child, as tini does: the signals we are sent go on to it,
 * every orphan is reaped.  Its end: its exit code, or 128 plus the
 * signal that ended it; -1 at the deadline or on INIT_STOP.
 */
static int
init_wait(pid_t child, long long deadline, sigset_t *all)
{
	long long left;
	struct timespec ts;
	siginfo_t si;
	pid_t pid;
	int sig, status;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return -1;
		ts.tv_sec = left / 1000;
		ts.tv_nsec = left % 1000 * 1000000;
		if ((sig = sigtimedwait(all, &si, &ts)) == -1)
			continue;	/* EAGAIN: the deadline; EINTR */
		/* As tini, which ignores the two itself. */
		if (sig == SIGTTIN || sig == SIGTTOU)
			continue;
		/* No pid: sent from outside our pid namespace. */
		if (sig == INIT_STOP && si.si_code == SI_USER &&
		    si.si_pid == 0)
			return -1;
		if (sig != SIGCHLD) {
			kill(child, sig);
			continue;
		}
		while ((pid = reap_any(&status)) > 0)
			if (pid == child)
				return WIFSIGNALED(status) ?
				    128 + WTERMSIG(status) :
				    WEXITSTATUS(status);
	}
}

/*
 * A compiled language's first phase: the compiler, the first words of
 * argv, with its own CPU limit.  Its output is the container's, as the
 * program's will be; its end is a line on both, COMPILED_SAYS KEY CODE
 * CPU_US, that the host cuts out (see relay.c) and that the compiler
 * cannot forge, not knowing the key.  Returns its code, -1 if stopped.
 */
static int
init_compile(char **argv, size_t words, const sigset_t *old, sigset_t *all,
    long long cpu, long long deadline, const char *key)
{
	long long cg0 = cgroup_cpu_us(), ch0 = children_us(), used;
	char *next = argv[words];
	int code;

	argv[words] = NULL;
	code = init_wait(init_child(argv, old, cpu, 0), deadline, all);
	argv[words] = next;
	if (code < 0)
		return -1;
	kill_all();	/* none of it lives on into the run */
	used = cg0 >= 0 ? cgroup_cpu_us() - cg0 : children_us() - ch0;
	dprintf(1, COMPILED_SAYS "%s %d %lld\n", key, code, used);
	dprintf(2, COMPILED_SAYS "%s %d %lld\n", key, code, used);
	return code;
}

/*
 * -u UID GID OWN: a remote run's init, started as root with CAP_CHOWN,
 * CAP_SETUID, CAP_SETGID and CAP_SETPCAP alone, as the engine's copy
 * left /sbx and /workspace root's (see remote runs in backend_cli.c).
 * /sbx becomes root's, /sbx/out and, with OWN 1, /workspace the run's
 * user's; then we become that user with no capability in any set,
 * before anything of the run's starts.
 */
static void
become(char **u)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	long long uid, gid, own;
	struct stat st;
	int cap, fd;

	if (num(u[0], strlen(u[0]), 0, INT_MAX, &uid) == -1 ||
	    num(u[1], strlen(u[1]), 0, INT_MAX, &gid) == -1 ||
	    num(u[2], strlen(u[2]), 0, 1, &own) == -1)
		die("init -u: not a uid, gid and 0 or 1: %s %s %s", u[0], u[1],
		    u[2]);
	/* /sbx is not the user's, even a user 0's (see not_users()). */
	if (chown(CTR_SBX, uid ? 0 : 65534, 0) == -1 ||
	    chmod(CTR_SBX, 0755) == -1 ||
	    chown(CTR_OUT, (uid_t)uid, (gid_t)gid) == -1 ||
	    (own && chown(CTR_WORKSPACE, (uid_t)uid, (gid_t)gid) == -1))
		die("init -u: chown:");
	/* The engine's pipes for stdin, stdout and stderr are root's, 0600:
	 * the user's, as a local run's, or /dev/stdout cannot be opened.
	 * Pipes and sockets only, never a device node such as /dev/null;
	 * one that stays root's costs only that. */
	for (fd = 0; fd < 3; fd++) {
		if (fstat(fd, &st) == -1 || st.st_uid != 0 ||
		    !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
			continue;
		if (fchown(fd, (uid_t)uid, (gid_t)-1) == -1)
			continue;
	}
	for (cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 &&
		    errno != EINVAL)
			die("prctl PR_CAPBSET_DROP:");
	if (setgroups(0, NULL) == -1 || setgid((gid_t)gid) == -1 ||
	    setuid((uid_t)uid) == -1)
		die("init -u: cannot become %lld:%lld:", uid, gid);
	/* uid 0 keeps what it had: take it all. */
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) == -1)
		die("capset:");
}

/*
 * A run's init.  What tini does, as a run through sbx must behave as a
 * plain one with --init: ARGV runs in a process group of its own, the
 * signals we are sent go on to it, every orphan is reaped, and its end
 * is ours, its exit code or 128 plus the signal that ended it.  And
 * more: SECONDS after we start, everything is killed and we exit 137,
 * whatever became of the sbx on the host, so that a killed sbx cannot
 * make a run outlive its timeout and grace; INIT_STOP from outside the
 * container (sbx stopping the run) does the same at once; and at the
 * end we write what the run used (usage_write).  The script runs as our
 * user; as pid 1 and not dumpable we are out of its reach, but for
 * prlimit(2), with which it can only end its own run sooner.
 *
 * With "-c WORDS CCPU CPU FSIZE", a compiled language: the first WORDS
 * of ARGV compile (init_compile), and if that exits 0 the rest runs,
 * with RLIMIT_CPU CPU and RLIMIT_FSIZE FSIZE (0: none), which the
 * container's limits then leave to us.  A failed compile ends the run
 * with 1.  With -n, allow_hosts' forwarder runs beside the program,
 * not the compiler (see forward()).
 */
static int
init_main(const char *secs, int fwd, const char *const *c, char **u,
    char **argv)
{
	static char key[NONCE_LEN + 1];
	long long t, deadline, words = 0, lim[3] = { 0, 0, 0 };
	sigset_t all, old;
	const char *k;
	size_t i;
	int code, l = -1;

	if (getpid() != 1)
		die("must be pid 1 of a container, refusing to run");
	if (num(secs, strlen(secs), 1, SECONDS_MAX, &t) == -1 || !argv[0])
		die("usage: init -t SECONDS [-u UID GID OWN] [-n] "
		    "[-c WORDS CCPU CPU FSIZE] -- ARGV...");
	if (u)
		become(u);
	for (i = 0; c && i < 4; i++)
		if (num(c[i], strlen(c[i]), 0, i == 3 ? LLONG_MAX / 2 : i ?
		    SECONDS_MAX : 1024, i ? &lim[i - 1] : &words) == -1)
			die("init -c: not a number: %s", c[i]);
	for (i = 0; i < (size_t)words; i++)
		if (argv[i] == NULL)
			die("init -c %lld: ARGV is shorter", words);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		die("prctl PR_SET_DUMPABLE:");
	if ((k = getenv(ENV_INIT_KEY)) != NULL && is_nonce(k))
		memcpy(key, k, NONCE_LEN + 1);
	unsetenv(ENV_INIT_KEY);		/* not the script's to see */
	deadline = now_ms() + t * 1000;
	sigfillset(&all);
	if (sigprocmask(SIG_SETMASK, &all, &old) == -1)
		die("sigprocmask:");
	if (words > 0) {
		code = init_compile(argv, (size_t)words, &old, &all, lim[0],
		    deadline, key);
		if (code != 0)
			return init_end(key, code < 0 ? 128 + SIGKILL : 1);
		argv += words;
		if (argv[0] == NULL)
			die("init -c: no program after the compiler");
	}
	/* After the compile, whose end kills all; only the forwarder
	 * holds the port. */
	if (fwd && ((l = forward_listen()) == -1 || forward_start(l) == -1))
		die("proxy port 127.0.0.1:%d:", PROXY_PORT);
	if (fwd)
		close(l);
	code = init_wait(init_child(argv, &old, lim[1], lim[2]), deadline,
	    &all);
	return init_end(key, code < 0 ? 128 + SIGKILL : code);
}

int
main(int argc, char *argv[])
{
	const char *const *c = NULL;
	char **u = NULL;
	struct sup s;
	int i = 3, fwd = 0;

	/* init -t SECONDS [-u UID GID OWN] [-n] [-c WORDS CCPU CPU FSIZE]
	 * -- ARGV... */
	if (argc >= 4 && strcmp(argv[1], "-t") == 0) {
		if (i + 3 < argc && strcmp(argv[i], "-u") == 0) {
			u = argv + i + 1;
			i += 4;
		}
		if (i < argc && strcmp(argv[i], "-n") == 0)
			fwd = i++;
		if (i + 5 < argc && strcmp(argv[i], "-c") == 0 &&
		    strcmp(argv[i + 5], "--") == 0) {
			c = (const char *const *)argv + i + 1;
			i += 5;
		}
		if (i < argc && strcmp(argv[i], "--") == 0)
			return init_main(argv[2], fwd != 0, c, u,
			    argv + i + 1);
	}
	setup(&s, argc, argv);
	for (;;) {
		reap(&s);
		check_step(&s);
		check_idle(&s);
		wait_input(&s);
	}
}
