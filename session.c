/* See LICENSE file for copyright and license details. */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"

/*
 * Sessions: one container that outlives sbx, and steps sent to it.
 *
 * sbx start makes the session's directory, TMPDIR/sbx-session.ID, as a
 * run makes its rundir, and starts the container detached with
 * supervise.c as its PID 1.  The supervisor opens the FIFOs ctl/req and
 * ctl/rsp and says "ready"; sbx then moves them to req and rsp, out of
 * the container's sight.  The supervisor reads "run N NONCE" lines from
 * req, runs the step that sbx wrote into sbx/steps/N/req with its
 * output on the FIFOs ctl/N.out and N.err, and answers "NONCE STATUS
 * VALUE MS OOM" on rsp.  No runtime CLI is
 * called per step: that is what makes a warm step cheap.
 *
 * The step's code can write to its output FIFOs, and could to req and
 * rsp before they were moved, so what comes back is hostile: a status
 * counts only with the nonce, which no step sees.
 * The supervisor also holds the session's clocks, idle timeout and
 * maximum lifetime, and exits at either; the container's --rm and
 * sbx gc do the rest.  Steps of one session are serialized with an
 * flock on its directory's lock file.
 */

#define PREFIX "sbx-session."
#define IDLEN 12
#define READY_WAIT 60	/* seconds for a new supervisor to say "ready" */
#define GRACE_STEP 10	/* for an orphaned step to end once killed */

int
session_id_ok(const char *id)
{
	return strlen(id) == IDLEN && strspn(id, "0123456789abcdef") == IDLEN;
}

/* The directory of session id; caller frees. */
char *
session_dir(const char *id)
{
	return smprintf("%s/%s%s", tmpdir(), PREFIX, id);
}

/*
 * Dies unless id's directory is a session directory of ours: in a
 * shared TMPDIR anyone can make one of that name.  Returns it; caller
 * frees.
 */
char *
session_find(const char *id)
{
	char *dir = session_dir(id);
	struct stat st;

	if (lstat(dir, &st) < 0)
		die("%s: no such session", id);
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0)
		die("%s: not a session directory of this user", dir);
	return dir;
}

/*
 * Takes the lock of dir, a session's or a kept run's: an flock(2) of
 * the directory itself, waiting for the holder (a step in flight, an
 * apply) to be done, or with nowait, -1 if it is held.
 */
int
session_lock(const char *dir, int nowait)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		die("%s:", dir);
	while (flock(fd, LOCK_EX | (nowait ? LOCK_NB : 0)) < 0) {
		if (nowait && errno == EWOULDBLOCK) {
			close(fd);
			return -1;
		}
		if (errno != EINTR || sbx_signalled())
			die("lock %s:", dir);
	}
	return fd;
}

/* The state file: "key value" lines that only sbx writes. */
static void
state_write(const struct job *jb, const char *config, const char *image_id)
{
	char *path = smprintf("%s/state", jb->rundir);
	FILE *f;
	size_t i;

	if ((f = fopen(path, "wx")) == NULL)
		die("create %s:", path);
	fprintf(f, "id %s\nruntime %s\nname %s\ntemplate %s\nimage %s\n"
	    "dir %s\nworkspace %s\ntimeout %ld\nmax_output %lld\nmax_bytes %lld\n"
	    "idle_timeout %ld\nmax_lifetime %ld\nstarted %lld\n"
	    "uid %ld\ngid %ld\nconfig %s\nimports ", jb->session, jb->runtime,
	    jb->name, jb->pol.name, jb->image, jb->dir,
	    workspace_name(jb->pol.workspace), jb->pol.timeout,
	    jb->pol.max_output, jb->pol.max_bytes, jb->pol.idle_timeout, jb->pol.max_lifetime,
	    (long long)time(NULL), (long)jb->uid, (long)jb->gid, config);
	for (i = 0; jb->pol.imports[i]; i++)
		fprintf(f, "%s%s", i ? "," : "", jb->pol.imports[i]);
	fprintf(f, "\n");
	if (image_id)
		fprintf(f, "image_id %s\n", image_id);
	policy_write(f, "policy ", &jb->pol);
	if (fclose(f) == EOF)
		die("write %s:", path);
	free(path);
}

/* The state file, read once: what start recorded, "key value" lines. */
struct state {
	char *path;
	char *text;		/* NUL-terminated */
};

