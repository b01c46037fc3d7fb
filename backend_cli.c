/* See LICENSE file for copyright and license details. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"

#define GRACE 10	/* seconds a stopped client gets to exit */
#define INIT_GRACE 2	/* seconds a run's init gives sbx to stop it */
#define INIT_SAYS "sbx-supervise: "	/* how its own errors begin */

/* Set by the handlers, acted on by the wait loop, and nothing more. */
static volatile sig_atomic_t got_alarm;
static volatile sig_atomic_t got_signal;

static void
on_alarm(int sig)
{
	(void)sig;
	got_alarm = 1;
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Without SA_RESTART, so that poll and waitpid return EINTR. */
void
backend_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	for (i = 0; i < LEN(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	/* A closed stdout shows up as a write error, not our death
	 * with the container still running. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int
sbx_signalled(void)
{
	return got_signal;
}

char *
runtime_find(const char *name)
{
	const char *path = getenv("PATH"), *p, *e;
	struct stat st;
	char *f;

	if (strchr(name, '/'))
		return access(name, X_OK) == 0 ? estrdup(name) : NULL;
	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = e + 1) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		/* Relative entries, empty ones included, are the current
		 * directory's say: not trusted to name the runtime. */
		if (*p == '/') {
			f = smprintf("%.*s/%s", (int)(e - p), p, name);
			if (stat(f, &st) == 0 && S_ISREG(st.st_mode) &&
			    access(f, X_OK) == 0)
				return f;
			free(f);
		}
		if (*e == '\0')
			return NULL;
	}
}

const char *
runtime_auto(void)
{
	static const char *names[] = { "podman", "docker" };
	size_t i;
	char *p;

	for (i = 0; i < LEN(names); i++)
		if ((p = runtime_find(names[i])) != NULL) {
			free(p);
			return names[i];
		}
	return NULL;
}

/* A growing argv that owns its strings. */
struct args {
	char **v;
	size_t n, cap;
};

static void
add(struct args *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = vsmprintf(fmt, ap);
	va_end(ap);
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = erealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static int
is_podman(const struct job *jb)
{
	return strcmp(jb->runtime, "podman") == 0;
}

/*
 * The docker CLI copies the "proxies" of ~/.docker/config.json, with
 * any credentials in them, into every container; "--env=NAME" with no
 * value stops that, and with NAME unset in the client's environment the
 * container gets none.  podman's --http-proxy=false does the same.
 */
static const char *proxy_vars[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
	"FTP_PROXY", "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY",
	"all_proxy"
};

static void
add_limits(struct args *a, const struct policy *p)
{
	add(a, "--memory=%lld", p->memory);
	add(a, "--memory-swap=%lld", p->memory);	/* no swap */
	add(a, "--cpus=%ld.%03ld", p->cpus / 1000, p->cpus % 1000);
	add(a, "--pids-limit=%ld", p->pids);
	add(a, "--ulimit=nofile=%ld:%ld", p->nofile, p->nofile);
	add(a, "--ulimit=nproc=%ld:%ld", p->nproc, p->nproc);
	/* SIGXCPU at the limit, SIGKILL a second later if ignored. */
	if (p->cpu_time > 0)
		add(a, "--ulimit=cpu=%ld:%ld", p->cpu_time, p->cpu_time + 1);
	if (p->fsize > 0)
		add(a, "--ulimit=fsize=%lld:%lld", p->fsize, p->fsize);
}

static void
add_isolation(struct args *a, const struct job *jb)
{
	const struct policy *p = &jb->pol;

	if (!p->network)	/* on: the runtime's own default network */
		add(a, "--network=none");
	if (p->read_only) {
		add(a, "--read-only");
		if (is_podman(jb))	/* only our sized /tmp, as docker */
			add(a, "--read-only-tmpfs=false");
	}
	/* exec on both runtimes (docker's default is noexec, podman's
	 * exec): an interpreter runs what it likes anyway, and a compiled
	 * program needs a place to run from. */
	add(a, "--tmpfs=/tmp:rw,exec,nosuid,nodev,size=%lld,mode=1777",
	    p->tmpfs);
	add(a, "--shm-size=%lld", p->tmpfs);
	add(a, "--cap-drop=ALL");
	add(a, "--security-opt=no-new-privileges");
	/* A uid alone would run with group 0: always name the group. */
	add(a, "--user=%ld:%ld", (long)jb->uid, (long)jb->gid);
	add(a, "--hostname=sbx");
	if (p->oci_runtime)
		add(a, "--runtime=%s", p->oci_runtime);
}

static void
add_mounts(struct args *a, const struct job *jb)
{
	const struct policy *p = &jb->pol;

	/* none: an empty directory of the container user's own.  Not a
	 * tmpfs: runc gives one the mode of the image's /workspace, which
	 * the user cannot write. */
	add(a, "--mount=type=bind,source=%s,target=/workspace%s",
	    jb->workdir, p->workspace == WS_RO ? ",ro" : "");
	add(a, "--mount=type=bind,source=%s,target=/sbx,ro", jb->scriptdir);
	if (!jb->session)	/* a session's is in /sbx, a copy */
		add(a, "--mount=type=bind,source=%s,target=/sbx/init,ro",
		    supervisor());
	add(a, "--mount=type=bind,source=%s,target=/sbx/out", jb->outdir);
	if (jb->session)
		add(a, "--mount=type=bind,source=%s,target=/sbx/ctl",
		    jb->ctldir);
	add(a, "--env=SBX_RESULT=/sbx/out/result.json");
	add(a, "--workdir=/workspace");
}

/* python3 /sbx/sbx_guard.py TEMPLATE a,b,c SCRIPT ARGS... */
static void
add_guard(struct args *a, const struct job *jb)
{
	char *list = estrdup(""), *n;
	size_t i;

	for (i = 0; jb->pol.imports[i]; i++) {
		n = smprintf("%s%s%s", list, i ? "," : "", jb->pol.imports[i]);
		free(list);
		list = n;
	}
	add(a, "/sbx/sbx_guard.py");
	add(a, "%s", jb->pol.name);
	add(a, "%s", list);
	free(list);
}

/*
 * The whole container command line.  Every value is its own argv
 * element or joined to its flag with "=", so nothing a user controls
 * can turn into an option; there is no shell anywhere.
 */
char **
backend_argv(const struct job *jb)
{
	struct args a = { NULL, 0, 0 };
	size_t i;

	add(&a, "%s", jb->runtime);
	add(&a, "run");
	if (jb->session)	/* the supervisor runs on, sbx exits */
		add(&a, "--detach");
	/* docker forgets OOMKilled with the container: remove it
	 * ourselves after asking. */
	if (is_podman(jb) || jb->session)
		add(&a, "--rm");
	add(&a, "--pull=never");
	if (!jb->session)
		add(&a, "--interactive");
	add(&a, "--log-driver=none");
	/* podman hands the host's proxy variables, credentials and all,
	 * to the container unless told not to; docker its config's. */
	if (is_podman(jb))
		add(&a, "--http-proxy=false");
	else
		for (i = 0; i < LEN(proxy_vars); i++)
			add(&a, "--env=%s", proxy_vars[i]);
	add(&a, "--name=%s", jb->name);
	add(&a, "--label=sbx=%s", VERSION);
	add(&a, "--label=sbx.owner=%s", owner_self());
	add(&a, "--label=sbx.deadline=%lld", (long long)time(NULL) +
	    (jb->session ? jb->pol.max_lifetime : jb->pol.timeout) + GRACE);
	add(&a, "--label=sbx.template=%s", jb->pol.name);
	/* What ties the container to its run for gc: see ours(). */
	add(&a, "--label=sbx.run=%s", jb->rundir);
	if (jb->session)
		add(&a, "--label=sbx.session=%s", jb->session);
	add_isolation(&a, jb);
	add_limits(&a, &jb->pol);
	add_mounts(&a, jb);
	if (jb->session) {
		/* The supervisor is PID 1: no --init, and it takes the
		 * steps; see supervise.c. */
		add(&a, "--entrypoint=/sbx/supervise");
		add(&a, "%s", jb->image);
		add(&a, "%ld", jb->pol.idle_timeout);
		add(&a, "%ld", jb->pol.max_lifetime);
		return a.v;
	}
	/* pid 1 is sbx-supervise as a run's init (see init_main() in
	 * supervise.c): tini's part, and the end of the run INIT_GRACE
	 * after its timeout, even if sbx is killed. */
	add(&a, "--entrypoint=/sbx/init");
	add(&a, "%s", jb->image);
	add(&a, "-t");
	add(&a, "%ld", jb->pol.timeout + INIT_GRACE);
	add(&a, "--");
	for (i = 0; jb->lang->command[i]; i++)
		add(&a, "%s", jb->lang->command[i]);
	if (jb->guard)
		add_guard(&a, jb);
	add(&a, "%s", jb->script_ctr);
	for (i = 0; jb->args[i]; i++)
		add(&a, "%s", jb->args[i]);
	return a.v;
}

/*
 * Starts "runtime args..." with no input and stderr discarded; its
 * output goes to a pipe returned in *out, or to /dev/null.
 */
static pid_t
vstart(const struct job *jb, int *out, va_list ap)
{
	char *argv[16];
	size_t i = 0;
	int fd[2] = { -1, -1 }, null;
	pid_t pid;

	argv[i++] = (char *)jb->runtime;
	while (i < LEN(argv) - 1 && (argv[i] = va_arg(ap, char *)) != NULL)
		i++;
	argv[i] = NULL;
	if (out && pipe(fd) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(out ? fd[1] : null, 1);
		dup2(null, 2);
		signal(SIGPIPE, SIG_DFL);
		execv(jb->runtime_path, argv);
		_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANNOT);
	}
	if (out) {
		close(fd[1]);
		*out = fd[0];
		if (pid < 0)
			close(fd[0]);
	}
	return pid;
}

static pid_t
start_quiet(const struct job *jb, int *out, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, out);
	pid = vstart(jb, out, ap);
	va_end(ap);
	return pid;
}

