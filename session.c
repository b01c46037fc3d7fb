/* See LICENSE file for copyright and license details. */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

/*
 * Sessions: one container that outlives sbx, and steps sent to it, and
 * their commands (sbx start's second half, exec, stop, ls, and their
 * part of gc).
 *
 * sbx start makes the session's directory, TMPDIR/sbx-session.ID, as a
 * run makes its rundir, and starts the container detached with
 * supervise.c as its PID 1; step.c talks to it (see proto.h).  The
 * session's state file records what start knew, for every later
 * command.  The supervisor also holds the session's clocks, idle
 * timeout and maximum lifetime, and exits at either; the container's
 * --rm and sbx gc do the rest.  Steps of one session are serialized
 * with an flock of its directory.
 */

#define IDLEN 12

int
session_id_ok(const char *id)
{
	return strlen(id) == IDLEN && strspn(id, "0123456789abcdef") == IDLEN;
}

/* The directory of session id; caller frees. */
char *
session_dir(const char *id)
{
	return smprintf("%s/" SESSION_PREFIX "%s", tmpdir(), id);
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
	char *path = smprintf("%s.new", jb->lay.state);
	FILE *f;
	size_t i;

	/* Whole or not at all: a pool's claimer takes a slot by it. */
	if ((f = fopen(path, "wx")) == NULL)
		die("create %s:", path);
	fprintf(f, "id %s\nruntime %s\nname %s\ntemplate %s\nimage %s\n"
	    "dir %s\nworkspace %s\ntimeout %ld\nmax_output %lld\nmax_bytes %lld\n"
	    "idle_timeout %ld\nmax_lifetime %ld\nstarted %lld\n"
	    "uid %ld\ngid %ld\nconfig %s\nimports ", jb->session, jb->ctr.runtime,
	    jb->ctr.name, jb->pol.name, jb->image, jb->dir ? jb->dir : "",
	    workspace_name(jb->pol.workspace), jb->pol.timeout,
	    jb->pol.max_output, jb->pol.max_bytes, jb->pol.idle_timeout, jb->pol.max_lifetime,
	    (long long)time(NULL), (long)jb->uid, (long)jb->gid, config);
	for (i = 0; jb->pol.imports[i]; i++)
		fprintf(f, "%s%s", i ? "," : "", jb->pol.imports[i]);
	fprintf(f, "\n");
	if (image_id)
		fprintf(f, "image_id %s\n", image_id);
	policy_write(f, "policy ", &jb->pol);
	if (fclose(f) == EOF || rename(path, jb->lay.state) < 0)
		die("write %s:", path);
	free(path);
}