static void
state_read(struct state *st, const char *dir)
{
	struct stat sb;
	ssize_t n;
	int fd;

	st->path = smprintf("%s/state", dir);
	if ((fd = open(st->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		die("%s: no such session", dir);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > (1 << 20))
		die("%s: not a session's state", st->path);
	st->text = emalloc((size_t)sb.st_size + 1);
	if ((n = read(fd, st->text, (size_t)sb.st_size)) < 0)
		die("read %s:", st->path);
	st->text[n] = '\0';
	close(fd);
}

static void
state_free(struct state *st)
{
	free(st->path);
	free(st->text);
}

/* One value, or NULL if need is 0; caller frees. */
static char *
state_find(const struct state *st, const char *key, int need)
{
	size_t kl = strlen(key), len;
	const char *p;

	for (p = st->text; *p; p += len + (p[len] == '\n')) {
		len = strcspn(p, "\n");
		if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == ' ')
			return smprintf("%.*s", (int)(len - kl - 1), p + kl + 1);
	}
	if (need)
		die("%s: no '%s' in the session's state", st->path, key);
	return NULL;
}

static char *
state_get(const struct state *st, const char *key)
{
	return state_find(st, key, 1);
}

static long
state_num(const struct state *st, const char *key)
{
	char *v = state_get(st, key);
	long n = strtol(v, NULL, 10);

	free(v);
	return n;
}

/* The policy the session started with, as state_write wrote it. */
static void
state_policy(const struct state *st, struct policy *p)
{
	const char *e;
	char *line, *k, *v, *next;

	line = estrdup(st->text);
	for (k = line; *k; k = next) {
		next = k + strcspn(k, "\n");
		if (*next)
			*next++ = '\0';
		if (strncmp(k, "policy ", 7) != 0 ||
		    (v = strchr(k + 7, ' ')) == NULL)
			continue;
		*v++ = '\0';
		/* Unset strings are written empty; a list may be empty. */
		if (*v == '\0' && strcmp(k + 7, "authorized_imports") != 0)
			continue;
		if ((e = policy_set(p, k + 7, v)) != NULL)
			die("%s: %s", st->path, e);
	}
	free(line);
}

/* A FIFO the container user can open, in sbx's private directory. */
static void
make_fifo(const struct job *jb, const char *dir, const char *name)
{
	char *path = smprintf("%s/%s", dir, name);

	if (mkfifo(path, geteuid() == 0 ? 0600 : 0666) < 0 ||
	    (geteuid() == 0 && chown(path, jb->uid, jb->gid) < 0) ||
	    (geteuid() != 0 && chmod(path, 0666) < 0))
		die("mkfifo %s:", path);
	free(path);
}

/* The session's pid 1, copied: a session outlives the sbx that made it. */
static void
copy_supervisor(const char *dst)
{
	const char *src = supervisor();
	int in;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		die("%s: the supervisor:", src);
	copy_into(in, src, dst, 0755);
	close(in);
}

/*
 * The session's files beside the shadow: sbx/ (read-only at /sbx: the
 * supervisor, the guard, the steps), ctl/ (the FIFOs) and out/.
 */
static void
session_stage(struct job *jb)
{
	char *p;

	stage(jb);
	p = smprintf("%s/supervise", jb->scriptdir);
	copy_supervisor(p);
	free(p);
	p = smprintf("%s/steps", jb->scriptdir);
	if (mkdir(p, 0755) < 0)
		die("mkdir %s:", p);
	free(p);
	p = smprintf("%s/ctl", jb->scriptdir);
	if (mkdir(p, 0755) < 0 || mkdir(jb->ctldir, 0700) < 0)
		die("mkdir %s:", jb->ctldir);
	free(p);
	/* Ours, not the container user's: a step must not be able to
	 * swap a FIFO or plant the next step's. */
	if (chmod(jb->ctldir, 0755) < 0)
		die("chmod %s:", jb->ctldir);
	make_fifo(jb, jb->ctldir, "req");
	make_fifo(jb, jb->ctldir, "rsp");
}

/* Opens a FIFO of the session directory: "req", "rsp", "ctl/N.out". */
static int
open_ctl(const char *dir, const char *name, int flags)
{
	char *path = smprintf("%s/%s", dir, name);
	int fd = open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);

	free(path);
	return fd;
}