static int
reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a runtime command to its end; its first output line to out. */
static int
run_quiet(const struct job *jb, char *out, size_t outsz, ...)
{
	va_list ap;
	size_t i;
	ssize_t n;
	int fd;
	pid_t pid;

	va_start(ap, outsz);
	pid = vstart(jb, out ? &fd : NULL, ap);
	va_end(ap);
	if (pid < 0)
		return -1;
	if (out) {
		for (i = 0; i < outsz - 1; i += (size_t)n)
			if ((n = read(fd, out + i, outsz - 1 - i)) <= 0)
				break;
		out[i] = '\0';
		out[strcspn(out, "\n")] = '\0';
		close(fd);
	}
	return reap(pid);
}

/*
 * Kills the container by name: killing the client would leave it.  Not
 * waited for here: docker's kill waits until the container's output is
 * delivered, and only our wait loop reads it.
 */
static pid_t
kill_container(const struct job *jb)
{
	return start_quiet(jb, NULL, "kill", jb->name, (char *)NULL);
}

/*
 * docker's own API on its local socket, for what every docker run
 * pays, the removal and the OOM question: starting the CLI costs more
 * than the rest of sbx.  Only when DOCKER_HOST names no other daemon and
 * no context is chosen.  Returns the HTTP status, 0 if there was none,
 * with the response (headers and body) in buf.  Callers take only a
 * clean answer and otherwise ask the CLI, so a context that points
 * elsewhere still gets its container removed.
 */
