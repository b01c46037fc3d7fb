/* See LICENSE file for copyright and license details. */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

/*
 * Pools: containers started ahead, each idle under its supervisor with
 * an empty workspace, each used by one run (sbx -P) and then ended.
 *
 * TMPDIR/sbx-pool.NAME holds the pool's state (what sbx pool start
 * was given, and its template as the configuration said then) and one
 * slot directory per container, TMPDIR/sbx-pool.NAME/ID, laid out as a
 * session's (session_boot() makes it).  A slot is ready once its state
 * file is there.  A run claims one by taking its lock (flock, never
 * waiting) and then creating "claimed" in it; a slot that has that file
 * is never claimed again, even if its claimer was killed, and whoever
 * finds it so, unlocked, removes it.  Filling (sbx pool start, and sbx
 * pool fill, which a run starts in the background) holds the pool's
 * own lock: a slot without state under that lock was abandoned.
 */

#define CLAIMED "claimed"
#define DONE "done"		/* its run is over, its container ending */
#define LIFE_MARGIN 10	/* s of its lifetime a slot keeps past a run's timeout */

/* What a pool's state says, read once. */
struct pool {
	char *name;
	char *dir;
	struct state st;
	long size;
};

int
pool_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= 32 && strspn(name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == n &&
	    strchr("_-.", *name) == NULL;
}

/* Is dir a slot's: TMPDIR/sbx-pool.NAME/ID?  For sbx gc. */
int
pool_slot(const char *dir)
{
	const char *id = strrchr(dir, '/'), *up;

	if (id == NULL || id == dir || !session_id_ok(id + 1))
		return 0;
	for (up = id - 1; up > dir && *up != '/'; up--)
		;
	return strncmp(up + 1, POOL_PREFIX, strlen(POOL_PREFIX)) == 0;
}

/*
 * A directory's lock, as session_lock() takes it, but -1 if another
 * holds it and -2 if the directory is gone: a pool's slots come and go.
 * A directory removed, and maybe made again, while we waited is gone:
 * the lock must be of what the path names now.
 */
static int
lock_dir(const char *dir, int nowait)
{
	struct stat a, b;
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -2;
	while (flock(fd, LOCK_EX | (nowait ? LOCK_NB : 0)) < 0) {
		if (errno != EINTR || sbx_signalled()) {
			close(fd);
			return -1;
		}
	}
	if (fstat(fd, &a) < 0 || lstat(dir, &b) < 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		close(fd);
		return -2;
	}
	return fd;
}

/* The pool's state, if it has one yet: 0 if not. */
static int
pool_read(struct pool *p)
{
	struct layout l;
	int have;

	layout_set(&l, estrdup(p->dir));
	if ((have = access(l.state, F_OK) == 0)) {
		state_read(&p->st, &l);
		p->size = state_num(&p->st, "size");
	}
	layout_free(&l);
	return have;
}

/*
 * The pool called name, its state read; 0 if there is none.  Like a
 * session's, its directory must be ours and private.
 */
static int
pool_open(struct pool *p, const char *name)
{
	struct stat sb;

	memset(p, 0, sizeof(*p));
	if (!pool_name_ok(name))
		die("%s: not a pool name", name);
	p->name = estrdup(name);
	p->dir = smprintf("%s/" POOL_PREFIX "%s", tmpdir(), name);
	if (lstat(p->dir, &sb) < 0)
		return 0;
	if (!S_ISDIR(sb.st_mode) || sb.st_uid != geteuid() ||
	    (sb.st_mode & 077) != 0)
		die("%s: not a pool directory of this user", p->dir);
	return pool_read(p);
}

static void
pool_close(struct pool *p)
{
	free(p->name);
	free(p->dir);
	if (p->st.text)
		state_free(&p->st);
	memset(p, 0, sizeof(*p));
}

/* The lines of text that start with prefix, in order; caller frees. */
static char *
lines_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix), len, at = 0;
	char *s = emalloc(strlen(text) + 1);
	const char *p;

	for (p = text; *p; p += len + (p[len] == '\n')) {
		len = strcspn(p, "\n");
		if (strncmp(p, prefix, n) == 0) {
			memcpy(s + at, p, len);
			s[at + len] = '\n';
			at += len + 1;
		}
	}
	s[at] = '\0';
	return s;
}