/*
 * The supervisor holds req and rsp open now: move them out of ctl/, out
 * of every step's reach.  A step could otherwise read the host's lines,
 * nonces and all, and answer in the supervisor's name.
 */
static void
hide_channel(const char *dir)
{
	static const char *names[] = { "req", "rsp" };
	char *from, *to;
	size_t i;

	for (i = 0; i < LEN(names); i++) {
		from = smprintf("%s/ctl/%s", dir, names[i]);
		to = smprintf("%s/%s", dir, names[i]);
		if (rename(from, to) < 0)
			die("rename %s:", from);
		free(from);
		free(to);
	}
}

/* Waits for the supervisor's "ready", dropping anything else. */
static int
wait_ready(int rsp)
{
	struct pollfd p = { rsp, POLLIN, 0 };
	double end = now() + READY_WAIT;
	char buf[256];
	ssize_t n;

	while (now() < end && !sbx_signalled()) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((n = read(rsp, buf, sizeof(buf) - 1)) <= 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, "ready\n"))
			return 1;
	}
	return 0;
}

static void
event_session(const char *event, const char *dir, int running)
{
	static const char *keys[] = { "id", "runtime", "name", "template",
	    "image", "dir", "workspace" };
	struct state st;
	struct jbuf j;
	long long started;
	char *v, *ws;
	size_t i;

	state_read(&st, dir);
	started = state_num(&st, "started");
	jb_begin(&j, event);
	for (i = 0; i < LEN(keys); i++) {
		jb_str(&j, keys[i], v = state_get(&st, keys[i]));
		free(v);
	}
	ws = smprintf("%s/ws", dir);
	jb_str(&j, "shadow", ws);
	free(ws);
	jb_int(&j, "timeout", state_num(&st, "timeout"));
	jb_int(&j, "idle_timeout", state_num(&st, "idle_timeout"));
	jb_int(&j, "max_lifetime", state_num(&st, "max_lifetime"));
	jb_int(&j, "started", started);
	jb_int(&j, "expires", started + state_num(&st, "max_lifetime"));
	if (running >= 0)
		jb_bool(&j, "running", running);
	jb_emit(&j);
	state_free(&st);
}

/*
 * sbx start: the policy, the shadow and the container of a run, with
 * the supervisor in place of the script.  Prints the session event.
 */
int
session_start(const struct config *cfg, struct job *jb)
{
	char id[IDLEN + 1], **argv, *image_id = NULL, *dir;
	int rsp;

	random_hex(id, IDLEN / 2);
	jb->session = id;
	snprintf(jb->name, sizeof(jb->name), "sbx-session-%s", id);
	dir = session_dir(id);
	if (mkdir(dir, 0700) < 0) {
		free(dir);
		die("mkdir %s" PREFIX "%s:", tmpdir(), id);
	}
	layout(jb, dir);
	set_cleanup(jb);
	write_marks(jb);
	make_workspace(jb);
	session_stage(jb);
	if ((rsp = open_ctl(jb->rundir, "ctl/rsp", O_RDONLY)) < 0)
		die("open %s/ctl/rsp:", jb->rundir);
	argv = backend_argv(jb);
	if (backend_detach(jb, argv) != 0)
		die("%s: the session's container did not start", jb->runtime);
	if (!wait_ready(rsp))
		die("%s: the session's supervisor did not start within %d s",
		    jb->runtime, READY_WAIT);
	close(rsp);
	hide_channel(jb->rundir);
	/* Asked once here, so that an audited step pays no CLI call. */
	if (system_value(cfg, "audit_log"))
		image_id = backend_image_id(jb);
	state_write(jb, cfg->path, image_id);
	free(image_id);
	event_session("session", jb->rundir, -1);
	jb->started = 0;	/* it is the session's now, not ours */
	set_cleanup(NULL);
	strv_free(argv);
	return 0;
}

