/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

#define GRACE 10	/* seconds a stopped client gets to exit */
#define INIT_GRACE 2	/* seconds a run's init gives sbx to stop it */

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
is_podman(const char *runtime)
{
	return strcmp(runtime, "podman") == 0;
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

/*
 * With allow_hosts, the four that pip, npm, curl and urllib read name
 * our proxy's port (see proxy.c), and NO_PROXY is empty; the others,
 * and all of them without it, are unset on docker and, through
 * --http-proxy=false, on podman.
 */
static void
add_proxy_var(struct args *a, const struct job *jb, const char *var)
{
	int on = jb->pol.allow_hosts[0] != NULL;

	if (on && strncasecmp(var, "no_", 3) == 0)
		add(a, "--env=%s=", var);
	else if (on && strncasecmp(var, "http", 4) == 0)
		add(a, "--env=%s=" PROXY_URL, var);
	else if (!is_podman(jb->ctr.runtime))
		add(a, "--env=%s", var);
}

/* A compiled language's cpu_time and fsize are the init's to set, per
 * phase: see init_main() in supervise.c. */
static void
add_limits(struct args *a, const struct policy *p, int compiled)
{
	add(a, "--memory=%lld", p->memory);
	add(a, "--memory-swap=%lld", p->memory);	/* no swap */
	add(a, "--cpus=%ld.%03ld", p->cpus / 1000, p->cpus % 1000);
	add(a, "--pids-limit=%ld", p->pids);
	add(a, "--ulimit=nofile=%ld:%ld", p->nofile, p->nofile);
	add(a, "--ulimit=nproc=%ld:%ld", p->nproc, p->nproc);
	/* SIGXCPU at the limit, SIGKILL a second later if ignored. */
	if (p->cpu_time > 0 && !compiled)
		add(a, "--ulimit=cpu=%ld:%ld", p->cpu_time, p->cpu_time + 1);
	if (p->fsize > 0 && !compiled)
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
		/* only our sized /tmp, as docker's */
		if (is_podman(jb->ctr.runtime))
			add(a, "--read-only-tmpfs=false");
	}
	/* exec on both runtimes (docker's default is noexec, podman's
	 * exec): an interpreter runs what it likes anyway, and a compiled
	 * program needs a place to run from. */
	add(a, "--tmpfs=/tmp:rw,exec,nosuid,nodev,size=%lld,mode=1777",
	    p->tmpfs);
	add(a, "--shm-size=%lld", p->tmpfs);
	add(a, "--cap-drop=ALL");
	if (jb->ctr.remote) {
		/* Its init starts as root to own what the copy made
		 * root's, then becomes the user with none of these: see
		 * become() in supervise.c. */
		add(a, "--cap-add=CHOWN");
		add(a, "--cap-add=SETUID");
		add(a, "--cap-add=SETGID");
		add(a, "--cap-add=SETPCAP");
	}
	add(a, "--security-opt=no-new-privileges");
	/* A uid alone would run with group 0: always name the group. */
	if (jb->ctr.remote)
		add(a, "--user=0:0");
	else
		add(a, "--user=%ld:%ld", (long)jb->uid, (long)jb->gid);
	add(a, "--hostname=sbx");
	if (p->oci_runtime && !is_podman(jb->ctr.runtime))
		add(a, "--runtime=%s", p->oci_runtime);
}

static void
add_mounts(struct args *a, const struct job *jb)
{
	const struct policy *p = &jb->pol;

	/* Remote: volumes of the engine's, which the copy fills. */
	if (jb->ctr.remote) {
		add(a, "--mount=type=volume,target=" CTR_WORKSPACE);
		add(a, "--mount=type=volume,target=" CTR_SBX);
		add(a, "--env=SBX_RESULT=" CTR_RESULT);
		add(a, "--env=" ENV_INIT_KEY "=%s", jb->ctr.key);
		add(a, "--workdir=" CTR_WORKSPACE);
		return;
	}

	/* none: an empty directory of the container user's own.  Not a
	 * tmpfs: runc gives one the mode of the image's /workspace, which
	 * the user cannot write. */
	add(a, "--mount=type=bind,source=%s,target=" CTR_WORKSPACE "%s",
	    jb->lay.ws, p->workspace == WS_RO ? ",ro" : "");
	add(a, "--mount=type=bind,source=%s,target=" CTR_SBX ",ro",
	    jb->lay.sbx);
	if (!jb->session)	/* a session's is in /sbx, a copy */
		add(a, "--mount=type=bind,source=%s,target=" CTR_INIT ",ro",
		    supervisor());
	add(a, "--mount=type=bind,source=%s,target=" CTR_OUT, jb->lay.out);
	if (jb->session)
		add(a, "--mount=type=bind,source=%s,target=" CTR_CTL,
		    jb->lay.ctl);
	add(a, "--env=SBX_RESULT=" CTR_RESULT);
	if (!jb->session)	/* the init's, which hides it: see proto.h */
		add(a, "--env=" ENV_INIT_KEY "=%s", jb->ctr.key);
	add(a, "--workdir=" CTR_WORKSPACE);
}