/* policy_write()'s lines of p, as a string; caller frees. */
static char *
policy_text(const struct policy *p)
{
	char *s = NULL;
	size_t len;
	FILE *f;

	if ((f = open_memstream(&s, &len)) == NULL)
		die("open_memstream:");
	policy_write(f, "tmpl ", p);
	if (fclose(f) == EOF)
		die("open_memstream:");
	return s;
}

/*
 * Dies unless the pool's template is, in cfg, what it was when the pool
 * started: a pool is never served stale.  Its image too, as the
 * language's section names it now.
 */
static void
pool_fresh(const struct config *cfg, const struct pool *p)
{
	struct policy now;
	char *tmpl, *was, *is, *conf;

	tmpl = state_get(&p->st, "template");
	conf = state_get(&p->st, "config");
	if (strcmp(conf, cfg->path) != 0)
		die("pool %s was started with the configuration %s, and "
		    "this reads %s (give -c %s?)", p->name, conf, cfg->path,
		    conf);
	free(conf);
	if (!policy_resolve(cfg, tmpl, &now))
		die("pool %s: template '%s' is no longer in %s; sbx pool "
		    "stop %s", p->name, tmpl, cfg->path, p->name);
	is = policy_text(&now);
	was = lines_of(p->st.text, "tmpl ");
	if (strcmp(is, was) != 0)
		die("pool %s: template '%s' in %s changed since the pool "
		    "started; sbx pool stop %s, and start it again", p->name,
		    tmpl, cfg->path, p->name);
	policy_free(&now);
	free(is);
	free(was);
	free(tmpl);
}

/* The pool's policy, as sbx pool start resolved it. */
static void
pool_policy(const struct pool *p, struct policy *pol)
{
	const char *e;
	char *rt = state_get(&p->st, "runtime");

	memset(pol, 0, sizeof(*pol));
	pol->name = state_get(&p->st, "template");
	policy_lists(pol);
	state_policy(&p->st, pol);
	/* auto was resolved once, for all of its containers */
	if ((e = policy_set(pol, "runtime", rt)) != NULL)
		die("%s: %s", p->st.path, e);
	free(rt);
}

/*
 * The pool's state file, whole or not at all: what sbx pool start was
 * given, the policy it resolved, and the template alone as cfg says it,
 * for pool_fresh().
 */
static void
pool_write(const struct config *cfg, const struct job *jb, const char *dir,
    const char *ext, long size)
{
	char *path = smprintf("%s/state.new", dir), *to, *tmpl;
	struct policy t;
	FILE *f;

	if (!policy_resolve(cfg, jb->pol.name, &t))
		die("%s: no template", jb->pol.name);
	tmpl = policy_text(&t);
	policy_free(&t);
	if ((f = fopen(path, "wx")) == NULL)
		die("create %s:", path);
	fprintf(f, "name %s\nruntime %s\ntemplate %s\next %s\nimage %s\n"
	    "size %ld\nconfig %s\ncreated %lld\n%s", jb->pool,
	    jb->ctr.runtime, jb->pol.name, ext, jb->image, size, cfg->path,
	    (long long)time(NULL), tmpl);
	policy_write(f, "policy ", &jb->pol);
	if (fclose(f) == EOF)
		die("write %s:", path);
	to = smprintf("%s/state", dir);
	if (rename(path, to) < 0)
		die("rename %s:", path);
	free(tmpl);
	free(path);
	free(to);
}

/* A slot's job: the pool's policy, a user of its own, no tree. */
static void
slot_job(const struct config *cfg, const struct pool *p, struct job *jb)
{
	char *ext = state_get(&p->st, "ext"), *image;

	memset(jb, 0, sizeof(*jb));
	pool_policy(p, &jb->pol);
	jb->pool = p->name;
	job_session(cfg, jb, NULL, ext, 0);
	image = state_get(&p->st, "image");
	if (strcmp(jb->image, image) != 0)
		die("pool %s: its language's image is %s now, not %s; sbx "
		    "pool stop %s, and start it again", p->name, jb->image,
		    image, p->name);
	free(image);
	free(ext);
}

