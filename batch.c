/* See LICENSE file for copyright and license details. */
#ifdef __linux__
#include <sys/prctl.h>
#endif
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

enum outcome { CASE_OK, CASE_FAILED, CASE_TIMEOUT, CASE_OOM, CASE_TRUNC, CASE_ERROR, CASE_INTR,
	CASE_NOTRUN, NOUTCOME };

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
	const char *dir;	/* what the run's -d gets */
	pid_t pid;		/* its run, 0 if none */
	int fd[2];		/* the run's stdout and stderr, -1 if closed */
	struct jbuf out, err;
	int skip;		/* its result is in --resume's file */
	int done;		/* in a Slurm task's output: 1 its result,
				 * 2 its run's error */
};

/* What the command line asked for. */
struct batch {
	long jobs;		/* -j */
	const char *input;	/* --input, every case's stdin */
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

enum { OPT_INPUT = 256, OPT_RESUME, OPT_SLURM, OPT_SLURM_ARGS, OPT_DIFF };

static const struct option longopts[] = {
	{ "diff", no_argument, NULL, OPT_DIFF },
	{ "input", required_argument, NULL, OPT_INPUT },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ "slurm", no_argument, NULL, OPT_SLURM },
	{ "slurm-args", required_argument, NULL, OPT_SLURM_ARGS },
	{ NULL, 0, NULL, 0 }
};

static char self[PATH_MAX];	/* this binary, run for each case */
static char *slurm_dir;		/* --slurm's, removed at exit */
static char slurm_job[32];	/* scancelled at exit, if still waited on */

static void
find_self(void)
{
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		die("batch: /proc/self/exe:");
	self[n] = '\0';
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
	struct kase *k;

	if (*name == '\0' || strchr(name, '\n'))
		die("batch: '%s': not a directory name", name);
	b->k = erealloc(b->k, (b->n + 1) * sizeof(*b->k));
	k = &b->k[b->n++];
	memset(k, 0, sizeof(*k));
	k->name = estrdup(name);
	k->dir = k->name;
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
 * Our options are -j, --input, --resume, --slurm and --slurm-args;
 * every other is a run's, passed on to each case as given.  -d is each
 * case's, and a person's view is not for many runs at once.
 */
static void
parse(int argc, char *argv[], struct batch *b)
{
	char opt[3] = "-?";
	const char *e;
	int c, i;

	memset(b, 0, sizeof(*b));
	b->jobs = sysconf(_SC_NPROCESSORS_ONLN) > 0 ?
	    sysconf(_SC_NPROCESSORS_ONLN) : 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+c:De:i:j:km:nP:p:r:T:t:uw:",
	    longopts, NULL)) != -1) {
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
		case '?':
			die("batch: %s: not an option of a batch, or its "
			    "value is missing", argv[optind - 1]);
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
			} else if (optarg) {
				run_arg(b, optarg);
			}
		}
	}
	if (b->slurm_args && !b->slurm)
		die("--slurm-args: for --slurm only");
	if (argc - optind < 2)
		die("batch: usage: %s batch [-j jobs] [--input file] "
		    "[--resume file] [--slurm [--slurm-args args]] "
		    "[run options] script dir ...", argv0);
	run_arg(b, argv[optind]);
	for (i = optind + 1; i < argc; i++)
		if (strcmp(argv[i], "-") == 0)
			cases_stdin(b);
		else
			add_case(b, argv[i]);
	if (b->n == 0)
		die("batch: no directory on standard input");
	if (b->input && access(b->input, R_OK) < 0)
		die("--input %s:", b->input);
}

/*
 * A run, or Slurm's sbatch (found in PATH): stdin from input, stdout
 * and stderr through pipes.  In a process group of its own, so that a
 * terminal's ^C reaches us alone and we stop each run once.
 */