/* python3 /sbx/sbx_guard.py TEMPLATE a,b,c SCRIPT ARGS... */
static void
add_guard(struct args *a, const struct job *jb)
{
	char *list = strv_join(jb->pol.imports, ",");

	add(a, CTR_GUARD);
	add(a, "%s", jb->pol.name);
	add(a, "%s", list);
	free(list);
}

/*
 * The whole container command line.  Every value is its own argv
 * element or joined to its flag with "=", so nothing a user controls
 * can turn into an option; there is no shell anywhere.  One flag a line
 * in the order of the golden files (tests/golden), so that a reviewer
 * reads the argv as the runtime gets it.
 */
char **
backend_argv(const struct job *jb)
{
	struct args a = { NULL, 0, 0 };
	size_t i;

	add(&a, "%s", jb->ctr.runtime);
	/* podman's are its own options, docker's a run's (and its
	 * runtimes' flags dockerd's: see backend_runtime_check). */
	if (is_podman(jb->ctr.runtime) && jb->pol.oci_runtime) {
		add(&a, "--runtime=%s", jb->pol.oci_runtime);
		for (i = 0; jb->pol.oci_flags[i]; i++)
			add(&a, "--runtime-flag=%s", jb->pol.oci_flags[i]);
	}
	/* Remote: made, filled by the copy, then started (backend_run). */
	add(&a, jb->ctr.remote ? "create" : "run");
	if (jb->session)	/* the supervisor runs on, sbx exits */
		add(&a, "--detach");
	/* docker forgets OOMKilled with the container: remove it
	 * ourselves after asking; remote, either engine does. */
	if ((is_podman(jb->ctr.runtime) || jb->session) && !jb->ctr.remote)
		add(&a, "--rm");
	add(&a, "--pull=never");
	if (!jb->session)
		add(&a, "--interactive");
	add(&a, "--log-driver=none");
	/* podman hands the host's proxy variables, credentials and all,
	 * to the container unless told not to; docker its config's. */
	if (is_podman(jb->ctr.runtime))
		add(&a, "--http-proxy=false");
	for (i = 0; i < LEN(proxy_vars); i++)
		add_proxy_var(&a, jb, proxy_vars[i]);
	add(&a, "--name=%s", jb->ctr.name);
	add(&a, "--label=sbx=%s", VERSION);
	add(&a, "--label=sbx.owner=%s", owner_self());
	add(&a, "--label=sbx.deadline=%lld", (long long)time(NULL) +
	    (jb->session ? jb->pol.max_lifetime : jb->pol.timeout) + GRACE);
	add(&a, "--label=sbx.template=%s", jb->pol.name);
	/* What ties the container to its run for gc: see ours(). */
	add(&a, "--label=sbx.run=%s", jb->lay.dir);
	if (jb->session)
		add(&a, "--label=sbx.session=%s", jb->session);
	if (jb->pool && jb->session)	/* a pool's, not a cold -P run's */
		add(&a, "--label=sbx.pool=%s", jb->pool);
	add_isolation(&a, jb);
	add_limits(&a, &jb->pol, jb->lang->compile != NULL && !jb->session);
	add_mounts(&a, jb);
	if (jb->session) {
		/* The supervisor is PID 1: no --init, and it takes the
		 * steps; see supervise.c. */
		add(&a, "--entrypoint=" CTR_SUPERVISE);
		add(&a, "%s", jb->image);
		add(&a, "%ld", jb->pol.idle_timeout);
		add(&a, "%ld", jb->pol.max_lifetime);
		if (jb->pol.allow_hosts[0])
			add(&a, "-n");
		return a.v;
	}
	/* pid 1 is sbx-supervise as a run's init (see init_main() in
	 * supervise.c): tini's part, and the end of the run INIT_GRACE
	 * after its timeout, even if sbx is killed. */
	add(&a, "--entrypoint=" CTR_INIT);
	add(&a, "%s", jb->image);
	add(&a, "-t");
	add(&a, "%ld", jb->pol.timeout + INIT_GRACE +
	    (jb->lang->compile ? jb->pol.compile_timeout : 0));
	if (jb->ctr.remote) {	/* whom it becomes; /workspace theirs? */
		add(&a, "-u");
		add(&a, "%ld", (long)jb->uid);
		add(&a, "%ld", (long)jb->gid);
		add(&a, "%d", jb->pol.workspace != WS_RO);
	}
	if (jb->pol.allow_hosts[0])
		add(&a, "-n");
	if (jb->lang->compile) {
		/* The compiler and the script, then the program. */
		add(&a, "-c");
		add(&a, "%zu", strv_len(jb->lang->compile) + 1);
		add(&a, "%ld", jb->pol.compile_cpu);
		add(&a, "%ld", jb->pol.cpu_time);
		add(&a, "%lld", jb->pol.fsize);
		add(&a, "--");
		for (i = 0; jb->lang->compile[i]; i++)
			add(&a, "%s", jb->lang->compile[i]);
		add(&a, "%s", jb->script_ctr);
		for (i = 0; jb->lang->command[i]; i++)
			add(&a, "%s", jb->lang->command[i]);
		for (i = 0; jb->args[i]; i++)
			add(&a, "%s", jb->args[i]);
		return a.v;
	}
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
vstart(const struct container *c, int *out, va_list ap)
{
	char *argv[16];
	size_t i = 0;
	int fd[2] = { -1, -1 }, null;
	pid_t pid;

	argv[i++] = (char *)c->runtime;
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
		execv(c->path, argv);
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
start_quiet(const struct container *c, int *out, ...)
{
	va_list ap;
	pid_t pid;

	va_start(ap, out);
	pid = vstart(c, out, ap);
	va_end(ap);
	return pid;
}

int
backend_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs a runtime command to its end; its first output line to out. */
static int
run_quiet(const struct container *c, char *out, size_t outsz, ...)
{
	va_list ap;
	size_t i;
	ssize_t n;
	int fd;
	pid_t pid;

	va_start(ap, outsz);
	pid = vstart(c, out ? &fd : NULL, ap);
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
	return backend_wait(pid);
}

/*
 * Kills the container by name: killing the client would leave it.  Not
 * waited for here: docker's kill waits until the container's output is
 * delivered, and only our wait loop reads it.  Gently (INIT_STOP): its
 * init kills the run and counts what it used; else with SIGKILL.
 */
static pid_t
kill_container(const struct container *c, int gently)
{
	return start_quiet(c, NULL, "kill", gently ? "--signal="
	    INIT_STOP_NAME : "--signal=SIGKILL", c->name, (char *)NULL);
}

/* dockerd's inspection of c on its own socket: see docker_api(). */
static int
inspect_api(const struct container *c, char *buf, size_t size)
{
	char path[96];

	if (c->remote)	/* another daemon's: only the CLI reaches it */
		return 0;
	snprintf(path, sizeof(path), "/containers/%s/json", c->name);
	return docker_api("GET", path, buf, size);
}

/*
 * dockerd's entry for runtime oci, as '"oci":{"path":...,"runtimeArgs":
 * [...]' cut at its '}'; NULL if it has none, or if dockerd cannot be
 * asked (*asked 0).
 */
static const char *
docker_runtime(const struct container *c, const char *oci, int *asked)
{
	static char buf[1 << 16];
	char want[300], *p, *end;

	*asked = 1;
	/* A remote engine's: the local socket is another dockerd's. */
	if (!c->remote &&
	    docker_api("GET", "/info", buf, sizeof(buf)) == 200 &&
	    (p = strstr(buf, "\"Runtimes\":")) != NULL)
		memmove(buf, p + 11, strlen(p + 11) + 1);
	else if (run_quiet(c, buf, sizeof(buf), "info",
	    "--format={{json .Runtimes}}", (char *)NULL) != 0)
		return (*asked = 0, NULL);
	snprintf(want, sizeof(want), "\"%s\":{", oci);
	if ((p = strstr(buf, want)) == NULL)
		return NULL;
	if ((end = strchr(p, '}')) != NULL)
		*end = '\0';
	return p;
}

static const char *
oci_missing(const char *oci, const char *how)
{
	static char msg[512];

	snprintf(msg, sizeof(msg), "oci_runtime %s: %s%s", oci, how,
	    strstr(oci, "runsc") ? " (gVisor: Debian's runsc package)" : "");
	return msg;
}

/*
 * docker has no option for an OCI runtime's flags: they are the
 * runtimeArgs of the runtime's entry in dockerd's configuration, which
 * must have each of flags, as "--flag".  Dies if it lacks one, or the
 * runtime, naming what to do.  podman takes them per run.  A runtime
 * that is not there without flags is found out when the run fails
 * (see backend_diagnose()).
 */
void
backend_runtime_check(const struct container *c, const char *oci,
    char **flags)
{
	const char *entry;
	char want[300];
	size_t i;
	int asked;

	if (is_podman(c->runtime) || oci == NULL || flags[0] == NULL)
		return;
	if ((entry = docker_runtime(c, oci, &asked)) == NULL)
		die("%s", asked ? oci_missing(oci, "not a runtime of dockerd: "
		    "add it to \"runtimes\" in /etc/docker/daemon.json") :
		    "docker: cannot ask dockerd for its runtimes (is it "
		    "running?)");
	for (i = 0; flags[i]; i++) {
		snprintf(want, sizeof(want), "\"--%s\"", flags[i]);
		if (strstr(entry, want) == NULL)
			die("oci_runtime_flags: dockerd's runtime %s lacks "
			    "--%s: add it to its \"runtimeArgs\" in "
			    "/etc/docker/daemon.json", oci, flags[i]);
	}
}

int
backend_remove(const struct container *c)
{
	char buf[256], path[96];

	/* With its anonymous volumes: a remote run's workspace. */
	if (is_podman(c->runtime))
		return run_quiet(c, NULL, 0, "rm", "--force", "--time=0",
		    "--volumes", c->name, (char *)NULL) == 0 ? 0 : -1;
	snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", c->name);
	if (!c->remote && docker_api("DELETE", path, buf, sizeof(buf)) == 204)
		return 0;
	/* Not that daemon's, maybe: a context may name another. */
	return run_quiet(c, NULL, 0, "rm", "--force", "--volumes", c->name,
	    (char *)NULL) == 0 ? 0 : -1;
}

/*
 * For cleanup after a fatal error: whatever state it is in, end it.
 * -1 if it may still be there.
 */
int
backend_stop(struct container *c)
{
	if (!c->started)
		return 0;
	/* Nobody reads the client's output now: end it first, so that
	 * docker is not left waiting to deliver it. */
	if (c->client > 0 && kill(c->client, SIGKILL) == 0)
		backend_wait(c->client);
	c->started = 0;
	return backend_remove(c);
}

void
backend_exec(const struct container *c, char **argv, int out, int err)
{
	size_t i;

	signal(SIGPIPE, SIG_DFL);
	if (dup2(out, 1) < 0 || dup2(err, 2) < 0)
		_exit(EXIT_CANNOT);
	/* conmon leaves its "oom" marker in podman's working
	 * directory: make that our private rundir. */
	if (chdir(c->lay->dir) < 0)
		_exit(EXIT_CANNOT);
	/* What "--env=NAME" would pass on is not the container's. */
	if (!is_podman(c->runtime))
		for (i = 0; i < LEN(proxy_vars); i++)
			unsetenv(proxy_vars[i]);
	execv(c->path, argv);
	_exit(errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANNOT);
}

static pid_t
spawn(struct container *c, char **argv, int *outfd, int *errfd)
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
	c->started = 1;
	if ((pid = fork()) < 0)
		die("fork:");
	if (pid == 0)
		backend_exec(c, argv, out[1], err[1]);
	close(out[1]);
	close(err[1]);
	*outfd = out[0];
	*errfd = err[0];
	return pid;
}

struct stopper {
	int step;		/* seconds since the stop began */
	pid_t killer;		/* the runtime's kill command, or -1 */
};

/*
 * One step of stopping, once a second: the kill is repeated because a
 * container still being created cannot be killed yet; gently twice, so
 * that one made late still has its usage counted.  A client that
 * outlives the grace period is killed; cleanup then removes by name.
 */
static void
stop_step(const struct container *c, struct stopper *st)
{
	if (st->killer > 0 && waitpid(st->killer, NULL, WNOHANG) == 0)
		;	/* the last kill is still at work */
	else if (st->step < GRACE)
		st->killer = kill_container(c, st->step < 2);
	if (st->step++ >= GRACE)
		kill(c->client, SIGKILL);
	alarm(1);
}

/* The run being relayed, for a stop that cannot wait. */
static struct {
	struct container *c;
	struct result *r;
	int stopping;
	pid_t killer;		/* the kill it started, to reap */
} opt_run;

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
	if (opt_run.c == NULL || opt_run.stopping ||
	    !(opt_alarm || opt_signal))
		return;
	opt_run.r->interrupted = opt_signal;
	opt_run.stopping = 1;
	opt_run.r->timed_out = opt_alarm;
	opt_alarm = 1;		/* the loop's stop steps follow */
	opt_run.killer = kill_container(opt_run.c, 0);
	if (opt_run.c->client > 0)
		kill(opt_run.c->client, SIGKILL);
}