/* One more container for the pool, ready when this returns. */
static void
slot_start(const struct config *cfg, const struct pool *p)
{
	struct job jb;
	char id[13], *dir;

	slot_job(cfg, p, &jb);
	random_hex(id, 6);
	jb.session = id;
	snprintf(jb.ctr.name, sizeof(jb.ctr.name), "sbx-pool-%s-%s",
	    p->name, id);
	dir = smprintf("%s/%s", p->dir, id);
	if (mkdir(dir, 0700) < 0)
		die("mkdir %s:", dir);
	session_boot(cfg, &jb, dir);
	jb.session = NULL;
	job_free(&jb);
}

/* The slot's container, unless its run said it is ending (pool_leave). */
static void
slot_kill(const struct pool *p, const struct layout *l, const char *why)
{
	struct container c;
	struct stat st;
	char *rt = state_get(&p->st, "runtime");

	memset(&c, 0, sizeof(c));
	c.runtime = strcmp(rt, "docker") == 0 ? "docker" : "podman";
	if (read_mark(l->dir, DONE, c.name, sizeof(c.name), &st) < 0 &&
	    read_mark(l->dir, "container", c.name, sizeof(c.name), &st) > 0 &&
	    (c.path = runtime_find(c.runtime)) != NULL &&
	    backend_remove(&c) == 0 && why)
		event_gc("container", c.runtime, c.name, why);
	free(c.path);
	free(rt);
}

/* A slot's container, if it may be there, and its directory. */
static void
slot_remove(const struct pool *p, const struct layout *l, const char *why)
{
	slot_kill(p, l, why);
	if (rundir_remove(l->dir) < 0)
		warn("remove %s:", l->dir);
}

/*
 * Can a slot serve a run of timeout seconds?  Its supervisor ends at
 * its max_lifetime, counted from its start: a run must end before.
 * (Its idle clock is reset by the claim: see step_open().)
 */
static int
lives_for(const struct state *st, long timeout)
{
	return state_num(st, "started") + state_num(st, "max_lifetime") >
	    (long long)time(NULL) + timeout + LIFE_MARGIN;
}

/* The same of a slot that may have no state yet. */
static int
slot_fresh(const struct layout *l, long timeout)
{
	struct state st;
	int fresh;

	if (access(l->state, F_OK) < 0)
		return 0;
	state_read(&st, l);
	fresh = lives_for(&st, timeout);
	state_free(&st);
	return fresh;
}

/*
 * fn for each slot directory of the pool, with its layout, until fn
 * returns nonzero; returns that, or 0.  fn may take the layout's paths
 * (and leave NULLs).
 */
static int
each_slot(const struct pool *p, int (*fn)(const struct pool *,
    struct layout *, void *), void *arg)
{
	struct dirent *de;
	struct layout l;
	DIR *d;
	int r = 0;

	if ((d = opendir(p->dir)) == NULL) {
		warn("%s:", p->dir);
		return 0;
	}
	while (r == 0 && (de = readdir(d)) != NULL) {
		if (!session_id_ok(de->d_name))
			continue;
		layout_set(&l, smprintf("%s/%s", p->dir, de->d_name));
		r = fn(p, &l, arg);
		layout_free(&l);
	}
	closedir(d);
	return r;
}

/* Is the slot ready for a run of timeout seconds?  Under its lock. */
static int
slot_ready(const struct layout *l, long timeout)
{
	char *claimed = smprintf("%s/" CLAIMED, l->dir);
	int used = access(claimed, F_OK) == 0;

	free(claimed);
	return !used && slot_fresh(l, timeout) && channel_alive(l);
}

/* What a walk of the slots found, and whether it sweeps. */
struct count {
	long ready, busy, starting, removed;
	int sweep;
};

/*
 * A slot of the pool: a ready one is counted; when sweeping (under the
 * pool's lock), one used, ended, too old for a run or abandoned is
 * removed; else it is counted as starting if it has no state yet.  A
 * locked slot is in use.
 */
