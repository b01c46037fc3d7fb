/* See LICENSE file for copyright and license details. */
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/*
 * sbx batch: one script over many trees.  Each case is a run of its
 * own, this binary run again with --json -d DIR, at most -j at once.
 * A case's lines go to stdout together when it ends, each tagged with
 * "case", so that cases never mix; then one "batch" line counts them.
 * With --slurm the cases go to a Slurm job array whose tasks are local
 * batches of their own (sbx batch-task), and their lines are merged
 * here as if they had run here.
 */

enum outcome { CASE_OK, CASE_FAILED, CASE_TIMEOUT, CASE_OOM, CASE_TRUNC,
	CASE_ERROR, CASE_INTR, CASE_NOTRUN, NOUTCOME };

static const char *const outcome_name[NOUTCOME] = {
	"ok", "failed", "timed_out", "oom", "truncated", "error",
	"interrupted", "not_run"
};

struct tally {
	long n[NOUTCOME];
	long resumed;		/* counted from --resume's file */
	double cpu;		/* the cases' cpu_time, s */
};

/* One case: a tree, its name as given, and its run while it runs. */
struct kase {
	const char *name;	/* as given: the "case" of its lines */
	char *esc;		/* name as a JSON string, quotes and all */
	size_t index;		/* its place in the Slurm job's cases */
	const char *dir;	/* what the run's -d gets */
	pid_t pid;		/* its run, 0 if none */
	int fd[2];		/* the run's stdout and stderr, -1 if closed */
	struct jbuf out, err;
	int skip;		/* its result is in --resume's file */
};

/* What the command line asked for. */
struct batch {
	long jobs;		/* -j */
	const char *input;	/* --input, every case's stdin */
	int in;			/* it, open, or -1: each run opens it anew */
	int outfd;		/* a Slurm task's out/: a file per case, or -1 */
	const char *resume;	/* --resume */
	const char *slurm_args;	/* --slurm-args */
	int slurm;
	int jobs_given;		/* -j: the array's cap too */
	int pooled;		/* -P: no dry run to check the options */
	const char *ext;	/* -e */
	char **run;		/* a run's options, then the script */
	size_t nrun;
	struct kase *k;
	size_t n;
};

enum { OPT_INPUT = 256, OPT_RESUME, OPT_SLURM, OPT_SLURM_ARGS, OPT_DIFF,
	OPT_ALLOW_HOST };

static const struct option longopts[] = {
	{ "allow-host", required_argument, NULL, OPT_ALLOW_HOST },
	{ "diff", no_argument, NULL, OPT_DIFF },
	{ "input", required_argument, NULL, OPT_INPUT },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ "slurm", no_argument, NULL, OPT_SLURM },
	{ "slurm-args", required_argument, NULL, OPT_SLURM_ARGS },
	{ NULL, 0, NULL, 0 }
};

static char opt_self[PATH_MAX];	/* this binary, run for each case */

/* This binary, as it is now: a case's run is the same sbx as ours. */
static void
find_self(void)
{
	size_t n;

	if (self_path(opt_self, sizeof(opt_self)) < 0)
		die("batch: /proc/self/exe:");
	n = strlen(opt_self);
	if (n > 10 && strcmp(opt_self + n - 10, " (deleted)") == 0)
		die("batch: %s was replaced since it started: run it again",
		    opt_self);
}

static void
run_arg(struct batch *b, const char *s)
{
	b->run = erealloc(b->run, (b->nrun + 2) * sizeof(*b->run));
	b->run[b->nrun++] = estrdup(s);
	b->run[b->nrun] = NULL;
}

static void
add_case(struct batch *b, const char *name)
{
	struct jbuf esc = { 0 };
	struct kase *k;

	if (*name == '\0' || strchr(name, '\n'))
		die("batch: '%s': not a directory name", name);
	b->k = erealloc(b->k, (b->n + 1) * sizeof(*b->k));
	k = &b->k[b->n++];
	memset(k, 0, sizeof(*k));
	k->name = estrdup(name);
	k->dir = k->name;
	jb_escape(&esc, name, strlen(name));
	k->esc = esc.s;
	k->fd[0] = k->fd[1] = -1;
}

/* "-": the trees one per line on stdin. */
static void
cases_stdin(struct batch *b)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (len > 0)
			add_case(b, line);
	}
	free(line);
}

static long
jobs_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 1024)
		die("-j %s: not a number of runs at once from 1 to 1024", s);
	return v;
}

/*
 * --input, open once: a regular file as it is (each run opens it again
 * through /proc/self/fd, so that it reads from the start, even if the
 * path goes); anything else, a pipe or a FIFO, copied first to a file
 * that has no name, since only one reader could have its bytes.
 */
static int
input_open(const char *path)
{
	struct stat st;
	char *tmp;
	int fd, copy;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		die("--input %s:", path);
	if (S_ISREG(st.st_mode))
		return fd;
	tmp = smprintf("%s/sbx-input.XXXXXX", tmpdir());
	if ((copy = mkstemp(tmp)) < 0 || unlink(tmp) < 0)
		die("--input: mkstemp %s:", tmp);
	if (copy_fd(fd, copy) < 0)
		die("--input %s:", path);
	fcntl(copy, F_SETFD, FD_CLOEXEC);
	close(fd);
	free(tmp);
	return copy;
}

/*
 * Our options are -j, --input, --resume, --slurm and --slurm-args;
 * every other is a run's, passed on to each case as given.  -d is each
 * case's, and a person's view is not for many runs at once.
 */