/*
 * Relays output until the client exits, stopping the container when
 * the timeout or a signal says so.  Returns the client's wait status.
 */
static int
wait_loop(struct container *c, struct stream *s, long timeout,
    struct result *r)
{
	struct stopper st = { 0, -1 };
	struct pollfd pfd[3];
	int i, ws = 0, reaped = 0, nopen = 2;
	pid_t w;

	for (i = 0; i < 2; i++) {
		pfd[i].fd = s[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[2].fd = proxy_fd(c->net);	/* its events, as they come */
	pfd[2].events = POLLIN;
	/* From here on, the event writer may start the stop itself. */
	opt_run.c = c;
	opt_run.r = r;
	opt_run.stopping = 0;
	opt_run.killer = -1;
	jb_blocked = stop_blocked;
	while (!reaped) {
		if ((opt_alarm || opt_signal || r->truncated ||
		    jb_failed()) && !opt_run.stopping) {
			r->timed_out = opt_alarm;
			r->interrupted = opt_signal;
			opt_run.stopping = opt_alarm = 1;
		}
		if (opt_alarm) {
			opt_alarm = 0;
			stop_step(c, &st);
		}
		/* The compile is over: the run's own time starts. */
		if (s->cp && s->cp->said && timeout > 0 && !opt_run.stopping) {
			alarm((unsigned)timeout);
			timeout = 0;
		}
		if (nopen > 0 && poll(pfd, 3, streams_due(s, 2)) > 0) {
			for (i = 0; i < 2; i++)
				if (pfd[i].fd >= 0 && pfd[i].revents &&
				    stream_read(&s[i]) == 0) {
					close(pfd[i].fd);
					pfd[i].fd = s[i].fd = -1;
					nopen--;
				}
			if (pfd[2].fd >= 0 && pfd[2].revents &&
			    !proxy_read(c->net))
				pfd[2].fd = -1;
		}
		w = waitpid(c->client, &ws, nopen > 0 ? WNOHANG : 0);
		if (w == c->client)
			reaped = 1;
		else if (w < 0 && errno != EINTR)
			die("waitpid:");
	}
	c->client = 0;
	alarm(0);
	jb_blocked = NULL;	/* the client is gone: nothing to stop */
	opt_run.c = NULL;
	/* What is buffered in the pipes, then stop listening. */
	for (i = 0; i < 2; i++) {
		stream_drain(&s[i]);
		if (s[i].fd >= 0)
			close(s[i].fd);
	}
	if (st.killer > 0)
		backend_wait(st.killer);
	if (opt_run.killer > 0)
		backend_wait(opt_run.killer);
	return ws;
}

/* The id of image on c's runtime, or NULL if it has none; caller frees. */
char *
backend_image_id(const struct container *c, const char *image)
{
	char out[256];

	if (run_quiet(c, out, sizeof(out), "image", "inspect",
	    "--format={{.Id}}", image, (char *)NULL) != 0)
		return NULL;
	return estrdup(out);
}

/* Is there such an OCI runtime where podman looks for one by name? */
static int
oci_present(const char *oci)
{
	static const char *dirs[] = { "/usr/bin", "/usr/sbin",
	    "/usr/local/bin", "/usr/local/sbin", "/bin", "/sbin" };
	char path[512];
	size_t i;

	if (*oci == '/')
		return access(oci, X_OK) == 0;
	for (i = 0; i < LEN(dirs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], oci);
		if (access(path, X_OK) == 0)
			return 1;
	}
	return 0;
}

/* What a runtime's status 125 meant, asked only after it happened. */
const char *
backend_diagnose(const struct container *c)
{
	static char msg[768];
	char out[256];
	int asked;

	if (c->remote && run_quiet(c, out, sizeof(out), "version",
	    "--format={{.Server.Version}}", (char *)NULL) != 0) {
		snprintf(msg, sizeof(msg), "%s: cannot reach the engine of "
		    "%s", c->runtime, c->remote);
		return msg;
	}
	if (!is_podman(c->runtime) && run_quiet(c, out, sizeof(out), "version",
	    "--format={{.Server.Version}}", (char *)NULL) != 0) {
		return "docker: cannot reach the docker daemon "
		    "(is dockerd running?)";
	}
	if (run_quiet(c, NULL, 0, "image", "inspect", "--format={{.Id}}",
	    c->image, (char *)NULL) != 0) {
		snprintf(msg, sizeof(msg), "%s: image '%s' not found%s%s; "
		    "sbx never pulls: pull, load or build it first (sbx -L "
		    "lists the image of each language)", c->runtime,
		    c->image, c->remote ? " on the engine of " : "",
		    c->remote ? c->remote : "");
		return msg;
	}
	if (c->oci && (is_podman(c->runtime) ? !oci_present(c->oci) :
	    docker_runtime(c, c->oci, &asked) == NULL && asked)) {
		snprintf(msg, sizeof(msg), "%s: the container did not start: "
		    "%s", c->runtime, oci_missing(c->oci,
		    is_podman(c->runtime) ? "not found" :
		    "not a runtime of dockerd"));
		return msg;
	}
	return NULL;	/* the script's own exit 125, as far as we can tell */
}

static int
ask_oom(const struct container *c)
{
	static char buf[1 << 18];
	char out[64], *path;
	struct stat st;
	int here;

	if (is_podman(c->runtime) && !c->remote)
		return lstat(c->lay->oom, &st) == 0;
	/* Remote: the init's count came back with /sbx/out, and
	 * read_usage() takes it; the engine is asked if it did not. */
	if (c->remote) {
		path = smprintf("%s/" OUT_USAGE, c->lay->out);
		here = lstat(path, &st) == 0;
		free(path);
		if (here)
			return 0;
	}
	/* The daemon's JSON: OOMKilled is one of its booleans, and a
	 * string the script chose cannot hold an unescaped quote. */
	if (inspect_api(c, buf, sizeof(buf)) == 200 &&
	    strchr(buf, '\0') < buf + sizeof(buf) - 1)
		return strstr(buf, "\"OOMKilled\":true") != NULL;
	return run_quiet(c, out, sizeof(out), "inspect",
	    "--format={{.State.OOMKilled}}", c->name, (char *)NULL) == 0 &&
	    strcmp(out, "true") == 0;
}

/*
 * Did the OOM killer strike?  dockerd learns it from containerd's OOM
 * event, which may come after the exit it already reported: for a
 * script SIGKILLed (the OOM killer's signal), ask again for a while.
 */
static int
oom_killed(const struct container *c, int sigkilled)
{
	struct timespec ts = { 0, 50000000 };
	int i, r;

	r = ask_oom(c);
	for (i = 0; !r && sigkilled && (!is_podman(c->runtime) || c->remote) &&
	    i < 6; i++) {
		nanosleep(&ts, NULL);
		r = ask_oom(c);
	}
	return r;
}

/*
 * Did the container start?  Asked only when the client's status could be
 * its own failure as well as the script's (125 to 127): podman keeps an
 * event log, and docker the container, which sbx removes itself.
 */
static int
started(const struct container *c, time_t since)
{
	static char buf[1 << 18];
	char out[64], *when, *who;
	int r;

	if (is_podman(c->runtime) && !c->remote) {
		when = smprintf("--since=%lld", (long long)since - 1);
		who = smprintf("--filter=container=%s", c->name);
		/* No event log to ask (events_logger = none): as before,
		 * the status is the script's. */
		r = run_quiet(c, out, sizeof(out), "events", "--stream=false",
		    when, who, "--filter=event=start", "--format={{.Status}}",
		    (char *)NULL);
		free(when);
		free(who);
		return r != 0 || strcmp(out, "start") == 0;
	}
	switch (inspect_api(c, buf, sizeof(buf))) {
	case 404:
		return 0;
	case 200:
		return strstr(buf, "\"StartedAt\":\"0001-01-01T00:00:00Z\"") ==
		    NULL;
	}
	return run_quiet(c, out, sizeof(out), "inspect",
	    "--format={{.State.StartedAt}}", c->name, (char *)NULL) == 0 &&
	    strncmp(out, "0001-", 5) != 0;
}

/*
 * Why the container never ran: what backend_diagnose() can name, or else the
 * runtime's own last words, which are all its stderr can hold then.
 */
static const char *
never_ran(const struct container *c, const char *said)
{
	static char msg[1024];
	const char *why;

	if ((why = backend_diagnose(c)) != NULL)
		return why;
	snprintf(msg, sizeof(msg), "%s: the container did not start%s%s",
	    c->runtime, *said ? ": " : "", said);
	return msg;
}

/*
 * Turns the client's wait status into the result.  With --init, a
 * script killed by signal n shows as status 128+n, as in a shell.
 */
static void
decode(struct container *c, int ws, struct result *r, struct stream *err,
    time_t since)
{
	static char msg[512];
	int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;

	r->exit_code = -1;
	/* Stopped by us: what the client says is only our kill. */
	if (r->timed_out || r->interrupted) {
		r->status = r->timed_out ? EXIT_TIMEOUT : 128 + r->interrupted;
		r->oom_killed = oom_killed(c, 0);
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
	    !started(c, since)) {
		r->error = never_ran(c, stream_last_line(err));
		r->status = EXIT_FAIL;
		return;
	}
	/* The init's own failure (see supervise.c): the script never ran.
	 * A script that prints the same only spoils its own result. */
	if (code == EXIT_FAIL && strncmp(stream_last_line(err), INIT_SAYS,
	    strlen(INIT_SAYS)) == 0) {
		snprintf(msg, sizeof(msg), "the container's init could not "
		    "start the script: %s", stream_last_line(err) + strlen(INIT_SAYS));
		r->error = msg;
		r->status = EXIT_FAIL;
		return;
	}
	r->exit_code = code;
	r->status = code;
	if (code > 128 && code < 128 + 65)
		r->signal = code - 128;
	r->cpu_exceeded = r->signal == SIGXCPU;
	r->oom_killed = oom_killed(c, r->signal == SIGKILL);
}

/*
 * sbx start: runs the session's "run --detach" to its end.  Its output
 * is the container's id, not ours to print; its errors go to stderr.
 */
int
backend_detach(struct container *c, char **argv)
{
	const char *why;
	int null, code;
	pid_t pid;

	c->started = 1;
	if ((pid = fork()) < 0)
		die("fork:");
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		backend_exec(c, argv, 1, 2);
	}
	if ((code = backend_wait(pid)) == EXIT_FAIL &&
	    (why = backend_diagnose(c)) != NULL)
		die("%s", why);
	return code;
}