static int
docker_api(const char *method, const char *name, const char *what,
    char *buf, size_t size)
{
	const char *host = getenv("DOCKER_HOST"), *path = "/var/run/docker.sock";
	struct sockaddr_un sa;
	char req[256];
	size_t len = 0;
	ssize_t n;
	int fd, code = 0;

	if (getenv("DOCKER_CONTEXT") != NULL)
		return 0;
	if (host != NULL && *host != '\0') {
		if (strncmp(host, "unix://", 7) != 0)
			return 0;
		path = host + 7;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0)
		return 0;
	strcpy(sa.sun_path, path);
	snprintf(req, sizeof(req), "%s /containers/%s%s HTTP/1.0\r\n"
	    "Host: docker\r\n\r\n", method, name, what);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
		/* HTTP/1.0: the daemon closes when it is done. */
		while (len < size - 1 &&
		    (n = read(fd, buf + len, size - 1 - len)) > 0)
			len += (size_t)n;
		buf[len] = '\0';
		sscanf(buf, "HTTP/%*s %d", &code);
	}
	close(fd);
	return code;
}

int
backend_remove(const struct job *jb)
{
	char buf[256];

	if (is_podman(jb))
		return run_quiet(jb, NULL, 0, "rm", "--force", "--time=0",
		    jb->name, (char *)NULL) == 0 ? 0 : -1;
	if (docker_api("DELETE", jb->name, "?force=1", buf, sizeof(buf)) ==
	    204)
		return 0;
	/* Not that daemon's, maybe: a context may name another. */
	return run_quiet(jb, NULL, 0, "rm", "--force", jb->name,
	    (char *)NULL) == 0 ? 0 : -1;
}

/*
 * For cleanup after a fatal error: whatever state it is in, end it.
 * -1 if it may still be there.
 */
int
backend_stop(struct job *jb)
{
	if (!jb->started)
		return 0;
	/* Nobody reads the client's output now: end it first, so that
	 * docker is not left waiting to deliver it. */
	if (jb->client > 0 && kill(jb->client, SIGKILL) == 0)
		reap(jb->client);
	jb->started = 0;
	return backend_remove(jb);
}

/*
 * One of the script's output streams, relayed as JSON events.  Bytes
 * are held until the stream has been quiet for LINGER seconds (or for
 * at most MAXHOLD, or half a buffer), so that a burst of small writes,
 * python -u printing a traceback, becomes one event, not forty.
 */
#define LINGER 0.02
#define MAXHOLD 0.1

struct stream {
	int fd;
	const char *event;
	char buf[65536 + 4];
	size_t held;		/* bytes not yet emitted */
	double first, last;	/* when the held bytes began, and ended */
	char tail[512];		/* the stream's last bytes, for errors */
	size_t tlen;
	unsigned long long *count;
	struct result *r;	/* the other stream's count, truncated */
};

static void
emit(const struct job *jb, const struct stream *s, size_t n)
{
	struct jbuf j;

	if (n == 0)
		return;
	jb_begin(&j, s->event);
	jb_fixed(&j, "t", (long long)(((s->held ? s->first : now()) -
	    jb->t0) * 1000), 3);
	jb_mem(&j, "data", s->buf, n);
	jb_emit(&j);
}

/* Emits what is held, less a cut UTF-8 character unless at the end. */
static void
flush(const struct job *jb, struct stream *s, int end)
{
	size_t keep = end ? 0 : utf8_tail(s->buf, s->held);

	emit(jb, s, s->held - keep);
	memmove(s->buf, s->buf + s->held - keep, keep);
	s->held = keep;
}