static void
parse(int argc, char *argv[], struct batch *b)
{
	static const char optstring[] = "+c:De:i:j:km:nP:p:r:T:t:uw:";
	char opt[3] = "-?";
	const char *e;
	int c, i;

	memset(b, 0, sizeof(*b));
	b->in = b->outfd = -1;
	b->jobs = sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
	    sysconf(_SC_NPROCESSORS_ONLN) : 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			b->jobs = jobs_arg(optarg);
			b->jobs_given = 1;
			break;
		case OPT_INPUT: b->input = optarg; break;
		case OPT_RESUME: b->resume = optarg; break;
		case OPT_SLURM: b->slurm = 1; break;
		case OPT_SLURM_ARGS: b->slurm_args = optarg; break;
		case OPT_DIFF: run_arg(b, "-u"); break;
		case OPT_ALLOW_HOST:
			run_arg(b, "--allow-host");
			run_arg(b, optarg);
			break;
		case '?':
			die("batch: %s: not an option of a batch, or its "
			    "value is missing", argv[optind - 1]);
		case 'D':
			die("batch: -D: a batch runs its cases; sbx -D shows "
			    "one's argv");
		default:
			if (c == 'P')
				b->pooled = 1;
			if (c == 'e')
				b->ext = optarg;
			opt[1] = (char)c;
			run_arg(b, opt);
			/* A path another node or directory reads whole. */
			if (c == 'c' && *optarg != '/') {
				e = realpath(optarg, NULL);
				run_arg(b, e ? e : optarg);
				free((char *)e);
			} else if (strchr(optstring, c)[1] == ':') {
				run_arg(b, optarg);
			}
		}
	}
	if (b->slurm_args && !b->slurm)
		die("--slurm-args: for --slurm only");
	if (argc - optind < 2)
		die("batch: usage: %s batch [-j jobs] [--input file] "
		    "[--resume file] [--slurm [--slurm-args args]] "
		    "[run-option ...] script dir ...", argv0);
	run_arg(b, argv[optind]);
	for (i = optind + 1; i < argc; i++)
		if (strcmp(argv[i], "-") == 0)
			cases_stdin(b);
		else
			add_case(b, argv[i]);
	if (b->n == 0)
		die("batch: no directory on standard input");
	b->in = b->input ? input_open(b->input) : -1;
}

/*
 * A run, or Slurm's sbatch, squeue or scancel (found in PATH): stdin a
 * new reading of the open file in (-1: /dev/null), stdout through a
 * pipe, *out; stderr through another, *err, or if err is NULL to ours
 * (quiet: to /dev/null).  In a process group of its own, so that a
 * terminal's ^C reaches us alone and we stop each run once.  A stop
 * signal that comes before its exec is held, then ends it: our handlers
 * are not its.  Returns -1, errno set, if it could not be started.
 */