/*
 * A compiled language's run, as its compile left it: a compile that did
 * not end well is the run's end (phase "compile", status 1 if the
 * compiler failed); else the run is its program's, from the compile's
 * end, and the compile's CPU time is not the program's.
 */
static void
compile_end(struct compile *cp, struct result *r)
{
	int ended = cp->done[0] && cp->done[1];

	compile_event(cp, r);
	r->compiled = 1;
	if (ended && cp->code == 0) {
		r->duration = now() - cp->t1;
		r->compile_us = cp->cpu_us;
		return;
	}
	r->in_compile = 1;
	if (ended && r->error == NULL && !r->interrupted && !r->timed_out) {
		r->status = 1;
		r->exit_code = -1;
		r->signal = 0;
	}
}

/*
 * A signal to sbx during a remote run's copies, which the client of a
 * terminal's Ctrl-C gets too: the run was interrupted, whatever the
 * copy then said (a script that had ended keeps its exit code).
 */
static void
remote_interrupted(struct result *r)
{
	if (!opt_signal || r->interrupted)
		return;
	r->interrupted = opt_signal;
	r->status = 128 + opt_signal;
	r->error = NULL;
}

/*
 * Runs the container of argv to its end, timeout seconds at most, its
 * output relayed up to max_output bytes, and says what happened in r.
 * With cp, a compiled language's: the compile first, with its own
 * timeout and output (see relay.c), then the run's timeout.
 */