static void
keep_tail(struct stream *s, const char *p, size_t n)
{
	size_t room = sizeof(s->tail) - s->tlen;

	if (n >= sizeof(s->tail)) {
		memcpy(s->tail, p + n - sizeof(s->tail), sizeof(s->tail));
		s->tlen = sizeof(s->tail);
		return;
	}
	if (n > room) {
		memmove(s->tail, s->tail + (n - room), s->tlen - (n - room));
		s->tlen -= n - room;
	}
	memcpy(s->tail + s->tlen, p, n);
	s->tlen += n;
}

/* Reads what is there: 1 if it read, -1 if nothing yet, 0 at the end. */
static int
relay(const struct job *jb, struct stream *s)
{
	unsigned long long room;
	ssize_t n;
	size_t total;

	n = read(s->fd, s->buf + s->held, sizeof(s->buf) - 4 - s->held);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return -1;
	if (n <= 0) {
		flush(jb, s, 1);	/* a cut character, now invalid */
		return 0;
	}
	if (s->r->truncated)	/* read on so the client never blocks */
		return 1;
	keep_tail(s, s->buf + s->held, (size_t)n);
	room = (unsigned long long)jb->pol.max_output - s->r->out_bytes -
	    s->r->err_bytes;
	*s->count += (unsigned long long)n;
	if (s->held == 0)
		s->first = now();
	s->last = now();
	if ((unsigned long long)n > room) {
		/* The cap: keep what fits, cut at a character. */
		total = s->held + (size_t)room;
		s->held = total - utf8_tail(s->buf, total);
		flush(jb, s, 1);
		s->r->truncated = 1;
		return 1;
	}
	s->held += (size_t)n;
	if (s->held >= sizeof(s->buf) / 2)
		flush(jb, s, 0);
	return 1;
}

/*
 * Emits the held bytes whose time has come; returns how long poll may
 * wait, in milliseconds, before the next are due.
 */
static int
linger(const struct job *jb, struct stream *s, size_t ns)
{
	double t = now(), due, wait = 0.25;
	size_t i;

	for (i = 0; i < ns; i++) {
		if (s[i].held == 0)
			continue;
		due = s[i].last + LINGER < s[i].first + MAXHOLD ?
		    s[i].last + LINGER : s[i].first + MAXHOLD;
		if (due <= t)
			flush(jb, &s[i], 0);
		else if (due - t < wait)
			wait = due - t;
	}
	return (int)(wait * 1000) + 1;
}

/*
 * The runtime's message in what a stream wrote last, for an error: the
 * last line that says "Error" (docker adds a line of advice after it),
 * or else the last line.  "" if none.
 */
static const char *
last_line(const struct stream *s)
{
	static char line[sizeof(s->tail) + 1];
	char all[sizeof(s->tail) + 1], *p, *best = NULL, *next;

	memcpy(all, s->tail, s->tlen);
	all[s->tlen] = '\0';
	for (p = all; *p; p = next) {
		next = p + strcspn(p, "\r\n");
		if (*next)
			*next++ = '\0';
		if (*p && (best == NULL || strstr(best, "Error") == NULL ||
		    strstr(p, "Error") != NULL))
			best = p;
	}
	snprintf(line, sizeof(line), "%s", best ? best : "");
	return line;
}

static void
child(const struct job *jb, char **argv, int out, int err)
{
	size_t i;

	signal(SIGPIPE, SIG_DFL);
	if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(EXIT_CANNOT);
	/* conmon leaves its "oom" marker in podman's working
	 * directory: make that our private rundir. */
	if (chdir(jb->rundir) < 0)
		_exit(EXIT_CANNOT);
	/* What "--env=NAME" would pass on is not the container's. */
	if (!is_podman(jb))
		for (i = 0; i < LEN(proxy_vars); i++)
			unsetenv(proxy_vars[i]);
	execv(jb->runtime_path, argv);
	_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANNOT);
}

static pid_t
spawn(struct job *jb, char **argv, struct stream *s)
{
	int out[2], err[2], i;
	pid_t pid;

	if (pipe(out) < 0 || pipe(err) < 0)
		die("pipe:");
	/* Only the child's 1 and 2, made by dup2, stay open in it: a
	 * client holding its own pipes would never see them close. */
	for (i = 0; i < 2; i++) {
		fcntl(out[i], F_SETFD, FD_CLOEXEC);
		fcntl(err[i], F_SETFD, FD_CLOEXEC);
	}
	jb->started = 1;
	if ((pid = fork()) < 0)
		die("fork:");
	if (pid == 0)
		child(jb, argv, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	s[0].fd = out[0];
	s[1].fd = err[0];
	return pid;
}

/* After the client is gone: take what is buffered, stop listening. */
static void
drain(const struct job *jb, struct stream *s, struct pollfd *pfd)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (pfd[i].fd < 0)
			continue;
		fcntl(s[i].fd, F_SETFL, O_NONBLOCK);
		while (relay(jb, &s[i]) > 0)
			;
		flush(jb, &s[i], 1);
		close(s[i].fd);
		pfd[i].fd = -1;
	}
}

struct stopper {
	int step;		/* seconds since the stop began */
	pid_t killer;		/* the runtime's kill command, or -1 */
};