/* The state file, read once: what start recorded, "key value" lines. */
void
state_read(struct state *st, const struct layout *l)
{
	struct stat sb;
	ssize_t n;
	int fd;

	st->path = estrdup(l->state);
	if ((fd = open(st->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		die("%s: no such session", l->dir);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > (1 << 20))
		die("%s: not a session's state", st->path);
	st->text = emalloc((size_t)sb.st_size + 1);
	if ((n = read(fd, st->text, (size_t)sb.st_size)) < 0)
		die("read %s:", st->path);
	st->text[n] = '\0';
	close(fd);
}

void
state_free(struct state *st)
{
	free(st->path);
	free(st->text);
}

/* One value, or NULL if need is 0; caller frees. */
char *
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

char *
state_get(const struct state *st, const char *key)
{
	return state_find(st, key, 1);
}

long
state_num(const struct state *st, const char *key)
{
	char *v = state_get(st, key);
	long n = strtol(v, NULL, 10);

	free(v);
	return n;
}

/* The policy the session started with, as state_write wrote it. */
void
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

/* The session's pid 1, copied: a session outlives the sbx that made it. */
static void
copy_supervisor(const struct layout *l)
{
	const char *src = supervisor();
	char *dst = smprintf("%s/" NAME_SUPERVISE, l->sbx);
	int in;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		die("%s: the supervisor:", src);
	copy_into(in, src, dst, 0755);
	close(in);
	free(dst);
}

static void
event_session(const char *event, const char *dir, int running)
{
	static const char *keys[] = { "id", "runtime", "name", "template",
	    "image", "dir", "workspace" };
	struct layout l;
	struct state st;
	struct jbuf j;
	long long started;
	char *v;
	size_t i;

	layout_set(&l, estrdup(dir));
	state_read(&st, &l);
	started = state_num(&st, "started");
	jb_begin(&j, event);
	for (i = 0; i < LEN(keys); i++) {
		jb_str(&j, keys[i], v = state_get(&st, keys[i]));
		free(v);
	}
	jb_str(&j, "shadow", l.ws);
	jb_int(&j, "timeout", state_num(&st, "timeout"));
	jb_int(&j, "idle_timeout", state_num(&st, "idle_timeout"));
	jb_int(&j, "max_lifetime", state_num(&st, "max_lifetime"));
	jb_int(&j, "started", started);
	jb_int(&j, "expires", started + state_num(&st, "max_lifetime"));
	if (running >= 0)
		jb_bool(&j, "running", running);
	jb_emit(&j);
	state_free(&st);
	layout_free(&l);
}

/*
 * The container of a session or of a pool's slot, in its directory dir
 * (made already, and l's from here on): the policy, the shadow (a
 * slot's is empty until claimed) and the container of a run, with the
 * supervisor in place of the script, and sbx/ beside the shadow holding
 * the supervisor, the guard and the steps.  The state file, written
 * last, says it is ready.
 */
void
session_boot(const struct config *cfg, struct job *jb, char *dir)
{
	char **argv, *image_id = NULL;
	int rsp;

	layout_set(&jb->lay, dir);
	job_cleanup(jb);
	rundir_marks(&jb->lay, jb->ctr.name);
	make_shadow(jb);
	stage(jb);
	copy_supervisor(&jb->lay);
	rsp = channel_make(&jb->lay, jb->uid, jb->gid);
	argv = backend_argv(jb);
	if (backend_detach(&jb->ctr, argv) != 0)
		die("%s: the session's container did not start",
		    jb->ctr.runtime);
	if (!channel_ready(&jb->lay, rsp)) {
		if (sbx_signalled())
			die("interrupted");
		die("%s: the session's supervisor did not start within %d s",
		    jb->ctr.runtime, READY_WAIT);
	}
	/* Asked once here, so that an audited step pays no CLI call. */
	if (system_value(cfg, "audit_log"))
		image_id = backend_image_id(&jb->ctr, jb->image);
	state_write(jb, cfg->path, image_id);
	free(image_id);
	jb->ctr.started = 0;	/* it is the session's now, not ours */
	job_cleanup(NULL);
	strv_free(argv);
}

/* sbx start: a session's container; prints the session event. */
int
session_start(const struct config *cfg, struct job *jb)
{
	char id[IDLEN + 1], *dir;

	random_hex(id, IDLEN / 2);
	jb->session = id;
	snprintf(jb->ctr.name, sizeof(jb->ctr.name), "sbx-session-%s", id);
	dir = session_dir(id);
	if (mkdir(dir, 0700) < 0) {
		free(dir);
		die("mkdir %s/" SESSION_PREFIX "%s:", tmpdir(), id);
	}
	session_boot(cfg, jb, dir);
	event_session("session", jb->lay.dir, -1);
	jb->session = NULL;
	return 0;
}

/* A job for an existing session: enough to talk to it and stop it. */
static void
session_job(struct job *jb, const char *dir, struct state *st)
{
	char *v;

	memset(jb, 0, sizeof(*jb));
	layout_set(&jb->lay, estrdup(dir));
	state_read(st, &jb->lay);
	v = state_get(st, "runtime");
	jb->ctr.runtime = strcmp(v, "docker") == 0 ? "docker" : "podman";
	free(v);
	jb->ctr.path = runtime_find(jb->ctr.runtime);
	jb->ctr.lay = &jb->lay;
	v = state_get(st, "name");
	snprintf(jb->ctr.name, sizeof(jb->ctr.name), "%s", v);
	free(v);
	jb->uid = (uid_t)state_num(st, "uid");
	jb->gid = (gid_t)state_num(st, "gid");
	jb->pol.name = state_get(st, "template");
	policy_lists(&jb->pol);
	state_policy(st, &jb->pol);
}

static void
event_step(const struct job *jb, long n, long timeout)
{
	struct jbuf j;

	jb_begin(&j, "start");
	jb_str(&j, "session", jb->session);
	jb_int(&j, "step", n);
	jb_str(&j, "runtime", jb->ctr.runtime);
	jb_str(&j, "name", jb->ctr.name);
	jb_str(&j, "script", jb->script);
	jb_strv(&j, "args", jb->args);
	jb_int(&j, "timeout", timeout);
	jb_emit(&j);
}

/*
 * One step in a session, with its own timeout and result, under the
 * session's lock.  The job comes from the session's state, the script
 * from the host, its name in the container is base.  out/ is emptied
 * of what the last step left first: the container is alive, so this
 * walks a tree it may be changing, by descriptor, as every removal does.
 */
static int
step_run(struct job *jb, const char *base, long timeout, int audit,
    const char *image_id)
{
	struct step sp;
	struct result r;

	result_init(&r);
	r.repl = step_repl(jb);
	if (step_open(&sp, &jb->lay) < 0)
		die("session %s is not running (ended, or stopped)",
		    jb->session);
	if (shadow_empty(jb->lay.out) < 0)
		warn("empty %s:", jb->lay.out);
	step_write(&sp, jb, base, timeout);
	event_step(jb, sp.n, timeout);
	audit_write(audit, jb, NULL, image_id);
	if (step_compile(&jb->ctr, &sp, jb, base, timeout, &r) == 0)
		step_go(jb, &sp, timeout, audit, &r);
	read_out(jb, &r);
	event_result(jb, &r);
	audit_write(audit, jb, &r, image_id);
	free(r.value);
	return r.status;
}

/* What exec needs from session id's directory; returns its image id. */
static char *
session_load(struct job *jb, const char *dir, const char *id)
{
	struct state st;
	char *image_id;

	session_job(jb, dir, &st);
	jb->session = id;
	jb->dir = state_get(&st, "dir");
	jb->image = state_get(&st, "image");
	image_id = state_find(&st, "image_id", 0);
	state_free(&st);
	return image_id;
}

/*
 * A step's language, by -e or its script's extension (stdin: py), and
 * its name in the container; *owned is what the caller frees.
 */
static const char *
step_script(const struct config *cfg, struct job *jb, const char *ext,
    char **owned)
{
	const char *slash = strrchr(jb->script, '/');

	if (strcmp(jb->script, "-") == 0) {
		job_lang(cfg, jb, ext ? ext : "py", jb->script);
		return *owned = smprintf("main.%s", jb->lang->ext);
	}
	job_lang(cfg, jb, ext ? ext : extension(jb->script), jb->script);
	return slash ? slash + 1 : jb->script;
}

/* sbx exec [-c config] [-e ext] [-T timeout] id script [arg ...] */
int
cmd_exec(int argc, char *argv[])
{
	struct config cfg;
	struct job jb;
	const char *conf = NULL, *ext = NULL, *id, *base;
	char *dir, *image_id, *owned = NULL;
	static const struct option longopts[] = {
		{ "human", no_argument, NULL, 'H' },
		{ "json", no_argument, NULL, 'J' },
		{ NULL, 0, NULL, 0 }
	};
	long timeout = 0;
	int c, lock, status, audit, human = -1;

	while ((c = getopt_long(argc, argv, "c:e:T:", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': human = 1; break;
		case 'J': human = 0; break;
		case 'c': conf = optarg; break;
		case 'e': ext = optarg; break;
		case 'T':
			if (!parse_duration(optarg, &timeout) || timeout < 1)
				die("-T %s: not a duration of 1 s or more",
				    optarg);
			break;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2)
		return EXIT_USAGE;
	human_choose(human);
	if (!session_id_ok(id = argv[optind]))
		die("%s: not a session id", id);
	config_find(&cfg, conf);
	dir = session_find(id);
	image_id = session_load(&jb, dir, id);
	if (timeout > jb.pol.timeout)
		die("-T %ld: more than the session's timeout of %ld s",
		    timeout, jb.pol.timeout);
	jb.script = jb.script_orig = argv[optind + 1];
	jb.args = argv + optind + 2;
	base = step_script(&cfg, &jb, ext, &owned);
	audit = audit_open(system_value(&cfg, "audit_log"));
	lock = session_lock(dir, 0);
	status = step_run(&jb, base, timeout ? timeout : jb.pol.timeout, audit,
	    image_id);
	close(lock);
	if (audit >= 0)
		close(audit);
	free(owned);
	free(image_id);
	free((char *)jb.image);
	jb.session = NULL;
	job_free(&jb);
	config_free(&cfg);
	free(dir);
	return status;
}

/* sbx stop id: the container goes, then the directory. */
int
cmd_stop(int argc, char *argv[])
{
	struct job jb;
	struct state st;
	char *dir;
	int lock;

	if (argc != 2)
		return EXIT_USAGE;
	if (!session_id_ok(argv[1]))
		die("%s: not a session id", argv[1]);
	dir = session_find(argv[1]);
	session_job(&jb, dir, &st);
	state_free(&st);
	if (jb.ctr.path)
		backend_remove(&jb.ctr);
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

static int
session_name(const char *name)
{
	return strncmp(name, SESSION_PREFIX, strlen(SESSION_PREFIX)) == 0 &&
	    session_id_ok(name + strlen(SESSION_PREFIX));
}

static void
list_one(const struct layout *l)
{
	if (access(l->state, F_OK) == 0)
		event_session("session", l->dir, channel_alive(l));
}

/* sbx ls: one "session" line each. */
int
cmd_ls(int argc, char *argv[])
{
	(void)argv;
	if (argc != 1)
		return EXIT_USAGE;
	rundir_each(session_name, list_one);
	return 0;
}

/* Is the session past its max_lifetime? */
static int
state_over(const struct layout *l)
{
	struct state st;
	int over;

	state_read(&st, l);
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
gc_one(const struct layout *l)
{
	struct stat st;
	int over, lock;

	/* No state yet: a start in progress, unless long abandoned. */
	if (lstat(l->state, &st) < 0)
		over = lstat(l->dir, &st) == 0 &&
		    st.st_mtime + 2 * READY_WAIT < time(NULL);
	else
		over = state_over(l);
	if (over && !channel_alive(l) &&
	    (lock = session_lock(l->dir, 1)) >= 0) {
		close(lock);
		if (rundir_remove(l->dir) == 0)
			event_gc("session", NULL, l->dir, "ended");
		else
			warn("remove %s:", l->dir);
	}
}

void
session_gc(void)
{
	rundir_each(session_name, gc_one);
}