void
backend_run(struct job *jb, char **argv, struct compile *cp,
    struct result *r)
{
	struct container *c = &jb->ctr;
	long timeout = jb->pol.timeout;
	char *start[] = { (char *)c->runtime, "start", "--attach",
	    "--interactive", c->name, NULL };
	const char *lost;
	struct stream s[2];
	double t0;
	time_t since;
	int ws, out, err;

	if (opt_signal) {	/* during the copy: nothing to stop */
		r->interrupted = opt_signal;
		r->status = 128 + opt_signal;
		r->exit_code = -1;
		return;
	}
	if (c->remote) {
		if (remote_create(jb, argv, r) < 0) {
			remote_interrupted(r);
			return;
		}
		argv = start;
	}
	t0 = now();
	since = time(NULL);
	if (cp) {
		cp->t0 = t0;
		alarm((unsigned)cp->timeout);
	} else {
		alarm((unsigned)timeout);
	}
	c->client = spawn(c, argv, &out, &err);
	streams_init(s, out, err, r, t0, jb->pol.max_output);
	s[0].cp = s[1].cp = cp;
	ws = wait_loop(c, s, cp ? timeout : 0, r);
	r->duration = now() - t0;
	/* Back before decode(), which then finds the init's count. */
	lost = c->remote ? remote_get(jb, r) : NULL;
	decode(c, ws, r, &s[1], since);
	if (lost && r->error == NULL) {
		r->error = lost;
		r->status = EXIT_FAIL;
	}
	if (cp)
		compile_end(cp, r);
	/* podman's --rm did it, unless we had to stop the container. */
	if (c->remote) {
		t0 = now();
		backend_remove(c);
		r->remove = now() - t0;
		remote_interrupted(r);
	} else if (!is_podman(c->runtime) || r->timed_out || r->interrupted ||
	    r->truncated) {
		backend_remove(c);
	}
	c->started = 0;
	if (jb_failed() && r->error == NULL) {
		r->error = "write error on standard output";
		r->status = EXIT_FAIL;
	}
}