static int
count_one(const struct pool *p, struct layout *l, void *arg)
{
	struct count *n = arg;
	char *claimed;
	int lock;

	if ((lock = lock_dir(l->dir, 1)) == -1)
		n->busy++;
	if (lock < 0)
		return 0;
	claimed = smprintf("%s/" CLAIMED, l->dir);
	if (slot_ready(l, state_num(&p->st, "policy timeout"))) {
		n->ready++;
	} else if (n->sweep) {
		slot_remove(p, l, access(claimed, F_OK) == 0 ?
		    "claimer gone" : NULL);
		n->removed++;
	} else if (access(l->state, F_OK) < 0) {
		n->starting++;
	}
	free(claimed);
	close(lock);
	return 0;
}

static void
slots(const struct pool *p, int sweep, struct count *n)
{
	memset(n, 0, sizeof(*n));
	n->sweep = sweep;
	each_slot(p, count_one, n);
}

static void
event_pool(const char *event, const struct pool *p, const struct count *n)
{
	static const char *keys[] = { "name", "template", "runtime", "image" };
	struct jbuf j;
	char *v;
	size_t i;

	jb_begin(&j, event);
	for (i = 0; i < LEN(keys); i++) {
		jb_str(&j, keys[i], v = state_get(&p->st, keys[i]));
		free(v);
	}
	jb_str(&j, "dir", p->dir);
	jb_int(&j, "size", p->size);
	jb_int(&j, "ready", n->ready);
	jb_int(&j, "in_use", n->busy);
	jb_int(&j, "starting", n->starting);
	jb_int(&j, "created", state_num(&p->st, "created"));
	jb_int(&j, "idle_timeout", state_num(&p->st, "policy idle_timeout"));
	jb_int(&j, "max_lifetime", state_num(&p->st, "policy max_lifetime"));
	jb_emit(&j);
}

/*
 * Every slot goes, then the pool.  A slot's container first, and its
 * directory once its claimer, if any, has seen its run end and let go:
 * its shadow is its claimer's until then.  Never dies: it also runs
 * from pool_abort(), at exit.
 */
static int
remove_one(const struct pool *p, struct layout *l, void *arg)
{
	int lock;

	(void)arg;
	slot_kill(p, l, NULL);
	if ((lock = lock_dir(l->dir, 0)) >= 0) {
		if (rundir_remove(l->dir) < 0)
			warn("remove %s:", l->dir);
		close(lock);
	}
	return 0;
}

static void
pool_remove(struct pool *p)
{
	each_slot(p, remove_one, NULL);
	if (rundir_remove(p->dir) < 0)
		warn("remove %s:", p->dir);
}

/* A pool that sbx pool start could not finish goes, slots and all. */
static struct pool *opt_pool;

static void
pool_abort(void)
{
	if (opt_pool)
		pool_remove(opt_pool);
}

/*
 * sbx pool start: the pool's directory and state, then its containers,
 * one after another, under its lock; prints the pool event.
 */
int
pool_start(const struct config *cfg, struct job *jb, const char *ext,
    long size)
{
	struct count n;
	struct pool p;
	long i;
	int lock;

	if (pool_open(&p, jb->pool))
		die("pool %s exists (sbx pool stop %s first)", jb->pool,
		    jb->pool);
	if (jb->pol.max_lifetime <= jb->pol.timeout + LIFE_MARGIN)
		die("pool %s: max_lifetime %ld s: its containers would end "
		    "before a run of timeout %ld s (and %d s to spare)",
		    jb->pool, jb->pol.max_lifetime, jb->pol.timeout,
		    LIFE_MARGIN);
	if (mkdir(p.dir, 0700) < 0)
		die(errno == EEXIST ? "pool %s is being started or stopped" :
		    "mkdir %s:", errno == EEXIST ? jb->pool : p.dir);
	opt_pool = &p;
	atexit(pool_abort);
	if ((lock = lock_dir(p.dir, 0)) < 0)
		die("lock %s:", p.dir);
	pool_write(cfg, jb, p.dir, ext ? ext : "py", size);
	pool_read(&p);
	for (i = 0; i < size; i++)
		slot_start(cfg, &p);
	opt_pool = NULL;
	slots(&p, 0, &n);
	event_pool("pool", &p, &n);
	close(lock);
	pool_close(&p);
	return 0;
}