static pid_t
spawn(char **argv, int in, int *out, int *err, int quiet)
{
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
	sigset_t set, old;
	char path[64];
	int o[2], e[2] = { -1, -1 }, fd;
	pid_t pid, parent = getpid();
	size_t i;

	if (pipe(o) < 0)
		return -1;
	if (err && pipe(e) < 0) {
		close(o[0]);
		close(o[1]);
		return -1;
	}
	/* None of them for the run's own children: a podman client that
	 * outlives it would hold the case open.  dup2 clears it on 0-2. */
	for (i = 0; i < 2; i++) {
		fcntl(o[i], F_SETFD, FD_CLOEXEC);
		if (err)
			fcntl(e[i], F_SETFD, FD_CLOEXEC);
	}
	sigemptyset(&set);
	for (i = 0; i < LEN(stops); i++)
		sigaddset(&set, stops[i]);
	sigprocmask(SIG_BLOCK, &set, &old);
	if ((pid = fork()) == 0) {
		for (i = 0; i < LEN(stops); i++)
			signal(stops[i], SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", in);
		if ((fd = open(in < 0 ? "/dev/null" : path, O_RDONLY)) < 0 ||
		    dup2(fd, 0) < 0 || dup2(o[1], 1) < 0 ||
		    (err && dup2(e[1], 2) < 0)) {
			dprintf(err ? e[1] : 2, "%s: batch: stdin: %s\n",
			    argv0, strerror(errno));
			_exit(EXIT_FAIL);
		}
		if (fd > 2)
			close(fd);
		if (!err && quiet && (fd = open("/dev/null", O_WRONLY)) >= 0)
			dup2(fd, 2);
		setpgid(0, 0);
#ifdef __linux__
		/* Even a SIGKILL of ours stops the runs: they get this. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(EXIT_FAIL);	/* too late for it */
#endif
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANNOT);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(o[1]);
	if (err)
		close(e[1]);
	if (pid < 0) {
		close(o[0]);
		if (err)
			close(e[0]);
		return -1;
	}
	*out = o[0];
	if (err)
		*err = e[0];
	return pid;
}

/* The argv of a case's run: sbx --json OPTIONS -d DIR SCRIPT. */
static char **
case_argv(const struct batch *b, const struct kase *k)
{
	char **v = ecalloc(b->nrun + 6, sizeof(*v));
	size_t i, n = 0;

	v[n++] = opt_self;
	v[n++] = "--json";
	for (i = 0; i + 1 < b->nrun; i++)
		v[n++] = b->run[i];
	v[n++] = "-d";
	v[n++] = (char *)k->dir;
	v[n++] = b->run[b->nrun - 1];
	return v;
}

/* argv's exit status, with stdin from in as spawn's, its stdout in out,
 * its stderr ours or, quiet, none; -1 if it could not be started. */
static int
capture(char **argv, int in, struct jbuf *out, int quiet)
{
	int fd, st;
	pid_t pid;

	if ((pid = spawn(argv, in, &fd, NULL, quiet)) < 0)
		return -1;
	jb_read(out, fd, -1);
	close(fd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/*
 * A bad option or template fails every case alike: ask once, with the
 * run's own dry run of a script on stdin, before any case starts.
 */
static void
check_options(const struct batch *b)
{
	struct jbuf out = { 0 };
	char **v, msg[1024], ext[32];
	const char *dot, *script = b->run[b->nrun - 1];
	size_t i, n = 0;

	if (b->pooled)
		return;		/* -P takes no -D; its options are few */
	v = ecalloc(b->nrun + 6, sizeof(*v));
	v[n++] = opt_self;
	v[n++] = "--json";
	v[n++] = "-D";
	if (!b->ext && (dot = strrchr(script, '.')) && !strchr(dot, '/') &&
	    strlen(dot + 1) < sizeof(ext)) {
		snprintf(ext, sizeof(ext), "%s", dot + 1);
		v[n++] = "-e";
		v[n++] = ext;
	}
	for (i = 0; i + 1 < b->nrun; i++)
		v[n++] = b->run[i];
	v[n++] = "-";
	if (capture(v, -1, &out, 1) != 0) {
		if (out.s == NULL || *jl_str(out.s, "message", msg,
		    sizeof(msg)) == '\0')
			snprintf(msg, sizeof(msg), "batch: the run options "
			    "do not make a run");
		die("%s", msg);
	}
	free(v);
	free(out.s);
}

/* What a case's result line says happened. */
static enum outcome
outcome(const char *res)
{
	size_t n;
	const char *err = jl_member(res, "error", &n);

	/* sbx's failure says why; a script's own exit 125 does not. */
	if ((err && *err == '"') || (jl_number(res, "status") == EXIT_FAIL &&
	    jl_number(res, "exit_code") < 0 && jl_number(res, "signal") < 0))
		return CASE_ERROR;
	if (jl_number(res, "interrupted") > 0)
		return CASE_INTR;
	if (jl_yes(res, "timed_out"))
		return CASE_TIMEOUT;
	if (jl_yes(res, "oom_killed"))
		return CASE_OOM;
	if (jl_yes(res, "truncated"))
		return CASE_TRUNC;
	return jl_number(res, "status") == 0 ? CASE_OK : CASE_FAILED;
}

static int
is_event(const char *line, const char *event)
{
	char ev[32];

	return strcmp(jl_str(line, "event", ev, sizeof(ev)), event) == 0;
}

/* The line, with "case" after its "event", onto out. */
static void
tag(struct jbuf *out, const char *line, size_t len, const char *esc)
{
	const char *v;
	size_t n;

	if (strncmp(line, "{\"event\":", 9) != 0 ||
	    (v = jl_member(line, "event", &n)) == NULL) {
		jb_put(out, line, len);
		return;
	}
	n += (size_t)(v - line);
	jb_put(out, line, n);
	jb_put(out, ",\"case\":", 8);
	jb_put(out, esc, strlen(esc));
	jb_put(out, line + n, len - n);
}

static void
batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->k[i].dir != b->k[i].name)
			free((char *)b->k[i].dir);
		free((char *)b->k[i].name);
		free(b->k[i].esc);
	}
	free(b->k);
	strv_free(b->run);
}

/* Is line of case k?  As JSON strings: what was escaped, so compared. */
static int
of_case(const char *line, const struct kase *k)
{
	size_t n;
	const char *v = jl_member(line, "case", &n);

	return v && n == strlen(k->esc) && memcmp(v, k->esc, n) == 0;
}

/* A case's result, counted. */
static void
count(struct tally *t, const char *res)
{
	double cpu = jl_number(res, "cpu_time");

	t->n[outcome(res)]++;
	if (cpu > 0)
		t->cpu += cpu;
}

/* A case with no result, counted as o; an error says why, unless its
 * run did. */
static void
no_result(struct tally *t, const char *name, enum outcome o, int said,
    const char *why)
{
	struct jbuf j;

	t->n[o]++;
	if (o != CASE_ERROR || said)
		return;
	jb_begin(&j, "error");
	jb_str(&j, "case", name);
	jb_str(&j, "message", why);
	jb_emit(&j);
}

/* One line of buf up to its newline, as a string; NULL at the end. */
static char *
next_line(const struct jbuf *buf, size_t *at)
{
	const char *p, *nl;
	char *line;

	if (buf->s == NULL || *at >= buf->len)
		return NULL;
	p = buf->s + *at;
	if ((nl = memchr(p, '\n', buf->len - *at)) == NULL)
		return NULL;	/* a line with no end is dropped */
	line = emalloc((size_t)(nl - p) + 1);
	memcpy(line, p, (size_t)(nl - p));
	line[nl - p] = '\0';
	*at += (size_t)(nl - p) + 1;
	return line;
}

/* Our stderr gets the run's, each line naming the case. */
static void
emit_err(const char *name, const struct jbuf *err)
{
	size_t at = 0;
	char *line, *msg;

	while ((line = next_line(err, &at)) != NULL) {
		/* Over the progress line, if a terminal shows one. */
		msg = smprintf("%s%s: %s: %s\n", isatty(2) ? "\r\033[K" : "",
		    argv0, name,
		    strncmp(line, "sbx: ", 5) == 0 ? line + 5 : line);
		jb_out(2, msg, strlen(msg));
		free(msg);
		free(line);
	}
}