/*
 * One step of stopping, once a second: the kill is repeated because a
 * container still being created cannot be killed yet.  A client that
 * outlives the grace period is killed; cleanup then removes by name.
 */
static void
stop_step(const struct job *jb, struct stopper *st)
{
	if (st->killer > 0 && waitpid(st->killer, NULL, WNOHANG) == 0)
		;	/* the last kill is still at work */
	else if (st->step < GRACE)
		st->killer = kill_container(jb);
	if (st->step++ >= GRACE)
		kill(jb->client, SIGKILL);
	alarm(1);
}

/* The run or step being relayed, for a stop that cannot wait. */
static struct {
	struct job *jb;
	struct result *r;
	const struct step *sp;	/* a session's step, or NULL */
	int stopping;
	pid_t killer;		/* the kill it started, to reap */
} opt_run;

static void step_kill(const struct step *sp);

/*
 * The timeout or a signal came while an event waits for a reader who
 * does not read: the stop cannot wait for the loop.  The container is
 * killed now, and its client too, which docker's kill would otherwise
 * wait on, its output pipe full; the loop finishes once the reader
 * reads again or goes.
 */
static void
stop_blocked(void)
{
	if (opt_run.jb == NULL || opt_run.stopping ||
	    !(got_alarm || got_signal))
		return;
	opt_run.r->interrupted = got_signal;
	opt_run.stopping = 1;
	if (opt_run.sp) {	/* its supervisor kills it, and reports */
		got_alarm = 0;
		step_kill(opt_run.sp);
		alarm(GRACE);
		return;
	}
	opt_run.r->timed_out = got_alarm;
	got_alarm = 1;		/* the loop's stop steps follow */
	opt_run.killer = kill_container(opt_run.jb);
	if (opt_run.jb->client > 0)
		kill(opt_run.jb->client, SIGKILL);
}

/* From here on, the event writer may start the stop itself. */
static void
watch(struct job *jb, struct result *r, const struct step *sp)
{
	opt_run.jb = jb;
	opt_run.r = r;
	opt_run.sp = sp;
	opt_run.stopping = 0;
	opt_run.killer = -1;
	jb_blocked = stop_blocked;
}

/*
 * Relays output until the client exits, stopping the container when
 * the timeout or a signal says so.  Returns the client's wait status.
 */
static int
wait_loop(struct job *jb, struct stream *s, struct result *r)
{
	struct stopper st = { 0, -1 };
	struct pollfd pfd[2];
	int i, ws = 0, reaped = 0, nopen = 2;
	pid_t w;

	for (i = 0; i < 2; i++) {
		pfd[i].fd = s[i].fd;
		pfd[i].events = POLLIN;
	}
	watch(jb, r, NULL);
	while (!reaped) {
		if ((got_alarm || got_signal || r->truncated ||
		    jb_failed()) && !opt_run.stopping) {
			r->timed_out = got_alarm;
			r->interrupted = got_signal;
			opt_run.stopping = got_alarm = 1;
		}
		if (got_alarm) {
			got_alarm = 0;
			stop_step(jb, &st);
		}
		if (nopen > 0 && poll(pfd, 2, linger(jb, s, 2)) > 0) {
			for (i = 0; i < 2; i++)
				if (pfd[i].fd >= 0 && pfd[i].revents &&
				    relay(jb, &s[i]) == 0) {
					close(pfd[i].fd);
					pfd[i].fd = -1;
					nopen--;
				}
		}
		w = waitpid(jb->client, &ws, nopen > 0 ? WNOHANG : 0);
		if (w == jb->client)
			reaped = 1;
		else if (w < 0 && errno != EINTR)
			die("waitpid:");
	}
	jb->client = 0;
	alarm(0);
	jb_blocked = NULL;	/* the client is gone: nothing to stop */
	opt_run.jb = NULL;
	drain(jb, s, pfd);
	if (st.killer > 0)
		reap(st.killer);
	if (opt_run.killer > 0)
		reap(opt_run.killer);
	return ws;
}

char *
backend_image_id(const struct job *jb)
{
	char out[256];

	if (run_quiet(jb, out, sizeof(out), "image", "inspect",
	    "--format={{.Id}}", jb->image, (char *)NULL) != 0)
		return NULL;
	return estrdup(out);
}

/*
 * Whether the container named name, labelled sbx.run=dir, is one sbx
 * made: dir is a directory of ours whose file "container" names it.
 * Only sbx writes there, so a label copied or made up proves nothing.
 */
static int
ours(const char *dir, const char *name)
{
	const char *base = strrchr(dir, '/');
	char buf[64];
	struct stat st;

	/* A run's or a session's directory, as make_rundir and
	 * session_start make them: private and ours. */
	return *dir == '/' && (strncmp(base + 1, "sbx.", 4) == 0 ||
	    strncmp(base + 1, "sbx-session.", 12) == 0) &&
	    read_mark(dir, "container", buf, sizeof(buf), &st) > 0 &&
	    st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
	    strcmp(buf, name) == 0;
}