/* The pool of sbx -P, for its claim and its refill, and the -c given. */
static struct pool cur;
static const char *cur_conf;

/*
 * sbx -P name: the job's policy is the pool's, once the configuration
 * is known to say what it said then; -T may shorten or lengthen it.
 */
void
pool_job(const struct config *cfg, struct job *jb, const char *name,
    const char *timeout, const char *conf)
{
	const char *e;

	cur_conf = conf;
	if (!pool_open(&cur, name))
		die("%s: no such pool (sbx pool start %s)", name, name);
	pool_fresh(cfg, &cur);
	pool_policy(&cur, &jb->pol);
	if (timeout && (e = policy_set(&jb->pol, "timeout", timeout)))
		die("-T: %s", e);
	jb->pool = cur.name;
}

/* The claimed slot's user and container, from its state st. */
static void
slot_take(struct job *jb, const struct state *st)
{
	char *name = state_get(st, "name");

	snprintf(jb->ctr.name, sizeof(jb->ctr.name), "%s", name);
	jb->uid = (uid_t)state_num(st, "uid");
	jb->gid = (gid_t)state_num(st, "gid");
	free(name);
	jb->ctr.started = 1;	/* ours to end, if sbx dies */
	jb->pooled = 1;
}

/*
 * Claims a ready slot of the pool: its lock, then its "claimed" mark,
 * made once; then its channel, open in sp.  Returns the lock, held for
 * the run, with jb's layout, user and container the slot's; or -1 if no
 * slot is ready.
 */
/*
 * Can the run be a step at all?  Its argv must fit a request file, and
 * with workspace none its script goes to /sbx, where a slot has names
 * of its own.  If not, it runs cold.
 */
static int
claimable(const struct job *jb)
{
	const char *base = strrchr(jb->script_ctr, '/') + 1;
	size_t len = strlen(jb->script_ctr) + 256 + strlen(jb->pol.name);
	char **v;

	for (v = jb->lang->command; *v; v++)
		len += strlen(*v) + 1;
	for (v = jb->args; *v; v++)
		len += strlen(*v) + 1;
	for (v = jb->pol.imports; *v; v++)
		len += strlen(*v) + 1;
	return len < FILE_MAX && !(jb->pol.workspace == WS_NONE &&
	    (strcmp(base, "steps") == 0 || strcmp(base, "ctl") == 0 ||
	    strcmp(base, NAME_SUPERVISE) == 0));
}

/* A claimer that dies still has the pool refilled (see pool_done). */
static void
refill_at_exit(void)
{
	pool_done(-1);
}

/*
 * Claims a ready slot of the pool, one whose lifetime outlasts the run:
 * its lock, then its "claimed" mark, made once; then its channel, open
 * in sp.  Returns the lock, held for the run, with jb's layout, user and
 * container the slot's; or -1 if no slot is ready.
 */
struct claim {
	struct job *jb;
	struct step *sp;
	int lock;
	char *image_id;		/* as the slot's start asked it, or NULL */
};

/*
 * The slot, if it is ready and no other run claims it first: its lock,
 * then its "claimed" mark, made once, then its channel; its state is
 * read once, for all of it.  A slot whose supervisor has ended (its
 * idle timeout) stays claimed, for the next sweep.
 */