/*
 * The lines of text, each whole, to fd: tagged as of the case esc, or
 * as they are (NULL: a Slurm task's, tagged already).  A line its run
 * had no time to end is dropped, never half a JSON object.  Returns the
 * result line, caller frees, or NULL; *said: there was an error line.
 */
static char *
put_lines(int fd, const struct jbuf *text, const char *esc, int *said)
{
	struct jbuf out;
	size_t at = 0;
	char *line, *res = NULL;

	*said = 0;
	while ((line = next_line(text, &at)) != NULL) {
		memset(&out, 0, sizeof(out));
		if (esc)
			tag(&out, line, strlen(line), esc);
		else
			jb_put(&out, line, strlen(line));
		jb_put(&out, "\n", 1);
		jb_out(fd, out.s, out.len);
		free(out.s);
		*said |= is_event(line, "error");
		if (is_event(line, "result")) {
			free(res);
			res = line;
		} else {
			free(line);
		}
	}
	return res;
}

/* A case counted by its result, else as none: its run's error if it
 * said one. */
static void
settle(struct tally *t, const char *name, char *res, int said,
    enum outcome none, const char *why)
{
	if (res)
		count(t, res);
	else
		no_result(t, name, said ? CASE_ERROR : none, said, why);
	free(res);
}

/*
 * A case's lines, to stdout, or for a Slurm task to a file of the
 * case's own (out/INDEX.jsonl), which the submitter reads back in the
 * cases' order; then its stderr, to ours.
 */
static void
emit_case(const struct batch *b, const struct kase *k, struct tally *t,
    int stopped)
{
	char name[32], *res;
	int fd = 1, said;

	if (b->outfd >= 0) {
		snprintf(name, sizeof(name), "%zu.jsonl", k->index);
		if ((fd = openat(b->outfd, name, O_WRONLY | O_CREAT | O_TRUNC |
		    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
			die("batch: out/%s:", name);
	}
	res = put_lines(fd, &k->out, k->esc, &said);
	settle(t, k->name, res, said, stopped ? CASE_INTR : CASE_ERROR,
	    "batch: its run ended without a result");
	if (fd != 1 && close(fd) < 0)
		die("batch: out/%zu.jsonl:", k->index);
	emit_err(k->name, &k->err);
}

/* What is there to read now; an fd is closed at its end. */
static void
drain(struct kase *k, int i)
{
	char buf[65536];
	ssize_t r;

	if (k->fd[i] < 0)
		return;
	if ((r = read(k->fd[i], buf, sizeof(buf))) > 0) {
		jb_put(i ? &k->err : &k->out, buf, (size_t)r);
	} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
		close(k->fd[i]);
		k->fd[i] = -1;
	}
}

/* Its run has ended: what it left in the pipes, then its lines. */
static void
finish(const struct batch *b, struct kase *k, struct tally *t, int stopped)
{
	char buf[65536];
	ssize_t r;
	int i;

	/* What is in the pipes now, and no more: a child of the run that
	 * outlives it may hold them open. */
	for (i = 0; i < 2; i++) {
		if (k->fd[i] < 0)
			continue;
		fcntl(k->fd[i], F_SETFL, O_NONBLOCK);
		while ((r = read(k->fd[i], buf, sizeof(buf))) > 0 ||
		    (r < 0 && errno == EINTR))
			if (r > 0)
				jb_put(i ? &k->err : &k->out, buf, (size_t)r);
		close(k->fd[i]);
		k->fd[i] = -1;
	}
	emit_case(b, k, t, stopped);
	free(k->out.s);
	free(k->err.s);
	k->out.s = k->err.s = NULL;
	k->pid = 0;
}

static int
pfd_ready(const struct pollfd *p, size_t n, int fd)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i].fd == fd)
			return p[i].revents != 0;
	return 0;
}

static void
progress(size_t done, size_t n, size_t running, const struct tally *t)
{
	char buf[160];

	if (!isatty(2))
		return;
	snprintf(buf, sizeof(buf), "\r%s: batch: %zu/%zu done, %zu running, "
	    "%ld not ok%s", argv0, done, n, running, t->n[CASE_FAILED] +
	    t->n[CASE_TIMEOUT] + t->n[CASE_OOM] + t->n[CASE_TRUNC] +
	    t->n[CASE_ERROR], done == n || running == 0 ? "\n" : " ");
	jb_out(2, buf, strlen(buf));
}

/* Starts the cases from *next on until jobs run; returns how many do. */
static size_t
start_more(const struct batch *b, struct kase **live, size_t nlive,
    size_t *next)
{
	struct kase *k;
	char **v;

	for (; nlive < (size_t)b->jobs && *next < b->n; (*next)++) {
		if ((k = &b->k[*next])->skip)
			continue;
		v = case_argv(b, k);
		k->pid = spawn(v, b->in, &k->fd[0], &k->fd[1], 0);
		free(v);
		if (k->pid < 0)
			die("batch: %s: cannot start its run:", k->name);
		live[nlive++] = k;
	}
	return nlive;
}

/*
 * What the runs wrote, as it comes.  A run whose pipes are at their
 * end has its exit to come, soon: poll waits less then.
 */