/* The host pid of the container's pid 1, or -1 if it is not running. */
long
backend_pid(const struct container *c)
{
	static char buf[1 << 18];
	char out[64], *p;
	long pid;

	/* The daemon's JSON: State's members before Pid are its own
	 * words, where Args before State are the caller's. */
	if (!is_podman(c->runtime) && inspect_api(c, buf,
	    sizeof(buf)) == 200 && (p = strstr(buf, "\"State\":{")) != NULL &&
	    (p = strstr(p, "\"Pid\":")) != NULL)
		pid = strtol(p + 6, NULL, 10);
	else if (run_quiet(c, out, sizeof(out), "inspect",
	    "--format={{.State.Pid}}", c->name, (char *)NULL) == 0)
		pid = strtol(out, NULL, 10);
	else
		return -1;
	return pid > 0 ? pid : -1;
}

/*
 * sbx gc's and sbx ps's question: fn for each container of the runtime labelled sbx,
 * with its name and labels ("" for one it lacks).  -1 if the runtime
 * could not list them.
 */
int
backend_ps(const struct container *c, void (*fn)(const struct container *,
    const struct labels *))
{
	static char buf[1 << 20];
	struct labels l;
	char *line, *next, *f[7];
	size_t len = 0, i;
	ssize_t n;
	int fd;
	pid_t ps;

	/* "|" apart: a label that is not there prints as nothing (or,
	 * podman's, as "<no value>"), which white space would lose. */
	ps = start_quiet(c, &fd, "ps", "--all", "--filter=label=sbx",
	    is_podman(c->runtime) ? "--format={{.Names}}|"
	    "{{index .Labels \"sbx.deadline\"}}|"
	    "{{index .Labels \"sbx.owner\"}}|"
	    "{{index .Labels \"sbx.session\"}}|"
	    "{{index .Labels \"sbx.run\"}}|"
	    "{{index .Labels \"sbx.template\"}}|"
	    "{{index .Labels \"sbx.pool\"}}" : "--format={{.Names}}|"
	    "{{.Label \"sbx.deadline\"}}|{{.Label \"sbx.owner\"}}|"
	    "{{.Label \"sbx.session\"}}|{{.Label \"sbx.run\"}}|"
	    "{{.Label \"sbx.template\"}}|{{.Label \"sbx.pool\"}}",
	    (char *)NULL);
	if (ps < 0)
		return -1;
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
	if (backend_wait(ps) != 0)
		return -1;
	for (line = buf; *line; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		for (i = 0, f[0] = line; i < 6 && f[i]; i++)
			if ((f[i + 1] = strchr(f[i], '|')) != NULL)
				*f[i + 1]++ = '\0';
		if (i < 6 || f[6] == NULL)
			continue;
		for (i = 1; i < 7; i++)
			if (strcmp(f[i], "<no value>") == 0)
				f[i] = "";
		l.name = f[0];
		l.deadline = f[1];
		l.owner = f[2];
		l.session = f[3];
		l.run = f[4];
		l.tmpl = f[5];
		l.pool = f[6];
		fn(c, &l);
	}
	return 0;
}