/*
 * sbx gc: removes the containers sbx made (label sbx, name sbx-..., and
 * ours()) whose sbx is gone or whose deadline has passed.  Returns -1 if
 * the runtime could not list them.
 */
int
backend_gc(struct job *jb)
{
	static char buf[1 << 20];
	char *line, *next, *f[5];
	long long deadline;
	size_t len = 0, i;
	ssize_t n;
	int fd, st, alive;
	pid_t ps;

	/* "|" apart: a label that is not there prints as nothing (or,
	 * podman's, as "<no value>"), which white space would lose. */
	ps = start_quiet(jb, &fd, "ps", "--all", "--filter=label=sbx",
	    is_podman(jb) ? "--format={{.Names}}|"
	    "{{index .Labels \"sbx.deadline\"}}|"
	    "{{index .Labels \"sbx.owner\"}}|"
	    "{{index .Labels \"sbx.session\"}}|"
	    "{{index .Labels \"sbx.run\"}}" : "--format={{.Names}}|"
	    "{{.Label \"sbx.deadline\"}}|{{.Label \"sbx.owner\"}}|"
	    "{{.Label \"sbx.session\"}}|{{.Label \"sbx.run\"}}",
	    (char *)NULL);
	if (ps < 0)
		return -1;
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	if ((st = reap(ps)) != 0)
		return -1;
	for (line = buf; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		for (i = 0, f[0] = line; i < 4 && f[i]; i++)
			if ((f[i + 1] = strchr(f[i], '|')) != NULL)
				*f[i + 1]++ = '\0';
		if (i < 4 || f[4] == NULL || strncmp(f[0], "sbx-", 4) != 0 ||
		    strlen(f[0]) >= sizeof(jb->name) ||
		    sscanf(f[1], "%lld", &deadline) != 1 || !ours(f[4], f[0]))
			continue;
		/* A session outlives the sbx that started it; an owner
		 * that cannot be judged (another pid namespace) may still
		 * be running: for both, only the deadline counts. */
		alive = *f[3] && strcmp(f[3], "<no value>") != 0 ? 1 :
		    owner_alive(f[2]);
		if (alive != 0 && deadline > (long long)time(NULL))
			continue;
		snprintf(jb->name, sizeof(jb->name), "%s", f[0]);
		if (backend_remove(jb) == 0)
			event_gc("container", jb->runtime, f[0], alive != 0 ?
			    "deadline passed" : "owner gone");
		else
			warn("%s: cannot remove container %s", jb->runtime,
			    f[0]);
	}
	return 0;
}

/* What a runtime's status 125 meant, asked only after it happened. */
static const char *
diagnose(const struct job *jb)
{
	static char msg[512];
	char out[256];

	if (!is_podman(jb) && run_quiet(jb, out, sizeof(out), "version",
	    "--format={{.Server.Version}}", (char *)NULL) != 0) {
		return "docker: cannot reach the docker daemon "
		    "(is dockerd running?)";
	}
	if (run_quiet(jb, NULL, 0, "image", "inspect", "--format={{.Id}}",
	    jb->image, (char *)NULL) != 0) {
		snprintf(msg, sizeof(msg), "%s: image '%s' not found; sbx "
		    "never pulls: pull, load or build it first (sbx -L "
		    "lists the image of each language)", jb->runtime,
		    jb->image);
		return msg;
	}
	return NULL;	/* the script's own exit 125, as far as we can tell */
}

static int
oom_killed(const struct job *jb)
{
	static char buf[1 << 18];
	char out[64], *marker;
	struct stat st;
	int r;

	if (is_podman(jb)) {
		marker = smprintf("%s/oom", jb->rundir);
		r = lstat(marker, &st) == 0;
		free(marker);
		return r;
	}
	/* The daemon's JSON: OOMKilled is one of its booleans, and a
	 * string the script chose cannot hold an unescaped quote. */
	if (docker_api("GET", jb->name, "/json", buf, sizeof(buf)) == 200 &&
	    strchr(buf, '\0') < buf + sizeof(buf) - 1)
		return strstr(buf, "\"OOMKilled\":true") != NULL;
	return run_quiet(jb, out, sizeof(out), "inspect",
	    "--format={{.State.OOMKilled}}", jb->name, (char *)NULL) == 0 &&
	    strcmp(out, "true") == 0;
}

/*
 * Did the container start?  Asked only when the client's status could be
 * its own failure as well as the script's (125 to 127): podman keeps an
 * event log, and docker the container, which sbx removes itself.
 */
static int
started(const struct job *jb, time_t since)
{
	static char buf[1 << 18];
	char out[64], *when, *who;
	int r;

	if (is_podman(jb)) {
		when = smprintf("--since=%lld", (long long)since - 1);
		who = smprintf("--filter=container=%s", jb->name);
		/* No event log to ask (events_logger = none): as before,
		 * the status is the script's. */
		r = run_quiet(jb, out, sizeof(out), "events", "--stream=false",
		    when, who, "--filter=event=start", "--format={{.Status}}",
		    (char *)NULL);
		free(when);
		free(who);
		return r != 0 || strcmp(out, "start") == 0;
	}
	switch (docker_api("GET", jb->name, "/json", buf, sizeof(buf))) {
	case 404:
		return 0;
	case 200:
		return strstr(buf, "\"StartedAt\":\"0001-01-01T00:00:00Z\"") ==
		    NULL;
	}
	return run_quiet(jb, out, sizeof(out), "inspect",
	    "--format={{.State.StartedAt}}", jb->name, (char *)NULL) == 0 &&
	    strncmp(out, "0001-", 5) != 0;
}