static void
read_some(struct kase **live, size_t nlive, struct pollfd *pfd)
{
	size_t i, j, np;
	int ms;

	for (ms = 250, np = i = 0; i < nlive; i++) {
		for (j = 0; j < 2; j++)
			if (live[i]->fd[j] >= 0) {
				pfd[np].fd = live[i]->fd[j];
				pfd[np++].events = POLLIN;
			}
		if (live[i]->fd[0] < 0 && live[i]->fd[1] < 0)
			ms = 5;
	}
	if (poll(pfd, np, ms) <= 0)
		return;
	for (i = 0; i < nlive; i++)
		for (j = 0; j < 2; j++)
			if (live[i]->fd[j] >= 0 &&
			    pfd_ready(pfd, np, live[i]->fd[j]))
				drain(live[i], (int)j);
}

/*
 * The cases, at most jobs at once, each as it ends.  A signal to us, or
 * a reader gone from stdout, stops every run in flight (each stops its
 * container and says its result) and starts no more.
 */
static void
run_cases(const struct batch *b, struct tally *t)
{
	struct pollfd *pfd = ecalloc(2 * (size_t)b->jobs, sizeof(*pfd));
	struct kase **live = ecalloc((size_t)b->jobs, sizeof(*live));
	size_t next = 0, nlive = 0, done = 0, todo = 0, i;
	int stopped = 0, st;

	for (i = 0; i < b->n; i++)
		todo += !b->k[i].skip;
	for (;;) {
		if ((opt_signal || jb_failed()) && !stopped) {
			stopped = 1;
			for (i = 0; i < nlive; i++)
				kill(live[i]->pid, SIGTERM);
		}
		if (!stopped)
			nlive = start_more(b, live, nlive, &next);
		if (nlive == 0)
			break;
		read_some(live, nlive, pfd);
		for (i = 0; i < nlive; i++) {
			if (waitpid(live[i]->pid, &st, WNOHANG) != live[i]->pid)
				continue;
			finish(b, live[i], t, stopped);
			live[i--] = live[--nlive];	/* i wraps to 0 */
			progress(++done, todo, nlive, t);
		}
	}
	for (; next < b->n; next++)
		if (!b->k[next].skip)
			t->n[CASE_NOTRUN]++;
	free(pfd);
	free(live);
}

/*
 * --resume FILE: the cases whose result is there are counted, not run
 * again, unless sbx itself failed them (status 125) or a stop cut them
 * short (interrupted).  A file cut in a
 * line, when it is our stdout too (">>"), gets that line ended first.
 */