static pid_t
spawn(char **argv, const char *input, int fd[2])
{
	int out[2], err[2], in;
	pid_t pid, parent = getpid();

	if (pipe(out) < 0 || pipe(err) < 0)
		die("batch: pipe:");
	if ((pid = fork()) < 0)
		die("batch: fork:");
	if (pid == 0) {
		in = open(input ? input : "/dev/null", O_RDONLY);
		if (in < 0 || dup2(in, 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(EXIT_FAIL);
		close(out[0]);
		close(err[0]);
		signal(SIGPIPE, SIG_DFL);
		setpgid(0, 0);
#ifdef __linux__
		/* Even a SIGKILL of ours stops the runs: they get this. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(EXIT_FAIL);	/* too late for it */
#endif
		execvp(argv[0], argv);
		_exit(EXIT_NOTFOUND);
	}
	close(out[1]);
	close(err[1]);
	fcntl(out[0], F_SETFD, FD_CLOEXEC);
	fcntl(err[0], F_SETFD, FD_CLOEXEC);
	fd[0] = out[0];
	fd[1] = err[0];
	return pid;
}

/* The argv of a case's run: sbx --json OPTIONS -d DIR SCRIPT. */
static char **
case_argv(const struct batch *b, const struct kase *k)
{
	char **v = ecalloc(b->nrun + 6, sizeof(*v));
	size_t i, n = 0;

	v[n++] = self;
	v[n++] = "--json";
	for (i = 0; i + 1 < b->nrun; i++)
		v[n++] = b->run[i];
	v[n++] = "-d";
	v[n++] = (char *)k->dir;
	v[n++] = b->run[b->nrun - 1];
	return v;
}

/* All of fd into buf; -1 if a read failed. */
static int
slurp(int fd, struct jbuf *buf)
{
	char chunk[65536];
	ssize_t r;

	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0)
			jb_put(buf, chunk, (size_t)r);
	}
	return 0;
}