/*
 * Why the container never ran: what diagnose() can name, or else the
 * runtime's own last words, which are all its stderr can hold then.
 */
static const char *
never_ran(const struct job *jb, const char *said)
{
	static char msg[1024];
	const char *why;

	if ((why = diagnose(jb)) != NULL)
		return why;
	snprintf(msg, sizeof(msg), "%s: the container did not start%s%s",
	    jb->runtime, *said ? ": " : "", said);
	return msg;
}

/*
 * Turns the client's wait status into the result.  With --init, a
 * script killed by signal n shows as status 128+n, as in a shell.
 */
static void
decode(struct job *jb, int ws, struct result *r, struct stream *err,
    time_t since)
{
	static char msg[512];
	int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;

	r->exit_code = -1;
	/* Stopped by us: what the client says is only our kill. */
	if (r->timed_out || r->interrupted) {
		r->status = r->timed_out ? EXIT_TIMEOUT : 128 + r->interrupted;
		r->oom_killed = oom_killed(jb);
		return;
	}
	if (r->truncated) {	/* we killed it: status as a shell says */
		r->signal = SIGKILL;
		r->exit_code = r->status = 128 + SIGKILL;
		return;
	}
	if (code < 0) {
		r->error = "the runtime client was killed";
		r->status = EXIT_FAIL;
		return;
	}
	if (code >= EXIT_FAIL && code <= EXIT_NOTFOUND &&
	    !started(jb, since)) {
		r->error = never_ran(jb, last_line(err));
		r->status = EXIT_FAIL;
		return;
	}
	/* The init's own failure (see supervise.c): the script never ran.
	 * A script that prints the same only spoils its own result. */
	if (code == EXIT_FAIL && strncmp(last_line(err), INIT_SAYS,
	    strlen(INIT_SAYS)) == 0) {
		snprintf(msg, sizeof(msg), "the container's init could not "
		    "start the script: %s", last_line(err) + strlen(INIT_SAYS));
		r->error = msg;
		r->status = EXIT_FAIL;
		return;
	}
	r->exit_code = code;
	r->status = code;
	if (code > 128 && code < 128 + 65)
		r->signal = code - 128;
	r->cpu_exceeded = r->signal == SIGXCPU;
	r->oom_killed = oom_killed(jb);
}

/*
 * sbx start: runs the session's "run --detach" to its end.  Its output
 * is the container's id, not ours to print; its errors go to stderr.
 */
int
backend_detach(struct job *jb, char **argv)
{
	const char *why;
	int null, code;
	pid_t pid;

	jb->started = 1;
	if ((pid = fork()) < 0)
		die("fork:");
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		child(jb, argv, 1, 2);
	}
	if ((code = reap(pid)) == EXIT_FAIL && (why = diagnose(jb)) != NULL)
		die("%s", why);
	return code;
}

/* A step's status line from the supervisor, if it carries our nonce. */
static int
step_status(const struct step *sp, char *line, struct result *r)
{
	char nonce[40], what[16];
	long v, ms;
	int oom = 0;

	if (sscanf(line, "%39s %15s %ld %ld %d", nonce, what, &v, &ms,
	    &oom) < 4 || strcmp(nonce, sp->nonce) != 0)
		return 0;	/* stale, or written by the step itself */
	r->exit_code = -1;
	r->oom_killed = oom == 1;
	if (strcmp(what, "exit") == 0 && v >= 0 && v < 256) {
		r->exit_code = (int)v;
		r->status = (int)v;
	} else if (strcmp(what, "signal") == 0 && v > 0 && v < 65) {
		/* As a run's --init reports it, and a shell. */
		r->signal = (int)v;
		r->exit_code = 128 + (int)v;
		r->status = 128 + (int)v;
		r->cpu_exceeded = v == SIGXCPU;
	} else if (strcmp(what, "timeout") == 0) {
		r->timed_out = 1;
		r->status = EXIT_TIMEOUT;
	} else if (strcmp(what, "lifetime") == 0) {
		r->timed_out = 1;
		r->status = EXIT_TIMEOUT;
		r->error = "the session reached its max_lifetime and ended";
	} else if (strcmp(what, "killed") == 0) {
		r->status = r->interrupted ? 128 + r->interrupted :
		    r->truncated ? 128 + SIGKILL : EXIT_TIMEOUT;
		r->signal = r->truncated ? SIGKILL : 0;
		if (r->truncated)
			r->exit_code = 128 + SIGKILL;
		r->timed_out = !r->interrupted && !r->truncated;
	} else {
		r->status = EXIT_FAIL;
		r->error = "the session's supervisor refused the step";
	}
	return 1;
}