static int
claim_one(const struct pool *p, struct layout *l, void *arg)
{
	struct claim *c = arg;
	struct state st;
	char *claimed;
	int fd = -1, took = 0;

	(void)p;
	if ((c->lock = lock_dir(l->dir, 1)) < 0)
		return 0;
	if (access(l->state, F_OK) < 0) {
		close(c->lock);
		return 0;
	}
	state_read(&st, l);
	claimed = smprintf("%s/" CLAIMED, l->dir);
	if (lives_for(&st, c->jb->pol.timeout))
		fd = open(claimed, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	free(claimed);
	if (fd >= 0) {
		close(fd);
		if ((took = step_open(c->sp, l) == 0)) {
			c->jb->lay = *l;	/* the run's from here on */
			memset(l, 0, sizeof(*l));
			slot_take(c->jb, &st);
			c->image_id = state_find(&st, "image_id", 0);
		}
	}
	state_free(&st);
	if (!took)
		close(c->lock);
	return took;
}

/*
 * Claims a ready slot of the pool, one whose lifetime outlasts the run.
 * Returns its lock, held for the run, with jb's layout, user and
 * container the slot's, its channel open in sp and its image's id, if
 * its start asked (audit_log), in *image_id; or -1 if no slot is ready.
 */
int
pool_claim(struct job *jb, struct step *sp, char **image_id)
{
	struct claim c;
	char *image;

	image = state_get(&cur.st, "image");
	if (strcmp(jb->image, image) != 0)
		die("%s: runs in image %s; pool %s's containers run %s",
		    jb->script_orig, jb->image, cur.name, image);
	free(image);
	atexit(refill_at_exit);
	c.jb = jb;
	c.sp = sp;
	c.image_id = NULL;
	if (!claimable(jb) || !each_slot(&cur, claim_one, &c))
		return -1;
	utimensat(AT_FDCWD, cur.st.path, NULL, 0);
	*image_id = c.image_id;
	return c.lock;
}

/* -k: the slot's directory becomes a kept run's, out of the pool. */
void
pool_keep(struct job *jb)
{
	char *to = rundir_pattern();

	rundir_keep(&jb->lay, 1);
	if (mkdtemp(to) == NULL || rename(jb->lay.dir, to) < 0) {
		warn("keep %s:", jb->lay.dir);
		free(to);
		return;
	}
	layout_free(&jb->lay);
	layout_set(&jb->lay, to);
}

/*
 * A pooled run whose supervisor was told to exit: its container ends by
 * itself (--rm), and the refill removes its directory, so that the
 * caller does not wait for either.
 */
void
pool_leave(struct job *jb)
{
	char *path = smprintf("%s/" DONE, jb->lay.dir);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) >= 0)
		close(fd);
	free(path);
	job_cleanup(NULL);
}

/*
 * After sbx -P: the slot's lock goes, and "sbx pool fill" tops the pool
 * up, detached, its output nowhere and holding none of ours: the caller
 * never waits for it, not even for the end of a pipe.
 */