/* argv's exit status, its stdout in out; its stderr ours if err. */
static int
capture(char **argv, struct jbuf *out, int err)
{
	struct jbuf e = { 0 };
	int fd[2], st;
	pid_t pid;

	pid = spawn(argv, NULL, fd);
	slurp(fd[0], out);
	slurp(fd[1], &e);
	close(fd[0]);
	close(fd[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("batch: waitpid:");
	if (err && e.len)
		jb_out(2, e.s, e.len);
	free(e.s);
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
	v[n++] = self;
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
	if (capture(v, &out, 0) != 0) {
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
	if (res == NULL || jl_number(res, "status") == EXIT_FAIL)
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
tag(struct jbuf *out, const char *line, size_t len, const char *name)
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
	jb_escape(out, name, strlen(name));
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
	}
	free(b->k);
	strv_free(b->run);
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

/* A case with no result, counted as o; an error says so unless its
 * run did. */
static void
no_result(struct tally *t, const char *name, enum outcome o, int said)
{
	struct jbuf j;

	t->n[o]++;
	if (o != CASE_ERROR || said)
		return;
	jb_begin(&j, "error");
	jb_str(&j, "case", name);
	jb_str(&j, "message", slurm_dir ? "batch: its Slurm task left no "
	    "result (see the task's stderr above)" : "batch: its run ended "
	    "without a result");
	jb_emit(&j);
}

/* One line of buf up to its newline, as a string; NULL at the end. */
static char *
next_line(const struct jbuf *buf, size_t *at)
{
	const char *p = buf->s + *at, *nl;
	char *line;

	if (buf->s == NULL || *at >= buf->len ||
	    (nl = memchr(p, '\n', buf->len - *at)) == NULL)
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
		msg = smprintf("%s: %s: %s\n", argv0, name,
		    strncmp(line, "sbx: ", 5) == 0 ? line + 5 : line);
		jb_out(2, msg, strlen(msg));
		free(msg);
		free(line);
	}
}

/*
 * A case's lines, out whole and tagged, and its result counted; its
 * stderr after them.
 */
static void
emit_case(const struct kase *k, struct tally *t, int stopped)
{
	struct jbuf out = { 0 };
	size_t at = 0;
	char *line, *res = NULL;
	int said = 0;

	while ((line = next_line(&k->out, &at)) != NULL) {
		tag(&out, line, strlen(line), k->name);
		jb_put(&out, "\n", 1);
		said |= is_event(line, "error");
		if (is_event(line, "result")) {
			free(res);
			res = line;
		} else {
			free(line);
		}
	}
	if (out.len)
		jb_out(1, out.s, out.len);
	free(out.s);
	if (res)
		count(t, res);
	else
		no_result(t, k->name, said || !stopped ? CASE_ERROR :
		    CASE_INTR, said);
	free(res);
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
finish(struct kase *k, struct tally *t, int stopped)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (k->fd[i] < 0)
			continue;
		fcntl(k->fd[i], F_SETFL, O_NONBLOCK);
		while (k->fd[i] >= 0)
			drain(k, i);
	}
	emit_case(k, t, stopped);
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
	    "%ld not ok ", argv0, done, n, running, t->n[CASE_FAILED] +
	    t->n[CASE_TIMEOUT] + t->n[CASE_OOM] + t->n[CASE_TRUNC] + t->n[CASE_ERROR]);
	jb_out(2, buf, strlen(buf));
	if (done == n || opt_signal)
		jb_out(2, "\n", 1);
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
	struct kase **live = ecalloc((size_t)b->jobs, sizeof(*live)), *k;
	size_t next = 0, nlive = 0, done = 0, todo = 0, np, i, j;
	int stopped = 0, st, wait;
	char **v;
	pid_t pid;

	for (i = 0; i < b->n; i++)
		todo += !b->k[i].skip;
	for (;;) {
		if ((opt_signal || jb_failed()) && !stopped) {
			stopped = 1;
			for (i = 0; i < nlive; i++)
				kill(live[i]->pid, SIGTERM);
		}
		for (; !stopped && nlive < (size_t)b->jobs && next < b->n;
		    next++) {
			if ((k = &b->k[next])->skip)
				continue;
			v = case_argv(b, k);
			k->pid = spawn(v, b->input, k->fd);
			free(v);
			live[nlive++] = k;
		}
		if (nlive == 0)
			break;
		/* A run whose pipes are at their end has its exit to come,
		 * soon: look for it often then. */
		for (wait = 250, np = i = 0; i < nlive; i++) {
			for (j = 0; j < 2; j++)
				if (live[i]->fd[j] >= 0) {
					pfd[np].fd = live[i]->fd[j];
					pfd[np++].events = POLLIN;
				}
			if (live[i]->fd[0] < 0 && live[i]->fd[1] < 0)
				wait = 5;
		}
		if (poll(pfd, np, wait) > 0)
			for (i = 0; i < nlive; i++)
				for (j = 0; j < 2; j++)
					if (live[i]->fd[j] >= 0 &&
					    (pfd_ready(pfd, np, live[i]->fd[j])))
						drain(live[i], (int)j);
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			for (i = 0; i < nlive; i++) {
				if (live[i]->pid != pid)
					continue;
				finish(live[i], t, stopped);
				live[i] = live[--nlive];
				progress(++done, todo, nlive, t);
				break;
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
	char name[PATH_MAX], *line;
	size_t at = 0, i;
	int fd;

	if ((fd = open(b->resume, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return;
		die("--resume %s:", b->resume);
	}
	if (slurp(fd, &buf) < 0)
		die("--resume %s:", b->resume);
	if (buf.len && buf.s[buf.len - 1] != '\n' && fstat(fd, &fs) == 0 &&
	    fstat(1, &os) == 0 && fs.st_dev == os.st_dev &&
	    fs.st_ino == os.st_ino)
		jb_out(1, "\n", 1);
	close(fd);
	while ((line = next_line(&buf, &at)) != NULL) {
		if (is_event(line, "result") && outcome(line) != CASE_ERROR &&
		    outcome(line) != CASE_INTR &&
		    *jl_str(line, "case", name, sizeof(name)))
			for (i = 0; i < b->n; i++) {
				if (b->k[i].skip || strcmp(b->k[i].name,
				    name) != 0)
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
 * --slurm: the cases as one job array.  Its directory holds what the
 * tasks read (cases, the run's argv, the chunk, a copy of --input) and
 * what they write (out/TASK.out and .err); every node must see it, so
 * it is made in the current directory, as Slurm's own output files
 * are.  The job's script is run by the kernel itself: its "#!" line
 * names this binary's batch-task, and no shell is involved.
 */

/* scancel: every task's sbx gets SIGTERM, and stops its runs. */
static void
scancel(void)
{
	char *v[] = { "scancel", slurm_job, NULL };
	struct jbuf out = { 0 };

	if (*slurm_job)
		capture(v, &out, 1);
	free(out.s);
}

static void
slurm_cleanup(void)
{
	int saved = errno;

	scancel();
	if (slurm_dir)
		shadow_remove(slurm_dir);
	errno = saved;
}

static void
put_file(const char *dir, const char *name, const char *s, size_t n,
    mode_t mode)
{
	char *path = smprintf("%s/%s", dir, name);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) < 0 || (n && write(fd, s, n) != (ssize_t)n) ||
	    close(fd) < 0)
		die("batch: %s:", path);
	free(path);
}

static void
get_file(const char *path, struct jbuf *buf, int need)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		if (need || errno != ENOENT)
			die("batch: %s:", path);
	} else if (slurp(fd, buf) < 0) {
		die("batch: %s:", path);
	}
	if (fd >= 0)
		close(fd);
}

/* The directory the array's tasks read from and write to. */
static size_t
slurm_dir_make(const struct batch *b, size_t *chunk)
{
	struct jbuf cases = { 0 }, run = { 0 };
	char *path, cwd[PATH_MAX], *abs, num[32];
	size_t i, n = 0, tasks;
	int in, out;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		die("batch: getcwd:");
	path = smprintf("%s/sbx-batch.XXXXXX", cwd);
	if (mkdtemp(path) == NULL)
		die("batch: mkdtemp %s:", path);
	slurm_dir = path;
	atexit(slurm_cleanup);
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
		n++;
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
	*chunk = tasks ? (n + tasks - 1) / tasks : 1;
	tasks = tasks ? (n + *chunk - 1) / *chunk : 0;
	snprintf(num, sizeof(num), "%zu\n", *chunk);
	put_file(path, "cases", cases.s, cases.len, 0644);
	put_file(path, "run", run.s, run.len, 0644);
	put_file(path, "chunk", num, strlen(num), 0644);
	if (b->input) {
		if ((in = open(b->input, O_RDONLY | O_CLOEXEC)) < 0)
			die("--input %s:", b->input);
		abs = smprintf("%s/input", path);
		if ((out = open(abs, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644)) < 0 || copy_fd(in, out) < 0 ||
		    close(out) < 0)
			die("batch: %s:", abs);
		close(in);
		free(abs);
	}
	abs = smprintf("#!%s batch-task\n# sbx batch: the cases and their "
	    "output are in\n# %s\n", self, path);
	put_file(path, "job", abs, strlen(abs), 0755);
	free(abs);
	abs = smprintf("%s/out", path);
	if (mkdir(abs, 0755) < 0)
		die("batch: mkdir %s:", abs);
	free(abs);
	free(cases.s);
	free(run.s);
	return tasks;
}

/*
 * Is the job over?  Every task's done mark is there, or Slurm has no
 * task of it left that is pending or running (one killed before its
 * mark, or never started).
 */
static int
slurm_over(size_t tasks)
{
	struct jbuf out = { 0 };
	char *v[] = { "squeue", "-h", "-o", "%T", "-j", slurm_job, NULL };
	char *mark;
	size_t i, n = 0;
	int st;

	for (i = 0; i < tasks; i++) {
		mark = smprintf("%s/out/%zu.done", slurm_dir, i);
		n += access(mark, F_OK) == 0;
		free(mark);
	}
	if (n == tasks)
		return 1;
	st = capture(v, &out, 0);
	n = out.len;
	free(out.s);
	return st == 0 && n == 0;
}

/* Was any task of the job cancelled?  slurmctld keeps ended jobs for
 * MinJobAge (300 s by default): "-t all" shows them. */
static int
slurm_cancelled(void)
{
	struct jbuf out = { 0 };
	char *v[] = { "squeue", "-h", "-t", "all", "-o", "%T", "-j",
	    slurm_job, NULL };
	int yes;

	capture(v, &out, 0);
	yes = out.s && strstr(out.s, "CANCELLED") != NULL;
	free(out.s);
	return yes;
}

/*
 * sbatch, then a wait on the job that asks little of slurmctld: the
 * done marks first, squeue once a second.  (sbatch --wait polls at up
 * to 10 s.)  A signal to us cancels the job; its tasks still say the
 * results of their runs, and we wait for them.  Returns whether it was
 * cancelled.
 */
static int
slurm_submit(const struct batch *b, size_t tasks)
{
	struct jbuf out = { 0 };
	char **v, **extra = NULL, *arr, *o, *e, *job;
	size_t i, n = 0;
	int cancelled = 0, st;

	if (b->slurm_args)
		extra = strv_split(b->slurm_args, " \t\n");
	v = ecalloc(strv_len(extra) + 12, sizeof(*v));
	v[n++] = "sbatch";
	v[n++] = "--parsable";
	v[n++] = "--job-name=sbx-batch";
	v[n++] = arr = b->jobs_given ? smprintf("--array=0-%zu%%%ld",
	    tasks - 1, b->jobs) : smprintf("--array=0-%zu", tasks - 1);
	v[n++] = o = smprintf("--output=%s/out/%%a.out", slurm_dir);
	v[n++] = e = smprintf("--error=%s/out/%%a.err", slurm_dir);
	/* Before a time limit ends it, each task stops its runs. */
	v[n++] = "--signal=B:TERM@30";
	for (i = 0; extra && extra[i]; i++)
		if (*extra[i])
			v[n++] = extra[i];
	v[n++] = job = smprintf("%s/job", slurm_dir);
	st = capture(v, &out, 1);
	/* --parsable: "ID" or "ID;CLUSTER". */
	if (st != 0 || out.len < 2 || strspn(out.s, "0123456789") == 0)
		die("batch: sbatch did not submit the job (exit %d)", st);
	snprintf(slurm_job, sizeof(slurm_job), "%.*s",
	    (int)strspn(out.s, "0123456789"), out.s);
	for (i = 0; ; i++) {
		if (opt_signal && !cancelled) {
			cancelled = 1;
			scancel();
		}
		if (i % 5 == 4 && slurm_over(tasks))
			break;
		poll(NULL, 0, 200);
	}
	/* Cancelled by us, or by anyone's scancel: its cases that never
	 * started are not run, not failed. */
	cancelled |= slurm_cancelled();
	*slurm_job = '\0';	/* it is over: nothing left to cancel */
	free(out.s);
	free(arr);
	free(o);
	free(e);
	free(job);
	free(v);
	strv_free(extra);
	return cancelled;
}

/*
 * The tasks' lines, in task order, as a local batch writes them: each
 * task's cases are whole and tagged already.  A case no task answered
 * for is an error, or not run if the job was cancelled.
 */
static void
slurm_merge(struct batch *b, size_t tasks, int cancelled, struct tally *t)
{
	struct jbuf buf;
	char name[PATH_MAX], *path, *line, *msg;
	size_t at, i, task;

	for (task = 0; task < tasks; task++) {
		memset(&buf, 0, sizeof(buf));
		path = smprintf("%s/out/%zu.out", slurm_dir, task);
		get_file(path, &buf, 0);
		free(path);
		for (at = 0; (line = next_line(&buf, &at)) != NULL;
		    free(line)) {
			if (*line != '{' || is_event(line, "batch"))
				continue;
			msg = smprintf("%s\n", line);
			jb_out(1, msg, strlen(msg));
			free(msg);
			if ((!is_event(line, "result") && !is_event(line,
			    "error")) || !*jl_str(line, "case", name,
			    sizeof(name)))
				continue;
			for (i = 0; i < b->n; i++)
				if (!b->k[i].skip && b->k[i].done != 1 &&
				    strcmp(b->k[i].name, name) == 0)
					break;
			if (i == b->n)
				continue;
			/* A run's error ends it with no result. */
			b->k[i].done = is_event(line, "result") ? 1 : 2;
			if (b->k[i].done == 1)
				count(t, line);
		}
		free(buf.s);
		memset(&buf, 0, sizeof(buf));
		path = smprintf("%s/out/%zu.err", slurm_dir, task);
		get_file(path, &buf, 0);
		free(path);
		if (buf.len)
			jb_out(2, buf.s, buf.len);
		free(buf.s);
	}
	for (i = 0; i < b->n; i++)
		if (!b->k[i].skip && b->k[i].done != 1)
			no_result(t, b->k[i].name, b->k[i].done == 2 ?
			    CASE_ERROR : cancelled ? CASE_NOTRUN : CASE_ERROR,
			    b->k[i].done == 2);
}

static void
slurm(struct batch *b, struct tally *t)
{
	size_t chunk, tasks;

	if ((tasks = slurm_dir_make(b, &chunk)) == 0)
		return;
	slurm_merge(b, tasks, slurm_submit(b, tasks), t);
}

/* sbx batch [-j jobs] [--input file] [--resume file] [--slurm
 * [--slurm-args args]] [run options] script dir ... */
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

/*
 * sbx batch-task SCRIPT: one task of the array, as the job's "#!" line
 * runs it.  Its cases are the SLURM_ARRAY_TASK_ID'th chunk of the
 * directory the script names; it runs them one at a time, a local batch
 * whose lines Slurm writes to out/TASK.out.
 */
int
cmd_batch_task(int argc, char *argv[])
{
	struct jbuf job = { 0 }, cases = { 0 }, run = { 0 }, chunk = { 0 };
	struct batch b;
	struct tally t;
	const char *id = getenv("SLURM_ARRAY_TASK_ID"), *p, *dir;
	char *input, *nl, *path, *mark;
	size_t per, first, i, at;

	if (argc != 2 || id == NULL || strspn(id, "0123456789") != strlen(id))
		die("batch-task: for the job that sbx batch --slurm submits");
	find_self();
	memset(&b, 0, sizeof(b));
	memset(&t, 0, sizeof(t));
	get_file(argv[1], &job, 1);
	/* Its third line: "# DIR". */
	for (p = job.s, i = 0; p && i < 2 && (p = strchr(p, '\n')); i++)
		p++;
	if (p == NULL || strncmp(p, "# /", 3) != 0 ||
	    (nl = strchr(p, '\n')) == NULL)
		die("batch-task: %s: not sbx batch's job", argv[1]);
	*nl = '\0';
	dir = p + 2;
	path = smprintf("%s/chunk", dir);
	get_file(path, &chunk, 1);
	free(path);
	path = smprintf("%s/cases", dir);
	get_file(path, &cases, 1);
	free(path);
	path = smprintf("%s/run", dir);
	get_file(path, &run, 1);
	free(path);
	per = strtoul(chunk.s, NULL, 10);
	first = strtoul(id, NULL, 10) * per;
	for (at = 0; at < run.len; at += strlen(run.s + at) + 1)
		run_arg(&b, run.s + at);
	for (at = 0, i = 0; at < cases.len; i++) {
		p = cases.s + at;
		at += strlen(p) + 1;
		if (i >= first && i < first + per) {
			add_case(&b, p);
			b.k[b.n - 1].dir = estrdup(cases.s + at);
		}
		at += strlen(cases.s + at) + 1;
	}
	input = smprintf("%s/input", dir);
	b.input = access(input, F_OK) == 0 ? input : NULL;
	b.jobs = 1;
	if (b.nrun == 0)
		die("batch-task: %s/run: empty", dir);
	run_cases(&b, &t);
	/* Our lines are in out/TASK.out; this says they are all there. */
	path = smprintf("%s/out", dir);
	mark = smprintf("%s.done", id);
	put_file(path, mark, "", 0, 0644);
	free(path);
	free(mark);
	batch_free(&b);
	free(input);
	free(job.s);
	free(cases.s);
	free(run.s);
	free(chunk.s);
	return 0;
}