static void
resume(struct batch *b, struct tally *t)
{
	struct jbuf buf = { 0 };
	struct stat fs, os;
	char *line;
	size_t at = 0, i;
	int fd;

	if ((fd = open(b->resume, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return;
		die("--resume %s:", b->resume);
	}
	if (jb_read(&buf, fd, -1) < 0)
		die("--resume %s:", b->resume);
	if (buf.len && buf.s[buf.len - 1] != '\n' && fstat(fd, &fs) == 0 &&
	    fstat(1, &os) == 0 && fs.st_dev == os.st_dev &&
	    fs.st_ino == os.st_ino)
		jb_out(1, "\n", 1);
	close(fd);
	while ((line = next_line(&buf, &at)) != NULL) {
		if (is_event(line, "result") && outcome(line) != CASE_ERROR &&
		    outcome(line) != CASE_INTR)
			for (i = 0; i < b->n; i++) {
				if (b->k[i].skip || !of_case(line, &b->k[i]))
					continue;
				b->k[i].skip = 1;
				t->resumed++;
				count(t, line);
				break;
			}
		free(line);
	}
	free(buf.s);
}

/* The batch line, and the status a shell or make(1) acts on. */
static int
summary(const struct batch *b, const struct tally *t, double t0)
{
	struct jbuf j;
	int o;

	jb_begin(&j, "batch");
	jb_int(&j, "cases", (long long)b->n);
	for (o = 0; o < NOUTCOME; o++)
		jb_int(&j, outcome_name[o], t->n[o]);
	jb_int(&j, "resumed", t->resumed);
	jb_fixed(&j, "duration", (long long)((now() - t0) * 1000), 3);
	jb_fixed(&j, "cpu_time", (long long)(t->cpu * 1000 + 0.5), 3);
	jb_emit(&j);
	if (opt_signal)
		return 128 + opt_signal;
	if (t->n[CASE_ERROR] || t->n[CASE_NOTRUN])
		return EXIT_FAIL;
	return t->n[CASE_OK] == (long)b->n ? 0 : 1;
}

/*
 * --slurm: the cases as one job array.  Its directory, mode 0700,
 * holds what the tasks read (cases, run: the run's argv, chunk, input:
 * a copy of --input's) and what they write (out/CASE.jsonl, a case's
 * lines, CASE its place among the cases; out/TASK.err, a task's stderr,
 * and out/TASK.slurm, what Slurm says of it; out/TASK.done, the mark
 * that a task is over).  Every node must see
 * it, so it is made in the current directory, as Slurm's own output
 * files are.  It is opened once and read through that descriptor, and
 * a task refuses a directory that is not its user's alone.  The job's
 * script is run by the kernel: its "#!" line names this binary's
 * batch-task, and no shell is involved.
 */
struct shared {
	int fd;
	const char *path;
};

static struct shared opt_shared = { -1, NULL };	/* removed at exit */
static char opt_job[32];	/* scancelled at exit, if not over */

static void
shared_open(struct shared *d, const char *path)
{
	struct stat st;

	d->path = path;
	if ((d->fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 || fstat(d->fd, &st) < 0)
		die("batch: %s:", path);
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		die("batch: %s: not a directory of its user's alone", path);
}

static void
put_file(const struct shared *d, const char *name, const char *s,
    size_t n)
{
	ssize_t w = 0;
	int fd;

	if ((fd = openat(d->fd, name, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		die("batch: %s/%s:", d->path, name);
	for (; n > 0 && (w = write(fd, s, n)) > 0; s += w)
		n -= (size_t)w;
	if (w < 0 || close(fd) < 0)
		die("batch: %s/%s:", d->path, name);
}

/* name, whole, into buf; 0 if it is not there and need not be. */
static int
get_file(const struct shared *d, const char *name, struct jbuf *buf,
    int need)
{
	struct stat st;
	int fd;

	if ((fd = openat(d->fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0) {
		if (need || errno != ENOENT)
			die("batch: %s/%s:", d->path, name);
		return 0;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    jb_read(buf, fd, -1) < 0)
		die("batch: %s/%s: not a file to read", d->path, name);
	close(fd);
	return 1;
}

/* scancel: every task's sbx gets SIGTERM, and stops its runs.  It runs
 * at exit too: it never dies. */
static void
scancel(void)
{
	char *v[] = { "scancel", opt_job, NULL };
	struct jbuf out = { 0 };

	if (*opt_job)
		capture(v, -1, &out, 0);
	free(out.s);
}

static void
slurm_cleanup(void)
{
	int saved = errno;

	scancel();
	if (opt_shared.path)
		shadow_remove(opt_shared.path);
	errno = saved;
}

/* The directory the array's tasks read from and write to; the number
 * of tasks, 0 if no case is left to run. */
static size_t
shared_make(const struct batch *b, size_t *chunk)
{
	struct jbuf cases = { 0 }, run = { 0 };
	char cwd[PATH_MAX], *path, *abs, num[32];
	size_t i, n = 0, tasks;
	int in;

	for (i = 0; i < b->n; i++)
		n += !b->k[i].skip;
	if (n == 0)
		return 0;
	/* The kernel ends a "#!" line's interpreter at white space. */
	if (strpbrk(opt_self, " \t\n") || strlen(opt_self) > 200)
		die("batch: --slurm: %s: a path of sbx that a \"#!\" line "
		    "cannot hold (white space, or past 200 bytes)", opt_self);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		die("batch: getcwd:");
	path = smprintf("%s/sbx-batch.XXXXXX", cwd);
	if (mkdtemp(path) == NULL)
		die("batch: mkdtemp %s:", path);
	opt_shared.path = path;
	atexit(slurm_cleanup);
	shared_open(&opt_shared, path);
	if (mkdirat(opt_shared.fd, "out", 0700) < 0)
		die("batch: mkdir %s/out:", path);
	for (i = 0; i < b->n; i++) {
		if (b->k[i].skip)
			continue;
		abs = realpath(b->k[i].dir, NULL);
		if (abs == NULL)	/* its run says what is wrong */
			abs = *b->k[i].dir == '/' ? estrdup(b->k[i].dir) :
			    smprintf("%s/%s", cwd, b->k[i].dir);
		jb_put(&cases, b->k[i].name, strlen(b->k[i].name) + 1);
		jb_put(&cases, abs, strlen(abs) + 1);
		free(abs);
	}
	for (i = 0; i < b->nrun; i++)
		jb_put(&run, b->run[i], strlen(b->run[i]) + 1);
	/*
	 * No more tasks than Slurm's default MaxArraySize allows; with -j,
	 * four for each that may run at once: a task's start costs about
	 * 0.2 s, and four chunks a slot still even out slow cases.
	 */
	tasks = n < 1000 ? n : 1000;
	if (b->jobs_given && (size_t)b->jobs * 4 < tasks)
		tasks = (size_t)b->jobs * 4;
	*chunk = (n + tasks - 1) / tasks;
	tasks = (n + *chunk - 1) / *chunk;
	snprintf(num, sizeof(num), "%zu\n", *chunk);
	put_file(&opt_shared, "cases", cases.s, cases.len);
	put_file(&opt_shared, "run", run.s, run.len);
	put_file(&opt_shared, "chunk", num, strlen(num));
	if (b->in >= 0) {
		if (lseek(b->in, 0, SEEK_SET) < 0 ||
		    (in = openat(opt_shared.fd, "input", O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
		    copy_fd(b->in, in) < 0 || close(in) < 0)
			die("batch: %s/input:", path);
	}
	abs = smprintf("#!%s batch-task\n# sbx batch: the cases and their "
	    "output are in\n# %s\n", opt_self, path);
	put_file(&opt_shared, "job", abs, strlen(abs));
	free(abs);
	free(cases.s);
	free(run.s);
	return tasks;
}

/*
 * Is the job over?  Every task's done mark is there, or Slurm has no
 * task of it left that is pending or running (one killed before its
 * mark, or never started).  squeue failing 10 times in a row (slurmctld
 * forgot the job, or is gone) is over too: what is there is merged.
 */
static int
slurm_over(size_t tasks, int *fails)
{
	struct jbuf out = { 0 };
	char *v[] = { "squeue", "-h", "-o", "%T", "-j", opt_job, NULL };
	char mark[64];
	struct stat st;
	size_t i, n = 0;
	int rc;

	for (i = 0; i < tasks; i++) {
		snprintf(mark, sizeof(mark), "out/%zu.done", i);
		n += fstatat(opt_shared.fd, mark, &st,
		    AT_SYMLINK_NOFOLLOW) == 0;
	}
	if (n == tasks)
		return 1;
	rc = capture(v, -1, &out, 1);
	n = out.len;
	free(out.s);
	if (rc != 0)
		return ++*fails >= 10;
	*fails = 0;
	return n == 0;
}

/*
 * Did Slurm end a task before its end: scancel, a time limit, a
 * preemption, a node's failure?  Then the cases that never started are
 * not run, not failed.  slurmctld keeps ended jobs for MinJobAge (300 s
 * by default): "-t all" shows them.
 */
static int
slurm_stopped(void)
{
	static const char *const states[] = { "CANCELLED", "TIMEOUT",
	    "PREEMPTED", "NODE_FAIL", "DEADLINE", "BOOT_FAIL" };
	struct jbuf out = { 0 };
	char *v[] = { "squeue", "-h", "-t", "all", "-o", "%T", "-j",
	    opt_job, NULL };
	size_t i;
	int yes = 0;

	capture(v, -1, &out, 1);
	for (i = 0; out.s && i < LEN(states); i++)
		yes |= strstr(out.s, states[i]) != NULL;
	free(out.s);
	return yes;
}

/*
 * sbatch, then a wait on the job that asks little of slurmctld: the
 * done marks, and squeue once a second (sbatch --wait polls at up to
 * 10 s).  A signal to us cancels the job; its tasks still say the
 * results of their runs, and we wait for them, a minute at most.
 * Returns whether Slurm stopped the job.
 */
static int
slurm_submit(const struct batch *b, size_t tasks)
{
	struct jbuf out = { 0 };
	char **v, **extra = NULL, *arr, *err;
	size_t i, n = 0;
	double until = 0;
	int cancelled = 0, fails = 0, st, job;

	if (opt_signal)
		return 1;	/* nothing submitted, nothing run */
	if (b->slurm_args)
		extra = strv_split(b->slurm_args, " \t\n");
	v = ecalloc(strv_len(extra) + 12, sizeof(*v));
	v[n++] = "sbatch";
	v[n++] = "--parsable";
	v[n++] = "--job-name=sbx-batch";
	/* Before a time limit ends it, each task stops its runs. */
	v[n++] = "--signal=B:TERM@30";
	for (i = 0; extra && extra[i]; i++)
		if (*extra[i])
			v[n++] = extra[i];
	v[n++] = arr = b->jobs_given ? smprintf("--array=0-%zu%%%ld",
	    tasks - 1, b->jobs) : smprintf("--array=0-%zu", tasks - 1);
	/* What a task says before its own out/TASK.err, if sbatch can
	 * name a file per task here: it reads '%' and '\' in a path. */
	v[n++] = "--output=/dev/null";
	v[n++] = err = strpbrk(opt_shared.path, "%\\") ?
	    estrdup("--error=/dev/null") :
	    smprintf("--error=%s/out/%%a.slurm", opt_shared.path);
	/* The script on its stdin, read through our descriptor. */
	if ((job = openat(opt_shared.fd, "job", O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		die("batch: %s/job:", opt_shared.path);
	st = capture(v, job, &out, 0);
	close(job);
	if (st != 0 || out.len < 2 || strspn(out.s, "0123456789") == 0)
		die("batch: sbatch did not submit the job (status %d)", st);
	/* --parsable: "ID" or "ID;CLUSTER". */
	snprintf(opt_job, sizeof(opt_job), "%.*s",
	    (int)strspn(out.s, "0123456789"), out.s);
	for (i = 0;; i++) {
		if (opt_signal && !cancelled) {
			cancelled = 1;
			scancel();
			until = now() + 60;
		}
		if (i % 5 == 4 && (slurm_over(tasks, &fails) ||
		    (until > 0 && now() > until)))
			break;
		poll(NULL, 0, 200);
	}
	cancelled |= slurm_stopped();
	*opt_job = '\0';	/* it is over: nothing left to cancel */
	free(out.s);
	free(arr);
	free(err);
	free(v);
	strv_free(extra);
	return cancelled;
}

/*
 * The cases' lines, in their order, as a local batch writes them: each
 * case's file holds them tagged already.  A case no task answered for
 * is an error, or not run if Slurm stopped the job.  Then the tasks'
 * stderr.
 */
static void
slurm_merge(struct batch *b, size_t tasks, int stopped, struct tally *t)
{
	struct jbuf buf;
	char name[64], *res;
	size_t i, at = 0;
	int said;

	for (i = 0; i < b->n; i++) {
		if (b->k[i].skip)
			continue;
		memset(&buf, 0, sizeof(buf));
		snprintf(name, sizeof(name), "out/%zu.jsonl", at++);
		get_file(&opt_shared, name, &buf, 0);
		res = put_lines(1, &buf, NULL, &said);
		settle(t, b->k[i].name, res, said, stopped ? CASE_NOTRUN :
		    CASE_ERROR, "batch: its Slurm task left no result (see "
		    "the tasks' stderr)");
		free(buf.s);
	}
	for (i = 0; i < 2 * tasks; i++) {
		memset(&buf, 0, sizeof(buf));
		snprintf(name, sizeof(name), "out/%zu.%s", i / 2, i % 2 ?
		    "err" : "slurm");
		if (get_file(&opt_shared, name, &buf, 0) && buf.len)
			jb_out(2, buf.s, buf.len);
		free(buf.s);
	}
}

static void
slurm(struct batch *b, struct tally *t)
{
	size_t chunk, tasks;

	if ((tasks = shared_make(b, &chunk)) > 0)
		slurm_merge(b, tasks, slurm_submit(b, tasks), t);
}

/* Room for -j runs at once, each with two pipes: the soft limit of open
 * files raised to the hard one, or an error now rather than midway. */
static void
fd_room(long jobs)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    (rlim_t)jobs * 2 + 32 > rl.rlim_cur)
		die("-j %ld: needs %ld open files, and the limit is %lu", jobs,
		    jobs * 2 + 32, (unsigned long)rl.rlim_cur);
}

/* sbx batch [-j jobs] [--input file] [--resume file] [--slurm
 * [--slurm-args args]] [run-option ...] script dir ... */
int
cmd_batch(int argc, char *argv[])
{
	struct batch b;
	struct tally t;
	double t0 = now();
	int status;

	memset(&t, 0, sizeof(t));
	find_self();
	parse(argc, argv, &b);
	if (!b.slurm)
		fd_room(b.jobs);
	if (b.resume)
		resume(&b, &t);
	check_options(&b);
	if (b.slurm)
		slurm(&b, &t);
	else
		run_cases(&b, &t);
	status = summary(&b, &t, t0);
	batch_free(&b);
	return status;
}

/* A task's number, SLURM_ARRAY_TASK_ID; or die. */
static size_t
task_id(void)
{
	const char *id = getenv("SLURM_ARRAY_TASK_ID");
	unsigned long long v;
	char *end;

	errno = 0;
	if (id == NULL || *id < '0' || *id > '9' ||
	    (v = strtoull(id, &end, 10), errno) || *end || v > 100000)
		die("batch-task: for the job that sbx batch --slurm submits");
	return (size_t)v;
}

/* The directory a job's script names, on its third line: "# DIR". */
static char *
task_dir(const char *script)
{
	struct jbuf job = { 0 };
	char *p, *nl, *dir;
	size_t i;
	int fd;

	if ((fd = open(script, O_RDONLY | O_CLOEXEC)) < 0 ||
	    jb_read(&job, fd, -1) < 0)
		die("batch-task: %s:", script);
	close(fd);
	for (p = job.s, i = 0; p && i < 2 && (p = strchr(p, '\n')); i++)
		p++;
	if (p == NULL || strncmp(p, "# /", 3) != 0 ||
	    (nl = strchr(p, '\n')) == NULL)
		die("batch-task: %s: not sbx batch's job", script);
	*nl = '\0';
	dir = estrdup(p + 2);
	free(job.s);
	return dir;
}

/* The task's cases: chunk number id of them, with the run's argv. */
static void
task_load(struct batch *b, const struct shared *d, size_t id)
{
	struct jbuf cases = { 0 }, run = { 0 }, chunk = { 0 };
	const char *p;
	size_t per, first, i, at;

	get_file(d, "chunk", &chunk, 1);
	get_file(d, "cases", &cases, 1);
	get_file(d, "run", &run, 1);
	per = chunk.s ? strtoul(chunk.s, NULL, 10) : 0;
	if (per == 0 || per > 1000000 || run.len == 0)
		die("batch-task: %s: not sbx batch's directory", d->path);
	first = id * per;	/* both bounded: no overflow */
	for (at = 0; at < run.len; at += strlen(run.s + at) + 1)
		run_arg(b, run.s + at);
	for (at = 0, i = 0; at < cases.len; i++) {
		p = cases.s + at;
		at += strlen(p) + 1;
		if (at >= cases.len)
			break;
		if (i >= first && i - first < per) {
			add_case(b, p);
			b->k[b->n - 1].dir = estrdup(cases.s + at);
			b->k[b->n - 1].index = i;
		}
		at += strlen(cases.s + at) + 1;
	}
	free(cases.s);
	free(run.s);
	free(chunk.s);
}

/*
 * sbx batch-task SCRIPT: one task of the array, as the job's "#!" line
 * runs it.  Its cases are the SLURM_ARRAY_TASK_ID'th chunk of the
 * directory the script names; it runs them one at a time, a local batch
 * whose cases' lines go to out/CASE.jsonl, then marks itself done.
 */
int
cmd_batch_task(int argc, char *argv[])
{
	struct shared d;
	struct batch b;
	struct tally t;
	char mark[64], *dir;
	size_t id;
	int fd;

	if (argc != 2)
		die("batch-task: for the job that sbx batch --slurm submits");
	id = task_id();
	find_self();
	memset(&b, 0, sizeof(b));
	memset(&t, 0, sizeof(t));
	shared_open(&d, dir = task_dir(argv[1]));
	/* Our stderr, and our runs', for the submitter to show. */
	snprintf(mark, sizeof(mark), "out/%zu.err", id);
	if ((fd = openat(d.fd, mark, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 || dup2(fd, 2) < 0)
		die("batch-task: %s/%s:", dir, mark);
	close(fd);
	task_load(&b, &d, id);
	if ((b.in = openat(d.fd, "input", O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0 && errno != ENOENT)
		die("batch-task: %s/input:", dir);
	if ((b.outfd = openat(d.fd, "out", O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) < 0)
		die("batch-task: %s/out:", dir);
	b.jobs = 1;
	run_cases(&b, &t);
	/* Every case's file is closed, so whole: the mark says so. */
	snprintf(mark, sizeof(mark), "out/%zu.done", id);
	put_file(&d, mark, "", 0);
	batch_free(&b);
	free(dir);
	return 0;
}