void
pool_done(int lock)
{
	char *argv[] = { "sbx", "pool", "fill", NULL, NULL, NULL, NULL };
	static int done;
	long fd, max;
	pid_t pid;
	int i = 3;

	if (lock >= 0)
		close(lock);
	if (cur.name == NULL || done++)
		return;
	if (cur_conf) {
		argv[i++] = "-c";
		argv[i++] = (char *)cur_conf;
	}
	argv[i] = cur.name;
	if ((pid = fork()) < 0)
		return;
	if (pid == 0) {
		setsid();
		if (fork() != 0)
			_exit(0);
		if ((fd = open("/dev/null", O_RDWR)) < 0)
			_exit(EXIT_FAIL);
		dup2((int)fd, 0);
		dup2((int)fd, 1);
		dup2((int)fd, 2);
		if ((max = sysconf(_SC_OPEN_MAX)) < 0)
			max = 1024;
		for (fd = 3; fd < max; fd++)
			close((int)fd);
		execv("/proc/self/exe", argv);
		_exit(EXIT_NOTFOUND);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* sbx pool fill [-c config] name: ended slots go, new ones come. */
static int
pool_fill(int argc, char *argv[])
{
	struct config cfg;
	struct count n;
	struct pool p;
	const char *conf = NULL;
	int lock;

	if (argc == 4 && strcmp(argv[1], "-c") == 0)
		conf = argv[2];
	else if (argc != 2)
		return EXIT_USAGE;
	if (!pool_open(&p, argv[argc - 1]))
		die("%s: no such pool", argv[argc - 1]);
	if ((lock = lock_dir(p.dir, 0)) < 0)
		die("lock %s:", p.dir);
	/* Stopped while we waited for the lock? */
	pool_close(&p);
	if (!pool_open(&p, argv[argc - 1]))
		return 0;
	config_find(&cfg, conf);
	pool_fresh(&cfg, &p);
	slots(&p, 1, &n);
	for (; n.ready < p.size; n.ready++)
		slot_start(&cfg, &p);
	close(lock);
	config_free(&cfg);
	pool_close(&p);
	return 0;
}

/* sbx pool stop name */
static int
pool_stop(int argc, char *argv[])
{
	struct count n;
	struct pool p;
	int lock;

	if (argc != 2)
		return EXIT_USAGE;
	if (!pool_open(&p, argv[1]) || (lock = lock_dir(p.dir, 0)) < 0)
		die("%s: no such pool", argv[1]);
	/* What is there once we hold it: a stop may have come first. */
	pool_close(&p);
	if (!pool_open(&p, argv[1]))
		die("%s: no such pool", argv[1]);
	slots(&p, 0, &n);
	if (unlink(p.st.path) < 0)	/* no claim from here on */
		die("unlink %s:", p.st.path);
	pool_remove(&p);
	event_pool("stopped", &p, &n);
	close(lock);
	pool_close(&p);
	return 0;
}

static int
pool_dirname(const char *name)
{
	return strncmp(name, POOL_PREFIX, strlen(POOL_PREFIX)) == 0 &&
	    pool_name_ok(name + strlen(POOL_PREFIX));
}

static void
list_one(const struct layout *l)
{
	struct count n;
	struct pool p;

	if (pool_open(&p, strrchr(l->dir, '/') + 1 + strlen(POOL_PREFIX))) {
		slots(&p, 0, &n);
		event_pool("pool", &p, &n);
	}
	pool_close(&p);
}

/* sbx pool ls|stop|fill: the commands with no run options. */
int
pool_command(int argc, char *argv[])
{
	if (strcmp(argv[0], "ls") == 0) {
		if (argc != 1)
			return EXIT_USAGE;
		rundir_each(pool_dirname, list_one);
		return 0;
	}
	if (strcmp(argv[0], "stop") == 0)
		return pool_stop(argc, argv);
	if (strcmp(argv[0], "fill") == 0)
		return pool_fill(argc, argv);
	return EXIT_USAGE;
}

/*
 * sbx gc: a pool nobody claimed from for its idle_timeout, and with no
 * run in one of its containers, goes whole (its containers' supervisors
 * have ended by then); of any other, what a killed claimer or filler
 * left.  A pool being filled is left alone, and with -r, a pool of
 * another runtime.
 */
static const char *gc_runtime;

static void
gc_one(const struct layout *l)
{
	const char *name = strrchr(l->dir, '/') + 1 + strlen(POOL_PREFIX);
	struct count n;
	struct pool p;
	struct stat st;
	char *rt;
	int lock, other;

	if ((lock = lock_dir(l->dir, 1)) < 0)
		return;
	if (pool_open(&p, name) && gc_runtime) {
		rt = state_get(&p.st, "runtime");
		other = strcmp(rt, gc_runtime) != 0;
		free(rt);
		if (other) {
			close(lock);
			pool_close(&p);
			return;
		}
	}
	if (p.st.text == NULL) {
		/* a start killed before its state was written */
		if (lstat(l->dir, &st) == 0 &&
		    st.st_mtime + 2 * READY_WAIT < time(NULL)) {
			/* no state, no slot: they come after it */
			if (rundir_remove(l->dir) == 0)
				event_gc("pool", NULL, l->dir, "abandoned");
		}
	} else if ((slots(&p, 0, &n), n.busy == 0) &&
	    stat(p.st.path, &st) == 0 && st.st_mtime +
	    state_num(&p.st, "policy idle_timeout") < time(NULL)) {
		unlink(p.st.path);
		pool_remove(&p);
		event_gc("pool", NULL, l->dir, "idle");
	} else {
		slots(&p, 1, &n);
	}
	close(lock);
	pool_close(&p);
}

void
pool_gc(const char *runtime)
{
	gc_runtime = runtime;
	rundir_each(pool_dirname, gc_one);
}