/*
 * Reads the supervisor's lines: 1 once our step's status came, -1 if
 * the supervisor is gone, 0 otherwise.  Lines are bounded; a longer one
 * is hostile and dropped whole.
 */
static int
read_rsp(struct step *sp, struct result *r)
{
	char *nl;
	ssize_t n;
	size_t len;

	n = read(sp->rsp, sp->line + sp->len, sizeof(sp->line) - 1 - sp->len);
	if (n == 0)
		return -1;
	if (n < 0)
		return 0;
	sp->len += (size_t)n;
	sp->line[sp->len] = '\0';
	while ((nl = memchr(sp->line, '\n', sp->len)) != NULL) {
		*nl = '\0';
		if (!sp->junk && step_status(sp, sp->line, r))
			return 1;
		sp->junk = 0;
		len = (size_t)(nl + 1 - sp->line);
		memmove(sp->line, nl + 1, sp->len - len);
		sp->len -= len;
	}
	if (sp->len == sizeof(sp->line) - 1) {
		sp->len = 0;
		sp->junk = 1;
	}
	return 0;
}

/* Asks the supervisor to end the step: it kills, then reports. */
static void
step_kill(const struct step *sp)
{
	char msg[64];
	int n = snprintf(msg, sizeof(msg), "\nkill %s\n", sp->nonce);

	/* A full or closed FIFO: the grace alarm decides. */
	if (write(sp->req, msg, (size_t)n) < 0)
		return;
}

/*
 * One step of a session, sent already: relays its output and waits for
 * its status.  The supervisor enforces the timeout; ours, a little
 * later, asks it to kill, and a supervisor that does not answer within
 * GRACE seconds costs the session its container.
 */
void
backend_step(struct job *jb, struct step *sp, long timeout, struct result *r)
{
	struct stream s[2];
	struct pollfd pfd[3];
	int i, done = 0;

	memset(s, 0, sizeof(s));
	s[0].event = "stdout";
	s[0].count = &r->out_bytes;
	s[1].event = "stderr";
	s[1].count = &r->err_bytes;
	for (i = 0; i < 2; i++) {
		s[i].r = r;
		s[i].fd = i ? sp->err : sp->out;
		pfd[i].fd = s[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[2].fd = sp->rsp;
	pfd[2].events = POLLIN;
	jb->t0 = now();
	watch(jb, r, sp);
	alarm((unsigned)timeout + 2);
	while (!done) {
		if ((got_alarm || got_signal || r->truncated ||
		    jb_failed()) && !opt_run.stopping) {
			r->interrupted = got_signal;
			got_alarm = 0;
			opt_run.stopping = 1;
			step_kill(sp);
			alarm(GRACE);
		} else if (got_alarm) {
			r->status = EXIT_FAIL;
			r->error = "the session's supervisor did not answer; "
			    "the session is stopped";
			backend_remove(jb);
			break;
		}
		if (poll(pfd, 3, linger(jb, s, 2)) <= 0)
			continue;
		for (i = 0; i < 2; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents &&
			    relay(jb, &s[i]) == 0)
				pfd[i].fd = -1;
		if (pfd[2].revents && (done = read_rsp(sp, r)) < 0) {
			r->status = EXIT_FAIL;
			r->error = "the session ended (idle timeout, "
			    "max_lifetime, sbx stop, or a step that changed "
			    "its supervisor's limits)";
		}
	}
	alarm(0);
	jb_blocked = NULL;
	opt_run.jb = NULL;
	r->duration = now() - jb->t0;
	/* Every writer is dead now: what is left is in the FIFOs. */
	for (i = 0; i < 2; i++) {
		while (relay(jb, &s[i]) > 0)
			;
		flush(jb, &s[i], 1);
	}
	if (jb_failed() && r->error == NULL) {
		r->error = "write error on standard output";
		r->status = EXIT_FAIL;
	}
}

/* Runs the container to its end and says what happened in r. */
void
backend_run(struct job *jb, char **argv, struct result *r)
{
	struct stream s[2];
	time_t since;
	int ws;

	if (got_signal) {	/* during the copy: nothing to stop */
		r->interrupted = got_signal;
		r->status = 128 + got_signal;
		r->exit_code = -1;
		return;
	}
	memset(s, 0, sizeof(s));
	s[0].event = "stdout";
	s[0].count = &r->out_bytes;
	s[0].r = r;
	s[1].event = "stderr";
	s[1].count = &r->err_bytes;
	s[1].r = r;
	jb->t0 = now();
	since = time(NULL);
	alarm((unsigned)jb->pol.timeout);
	jb->client = spawn(jb, argv, s);
	ws = wait_loop(jb, s, r);
	r->duration = now() - jb->t0;
	decode(jb, ws, r, &s[1], since);
	/* podman's --rm did it, unless we had to stop the container. */
	if (!is_podman(jb) || r->timed_out || r->interrupted || r->truncated)
		backend_remove(jb);
	jb->started = 0;
	if (jb_failed() && r->error == NULL) {
		r->error = "write error on standard output";
		r->status = EXIT_FAIL;
	}
}