/* Is the supervisor there?  Only a live one holds req open to read. */
static int
session_running(const char *dir)
{
	int fd = open_ctl(dir, "req", O_WRONLY);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* A job for an existing session: enough to talk to it and stop it. */
static void
session_job(struct job *jb, const char *dir, const struct state *st)
{
	char *v;

	memset(jb, 0, sizeof(*jb));
	layout(jb, estrdup(dir));
	v = state_get(st, "runtime");
	jb->runtime = strcmp(v, "docker") == 0 ? "docker" : "podman";
	free(v);
	jb->runtime_path = runtime_find(jb->runtime);
	v = state_get(st, "name");
	snprintf(jb->name, sizeof(jb->name), "%s", v);
	free(v);
	jb->uid = (uid_t)state_num(st, "uid");
	jb->gid = (gid_t)state_num(st, "gid");
	jb->pol.name = state_get(st, "template");
	jb->pol.imports = ecalloc(1, sizeof(char *));
	state_policy(st, &jb->pol);
}

/*
 * Empties out/ of what the last step left: its value, its refusal, and
 * whatever else it wrote.  The container is alive, so this walks a tree
 * it may be changing: by descriptor, inside out/, as every removal does.
 */
static void
clear_out(const struct job *jb)
{
	if (shadow_empty(jb->outdir) < 0)
		warn("empty %s:", jb->outdir);
}

/* The next step's number, under the session lock. */
static long
next_step(const char *dir)
{
	char *p = smprintf("%s/seq", dir), buf[32] = "";
	long n = 0;
	FILE *f;

	if ((f = fopen(p, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f))
			n = strtol(buf, NULL, 10);
		fclose(f);
	}
	if ((f = fopen(p, "w")) == NULL || fprintf(f, "%ld\n", n + 1) < 0 ||
	    fclose(f) == EOF)
		die("write %s:", p);
	free(p);
	return n + 1;
}

/*
 * sbx/steps/N: req, the timeout and the argv, each NUL-terminated, and
 * the script in s/, where no name of it can be one of the protocol's.
 * The interpreter comes from the configuration, the guard from the
 * session's template.
 */
static void
write_step(struct job *jb, long n, const char *base, long timeout,
    char **args)
{
	struct jbuf b = { NULL, 0, 0, 0 };
	char *dir = smprintf("%s/steps/%ld", jb->scriptdir, n), *p, *ctr;
	char num[32];
	size_t i;
	int fd;

	p = smprintf("%s/s", dir);
	if (mkdir(dir, 0755) < 0 || mkdir(p, 0755) < 0)
		die("mkdir %s:", p);
	free(p);
	jb->script_ctr = smprintf("/sbx/steps/%ld/s/%s", n, base);
	stage_script(jb);
	snprintf(num, sizeof(num), "%ld", timeout);
	jb_put(&b, num, strlen(num) + 1);
	for (i = 0; jb->lang->command[i]; i++)
		jb_put(&b, jb->lang->command[i], strlen(jb->lang->command[i]) + 1);
	if (jb->guard) {
		ctr = strv_join(jb->pol.imports, ",");
		jb_put(&b, "/sbx/sbx_guard.py", 18);
		jb_put(&b, jb->pol.name, strlen(jb->pol.name) + 1);
		jb_put(&b, ctr, strlen(ctr) + 1);
		free(ctr);
	}
	jb_put(&b, jb->script_ctr, strlen(jb->script_ctr) + 1);
	for (i = 0; args[i]; i++)
		jb_put(&b, args[i], strlen(args[i]) + 1);
	p = smprintf("%s/req", dir);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644)) < 0 ||
	    write(fd, b.s, b.len) != (ssize_t)b.len || close(fd) < 0)
		die("write %s:", p);
	free(p);
	free(b.s);
	free(dir);
}

/* The step's output FIFOs, opened to read before the step opens them. */
static void
open_outputs(const struct job *jb, long n, struct step *sp)
{
	char name[64];

	snprintf(name, sizeof(name), "%ld.out", n);
	make_fifo(jb, jb->ctldir, name);
	snprintf(name, sizeof(name), "ctl/%ld.out", n);
	sp->out = open_ctl(jb->rundir, name, O_RDONLY);
	snprintf(name, sizeof(name), "%ld.err", n);
	make_fifo(jb, jb->ctldir, name);
	snprintf(name, sizeof(name), "ctl/%ld.err", n);
	sp->err = open_ctl(jb->rundir, name, O_RDONLY);
	if (sp->out < 0 || sp->err < 0)
		die("open %s/%ld.out:", jb->ctldir, n);
}

static void
remove_outputs(const char *dir, long n)
{
	char *p = smprintf("%s/ctl/%ld.out", dir, n);

	unlink(p);
	free(p);
	p = smprintf("%s/ctl/%ld.err", dir, n);
	unlink(p);
	free(p);
}

/* Sends "run N NONCE": one write, well under PIPE_BUF. */
static void
send_step(struct step *sp, long n)
{
	char msg[128], junk[4096];
	int len;

	while (read(sp->rsp, junk, sizeof(junk)) > 0)
		;	/* what an earlier step or sbx left unread */
	/* The newline first ends whatever partial line is there. */
	len = snprintf(msg, sizeof(msg), "\nrun %ld %s\n", n, sp->nonce);
	if (write(sp->req, msg, (size_t)len) != len)
		die("the session's supervisor does not take steps");
}

/*
 * rundir/inflight holds the nonce of the step in flight.  Found under
 * the lock, it is a step whose sbx exec died: it may still run, and the
 * supervisor takes no step before it ends, so it is ended first.  A
 * "pong" says the supervisor is idle; it only answers one when it is.
 */
static void
end_orphan(const char *dir, struct step *sp)
{
	char *p = smprintf("%s/inflight", dir), buf[4096], *s, msg[64];
	struct pollfd pfd = { sp->rsp, POLLIN, 0 };
	double end = now() + GRACE_STEP;
	FILE *f;
	ssize_t n;
	long step = 0;
	int len, done = 0;

	if ((f = fopen(p, "r")) == NULL) {
		free(p);
		return;
	}
	if (fscanf(f, "%ld %32s", &step, sp->nonce) == 2) {
		len = snprintf(msg, sizeof(msg), "\nkill %s\n", sp->nonce);
		if (write(sp->req, msg, (size_t)len) < 0)
			die("the session's supervisor does not take steps");
	}
	fclose(f);
	while (!done && now() < end) {
		if (write(sp->req, "\nping\n", 6) < 0)
			break;
		if (poll(&pfd, 1, 100) <= 0 ||
		    (n = read(sp->rsp, buf, sizeof(buf) - 1)) <= 0)
			continue;
		buf[n] = '\0';
		done = strstr(buf, "\npong\n") != NULL ||
		    ((s = strstr(buf, sp->nonce)) && s > buf && s[-1] == '\n');
	}
	if (!done)
		die("the session's supervisor did not end an orphaned step");
	unlink(p);
	free(p);
	if (step > 0)
		remove_outputs(dir, step);
}

/*
 * Under the lock: a step left running by a killed sbx exec is ended,
 * so that what sbx diff and apply read stands still.
 */
void
session_settle(const char *dir)
{
	struct step sp;
	char *p = smprintf("%s/inflight", dir);

	memset(&sp, 0, sizeof(sp));
	if (access(p, F_OK) == 0) {
		if ((sp.req = open_ctl(dir, "req", O_WRONLY)) >= 0 &&
		    (sp.rsp = open_ctl(dir, "rsp", O_RDONLY)) >= 0)
			end_orphan(dir, &sp);
		else	/* no supervisor: nothing runs */
			unlink(p);
		if (sp.req > 0)
			close(sp.req);
		if (sp.rsp > 0)
			close(sp.rsp);
	}
	free(p);
}

static void
set_inflight(const char *dir, long n, const char *nonce)
{
	char *p = smprintf("%s/inflight", dir);
	FILE *f;

	if (nonce == NULL)
		unlink(p);
	else if ((f = fopen(p, "w")) == NULL ||
	    fprintf(f, "%ld %s\n", n, nonce) < 0 || fclose(f) == EOF)
		die("write %s:", p);
	free(p);
}

static void
event_step(const struct job *jb, long n, long timeout)
{
	struct jbuf j;

	jb_begin(&j, "start");
	jb_str(&j, "session", jb->session);
	jb_int(&j, "step", n);
	jb_str(&j, "runtime", jb->runtime);
	jb_str(&j, "name", jb->name);
	jb_str(&j, "script", jb->script);
	jb_strv(&j, "args", jb->args);
	jb_int(&j, "timeout", timeout);
	jb_emit(&j);
}

/*
 * sbx exec: one step in a session, with its own timeout and result.
 * The job comes from the session's state; the script from the host.
 */
int
session_exec(struct job *jb, const char *dir, long timeout, int audit)
{
	struct step sp;
	struct result r;
	long n;

	memset(&sp, 0, sizeof(sp));
	memset(&r, 0, sizeof(r));
	r.exit_code = -1;	/* until the supervisor says otherwise */
	if ((sp.req = open_ctl(dir, "req", O_WRONLY)) < 0)
		die("session %s is not running (ended, or stopped)",
		    jb->session);
	if ((sp.rsp = open_ctl(dir, "rsp", O_RDONLY)) < 0)
		die("open %s/rsp:", dir);
	end_orphan(dir, &sp);
	n = next_step(dir);
	clear_out(jb);
	write_step(jb, n, jb->script_base, timeout, jb->args);
	open_outputs(jb, n, &sp);
	event_step(jb, n, timeout);
	random_hex(sp.nonce, 16);
	set_inflight(dir, n, sp.nonce);
	audit_write(audit, jb, NULL, jb->image_id);
	send_step(&sp, n);
	backend_step(jb, &sp, timeout, &r);
	set_inflight(dir, n, NULL);
	close(sp.out);
	close(sp.err);
	remove_outputs(dir, n);
	read_refused(jb, &r);
	read_value(jb, &r);
	event_result(jb, &r);
	audit_write(audit, jb, &r, jb->image_id);
	free(r.value);
	close(sp.req);
	close(sp.rsp);
	return r.status;
}

/* Loads what exec needs from the session's directory. */
void
session_load(struct job *jb, const char *id)
{
	char *dir = session_find(id);
	struct state st;

	state_read(&st, dir);
	session_job(jb, dir, &st);
	jb->session = id;
	jb->image = state_get(&st, "image");
	jb->dir = state_get(&st, "dir");
	jb->image_id = state_find(&st, "image_id", 0);
	state_free(&st);
	free(dir);
}

/* sbx stop: the container goes, then the directory. */
int
session_stop(const char *id)
{
	struct job jb;
	struct state st;
	char *dir = session_find(id);
	int lock;

	state_read(&st, dir);
	session_job(&jb, dir, &st);
	state_free(&st);
	if (jb.runtime_path)
		backend_remove(&jb);
	lock = session_lock(dir, 0);	/* a step in flight has ended */
	event_session("stopped", dir, 0);
	if (rundir_remove(dir) < 0)
		die("remove %s:", dir);
	if (lock >= 0)
		close(lock);
	job_free(&jb);
	free(dir);
	return 0;
}

/*
 * Calls fn for each session directory of ours in TMPDIR, with whether
 * its supervisor is there.
 */
void
session_each(void (*fn)(const char *dir, int running))
{
	const char *t = tmpdir();
	struct dirent *de;
	struct stat st;
	char *path;
	DIR *d;

	if ((d = opendir(t)) == NULL)
		die("%s:", t);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, PREFIX, sizeof(PREFIX) - 1) != 0 ||
		    !session_id_ok(de->d_name + sizeof(PREFIX) - 1))
			continue;
		path = smprintf("%s/%s", t, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
		    st.st_uid == geteuid())
			fn(path, session_running(path));
		free(path);
	}
	closedir(d);
}

static void
list_one(const char *dir, int running)
{
	char *p = smprintf("%s/state", dir);

	if (access(p, F_OK) == 0)
		event_session("session", dir, running);
	free(p);
}

/* sbx ls: one "session" line each. */
int
session_ls(void)
{
	session_each(list_one);
	return 0;
}

/* Is the session past its max_lifetime? */
static int
state_over(const char *dir)
{
	struct state st;
	int over;

	state_read(&st, dir);
	over = state_num(&st, "started") + state_num(&st, "max_lifetime") <
	    (long long)time(NULL);
	state_free(&st);
	return over;
}

/*
 * sbx gc: a session whose supervisor is gone and whose lifetime is
 * over; until then it may still be diffed and applied.
 */
static void
gc_one(const char *dir, int running)
{
	char *p = smprintf("%s/state", dir);
	struct stat st;
	int over, lock;

	/* No state yet: a start in progress, unless long abandoned. */
	if (lstat(p, &st) < 0)
		over = lstat(dir, &st) == 0 &&
		    st.st_mtime + 2 * READY_WAIT < time(NULL);
	else
		over = state_over(dir);
	if (!running && over && (lock = session_lock(dir, 1)) >= 0) {
		close(lock);
		if (rundir_remove(dir) == 0)
			event_gc("session", NULL, dir, "ended");
		else
			warn("remove %s:", dir);
	}
	free(p);
}

void
session_gc(void)
{
	session_each(gc_one);
}
