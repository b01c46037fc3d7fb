/* See LICENSE file for copyright and license details. */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

/*
 * The host's side of proto.h: a session's channel to its supervisor,
 * and its steps, written, sent, relayed and answered.
 *
 * The supervisor opens the FIFOs ctl/req and ctl/rsp and says "ready";
 * sbx then moves them to req and rsp, out of the container's sight.
 * The step's code can write to its output FIFOs, and could to req and
 * rsp before they were moved, so what comes back is hostile: a status
 * counts only with the nonce, which no step sees.  No runtime CLI is
 * called per step: that is what makes a warm step cheap.
 */

#define READY_WAIT 60	/* seconds for a new supervisor to say "ready" */
#define GRACE 10	/* for a supervisor to answer once asked to kill */

/* A FIFO the container user can open, in sbx's private directory. */
static void
make_fifo(const char *path, uid_t uid, gid_t gid)
{
	if (mkfifo(path, geteuid() == 0 ? 0600 : 0666) < 0 ||
	    (geteuid() == 0 && chown(path, uid, gid) < 0) ||
	    (geteuid() != 0 && chmod(path, 0666) < 0))
		die("mkfifo %s:", path);
}

/* One of a session directory's FIFOs, never waiting for the other end. */
static int
open_fifo(const char *path, int flags)
{
	return open(path, flags | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
}

/*
 * The channel, before the supervisor starts: sbx/steps, the mount point
 * sbx/ctl, and ctl/ with the FIFOs req and rsp.  ctl/ is ours, not the
 * container user's: a step must not be able to swap a FIFO or plant the
 * next step's.  Returns rsp open to read, for channel_ready().
 */
int
channel_make(const struct layout *l, uid_t uid, gid_t gid)
{
	char *p;
	int rsp;

	p = smprintf("%s/steps", l->sbx);
	if (mkdir(p, 0755) < 0)
		die("mkdir %s:", p);
	free(p);
	p = smprintf("%s/ctl", l->sbx);
	if (mkdir(p, 0755) < 0 || mkdir(l->ctl, 0700) < 0)
		die("mkdir %s:", l->ctl);
	free(p);
	if (chmod(l->ctl, 0755) < 0)
		die("chmod %s:", l->ctl);
	p = smprintf("%s/req", l->ctl);
	make_fifo(p, uid, gid);
	free(p);
	p = smprintf("%s/rsp", l->ctl);
	make_fifo(p, uid, gid);
	if ((rsp = open_fifo(p, O_RDONLY)) < 0)
		die("open %s:", p);
	free(p);
	return rsp;
}

/*
 * Waits for the supervisor's "ready", dropping anything else.  Then,
 * as the supervisor holds req and rsp open, moves them out of ctl/, out
 * of every step's reach: a step could otherwise read the host's lines,
 * nonces and all, and answer in the supervisor's name.
 */
int
channel_ready(const struct layout *l, int rsp)
{
	struct pollfd p = { rsp, POLLIN, 0 };
	double end = now() + READY_WAIT;
	char buf[256], *from;
	ssize_t n;
	int ready = 0;

	while (!ready && now() < end && !sbx_signalled()) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((n = read(rsp, buf, sizeof(buf) - 1)) <= 0)
			continue;
		buf[n] = '\0';
		ready = strstr(buf, SAY_READY "\n") != NULL;
	}
	close(rsp);
	if (!ready)
		return 0;
	from = smprintf("%s/req", l->ctl);
	if (rename(from, l->req) < 0)
		die("rename %s:", from);
	free(from);
	from = smprintf("%s/rsp", l->ctl);
	if (rename(from, l->rsp) < 0)
		die("rename %s:", from);
	free(from);
	return 1;
}

/* Is the supervisor there?  Only a live one holds req open to read. */
int
channel_alive(const struct layout *l)
{
	int fd = open_fifo(l->req, O_WRONLY);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* A line to the supervisor, its '\n' first: one write, under PIPE_BUF. */
static int
say(const struct step *sp, const char *what, const char *arg)
{
	char msg[LINE_MAX_REQ + 2];
	int len;

	len = snprintf(msg, sizeof(msg), "\n%s%s\n", what, arg);
	return write(sp->req, msg, (size_t)len) == len ? 0 : -1;
}

/* dir/ and one of proto.h's names of step n's files. */
static char *
step_path(const char *dir, const char *name, long n)
{
	char *rel = smprintf(name, (long long)n), *p;

	p = smprintf("%s/%s", dir, rel);
	free(rel);
	return p;
}

/* Step n's FIFOs: its output, and its input. */
static void
remove_outputs(const struct layout *l, long n)
{
	static const char *names[] = { STEP_OUT, STEP_ERR, STEP_IN };
	char *p;
	size_t i;

	for (i = 0; i < LEN(names); i++) {
		p = step_path(l->ctl, names[i], n);
		unlink(p);
		free(p);
	}
}

/*
 * inflight holds the nonce of the step in flight.  Found under the
 * lock, it is a step whose sbx exec died: it may still run, and the
 * supervisor takes no step before it ends, so it is ended first.  A
 * "pong" says the supervisor is idle; it only answers one when it is.
 */
static void
end_orphan(const struct layout *l, struct step *sp)
{
	char buf[4096], *s;
	struct pollfd pfd = { sp->rsp, POLLIN, 0 };
	double end = now() + GRACE;
	FILE *f;
	ssize_t n;
	long step = 0;
	int done = 0;

	if ((f = fopen(l->inflight, "r")) == NULL)
		return;
	if (fscanf(f, "%ld %32s", &step, sp->nonce) == 2 &&
	    say(sp, REQ_KILL, sp->nonce) < 0)
		die("the session's supervisor does not take steps");
	fclose(f);
	while (!done && now() < end) {
		if (say(sp, REQ_PING, "") < 0)
			break;
		if (poll(&pfd, 1, 100) <= 0 ||
		    (n = read(sp->rsp, buf, sizeof(buf) - 1)) <= 0)
			continue;
		buf[n] = '\0';
		done = strstr(buf, "\n" SAY_PONG "\n") != NULL ||
		    ((s = strstr(buf, sp->nonce)) && s > buf && s[-1] == '\n');
	}
	if (!done)
		die("the session's supervisor did not end an orphaned step");
	unlink(l->inflight);
	if (step > 0)
		remove_outputs(l, step);
}

/*
 * Under the lock: a step left running by a killed sbx exec is ended,
 * so that what sbx diff and apply read stands still.
 */
void
step_settle(const struct layout *l)
{
	struct step sp;

	memset(&sp, 0, sizeof(sp));
	if (access(l->inflight, F_OK) < 0)
		return;
	if ((sp.req = open_fifo(l->req, O_WRONLY)) >= 0 &&
	    (sp.rsp = open_fifo(l->rsp, O_RDONLY)) >= 0)
		end_orphan(l, &sp);
	else	/* no supervisor: nothing runs */
		unlink(l->inflight);
	if (sp.req > 0)
		close(sp.req);
	if (sp.rsp > 0)
		close(sp.rsp);
}

/*
 * Under the session lock: the channel open, any orphaned step ended.
 * -1 if the supervisor is gone.
 */
int
step_open(struct step *sp, const struct layout *l)
{
	memset(sp, 0, sizeof(*sp));
	sp->in = sp->keep = -1;
	if ((sp->req = open_fifo(l->req, O_WRONLY)) < 0)
		return -1;
	if ((sp->rsp = open_fifo(l->rsp, O_RDONLY)) < 0)
		die("open %s:", l->rsp);
	end_orphan(l, sp);
	/* The idle clock starts again: a pool's claim is a step to come.
	 * The "pong" is dropped with the rest in step_send(). */
	say(sp, REQ_PING, "");
	return 0;
}

/* The next step's number, under the session lock. */
static long
next_step(const struct layout *l)
{
	char buf[32] = "";
	long n = 0;
	FILE *f;

	if ((f = fopen(l->seq, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f))
			n = strtol(buf, NULL, 10);
		fclose(f);
	}
	if ((f = fopen(l->seq, "w")) == NULL || fprintf(f, "%ld\n", n + 1) < 0 ||
	    fclose(f) == EOF)
		die("write %s:", l->seq);
	return n + 1;
}

/*
 * Step n's directory, and its script under STEP_SCRIPTS, where no name
 * of it can be one of the protocol's; a pooled run's script is where a
 * cold run's is.
 */
static void
stage_step(struct job *jb, long n, const char *base)
{
	char *dir, *p;

	p = step_path(jb->lay.sbx, STEP_SCRIPTS, n);
	*strrchr(p, '/') = '\0';
	if (mkdir(p, 0755) < 0)
		die("mkdir %s:", p);
	p[strlen(p)] = '/';
	if (!jb->pooled && mkdir(p, 0755) < 0)
		die("mkdir %s:", p);
	free(p);
	if (jb->pooled)
		return;
	dir = step_path(CTR_SBX, STEP_SCRIPTS, n);
	jb->script_ctr = smprintf("%s/%s", dir, base);
	free(dir);
	stage_script(jb);
}

/*
 * Step N's request: the timeout and argv, each NUL-terminated.  The
 * interpreter comes from the configuration, the guard from the
 * session's template.
 */
enum { STEP_WHOLE, STEP_COMPILE, STEP_PROGRAM };	/* what a step runs */

static void
write_req(struct job *jb, long n, const char *base, long timeout,
    int phase)
{
	struct jbuf b = { NULL, 0, 0, 0 };
	char *p, *list, num[32];
	size_t i;
	int fd;

	stage_step(jb, n, base);
	snprintf(num, sizeof(num), "%ld", timeout);
	jb_put(&b, num, strlen(num) + 1);
	if (step_repl(jb))
		jb_put(&b, MODE_REPL, sizeof(MODE_REPL));
	else
		jb_put(&b, MODE_STEP, sizeof(MODE_STEP));
	/* A compiled language's: the compiler and the script, then the
	 * program and its arguments, two steps. */
	for (i = 0; phase == STEP_COMPILE && jb->lang->compile[i]; i++)
		jb_put(&b, jb->lang->compile[i],
		    strlen(jb->lang->compile[i]) + 1);
	for (i = 0; phase != STEP_COMPILE && jb->lang->command[i]; i++)
		jb_put(&b, jb->lang->command[i],
		    strlen(jb->lang->command[i]) + 1);
	if (phase == STEP_PROGRAM)
		;
	else if (jb->guard || step_repl(jb)) {
		list = strv_join(jb->pol.imports, ",");
		jb_put(&b, CTR_GUARD, sizeof(CTR_GUARD));
		if (step_repl(jb))
			jb_put(&b, REPL_FLAG, sizeof(REPL_FLAG));
		jb_put(&b, jb->pol.name, strlen(jb->pol.name) + 1);
		jb_put(&b, list, strlen(list) + 1);
		free(list);
	}
	if (phase != STEP_PROGRAM)
		jb_put(&b, jb->script_ctr, strlen(jb->script_ctr) + 1);
	for (i = 0; phase != STEP_COMPILE && jb->args[i]; i++)
		jb_put(&b, jb->args[i], strlen(jb->args[i]) + 1);
	p = step_path(jb->lay.sbx, STEP_REQ, n);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0644)) < 0 ||
	    write(fd, b.s, b.len) != (ssize_t)b.len || close(fd) < 0)
		die("write %s:", p);
	free(p);
	free(b.s);
}

/*
 * The step's FIFOs, opened before the step opens them: its output to
 * read; its input to write, and to read too, a reader that holds what
 * sbx writes until the step opens its end (and is no writer: sbx's
 * close is the step's EOF).
 */
static void
open_outputs(const struct job *jb, struct step *sp)
{
	char *out = step_path(jb->lay.ctl, STEP_OUT, sp->n);
	char *err = step_path(jb->lay.ctl, STEP_ERR, sp->n);
	char *in = step_path(jb->lay.ctl, STEP_IN, sp->n);

	make_fifo(out, jb->uid, jb->gid);
	make_fifo(err, jb->uid, jb->gid);
	make_fifo(in, jb->uid, jb->gid);
	if ((sp->out = open_fifo(out, O_RDONLY)) < 0 ||
	    (sp->err = open_fifo(err, O_RDONLY)) < 0)
		die("open %s:", out);
	if ((sp->keep = open_fifo(in, O_RDONLY)) < 0 ||
	    (sp->in = open_fifo(in, O_WRONLY)) < 0)
		die("open %s:", in);
	free(out);
	free(err);
	free(in);
}

/* Does the step run in the session's one python (repl = yes)? */
int
step_repl(const struct job *jb)
{
	return jb->pol.repl && jb->session && strcmp(jb->lang->ext, "py") == 0;
}

/* The next step, its script base (a name), written and its output open. */
static void
write_step(struct step *sp, struct job *jb, const char *base, long timeout,
    int phase)
{
	sp->n = next_step(&jb->lay);
	write_req(jb, sp->n, base, timeout, phase);
	open_outputs(jb, sp);
}

/* The next step, its script base (a name), written and its output open;
 * for a compiled language, its compile (see step_compile()). */
void
step_write(struct step *sp, struct job *jb, const char *base, long timeout)
{
	if (jb->lang->compile)
		write_step(sp, jb, base, jb->pol.compile_timeout, STEP_COMPILE);
	else
		write_step(sp, jb, base, timeout, STEP_WHOLE);
}

/*
 * A compiled language's compile, in a session's or a pool's container:
 * the step step_write() made, before the program's, with no stdin,
 * under compile_timeout; what it writes is the compile event's.
 * Returns 0 if the program may run, its step written on sp, under
 * timeout; else r is the run's end, and sp is closed.  0 at once for a
 * language that does not compile.
 */
int
step_compile(const struct container *c, struct step *sp, struct job *jb,
    const char *base, long timeout, struct result *r)
{
	struct compile cp;
	struct result cr;
	int alone = sp->alone, ok;

	if (jb->lang->compile == NULL)
		return 0;
	memset(&cp, 0, sizeof(cp));
	cp.max = jb->pol.compile_output;	/* no key: all of it */
	cp.t0 = now();
	result_init(&cr);
	close(sp->in);
	sp->in = -1;
	step_send(sp, &jb->lay);
	step_wait(c, sp, jb->pol.compile_timeout, jb->pol.max_output, &cp,
	    &cr);
	step_close(sp, &jb->lay);
	ok = !cr.timed_out && !cr.interrupted && cr.error == NULL &&
	    (cr.exit_code >= 0 || cr.signal > 0);
	cp.done[0] = cp.done[1] = ok;
	cp.code = cr.exit_code >= 0 ? cr.exit_code : 128 + cr.signal;
	cp.cpu_us = cr.cpu_us;
	compile_event(&cp, &cr);
	free(cp.out[0].s);
	free(cp.out[1].s);
	r->compiled = 1;
	if (ok && cp.code == 0) {
		if (step_open(sp, &jb->lay) < 0)
			die("the supervisor ended after the compile");
		sp->alone = alone;
		write_step(sp, jb, base, timeout, STEP_PROGRAM);
		return 0;
	}
	cr.compiled = cr.in_compile = 1;
	if (ok) {
		cr.status = 1;
		cr.exit_code = -1;
		cr.signal = 0;
		cr.cpu_exceeded = cr.oom_killed = 0;
	}
	cr.duration = now() - cp.t0;
	free(cr.value);
	cr.value = NULL;
	*r = cr;
	return -1;
}

/*
 * Sends "run N NONCE" with a nonce of its own, written to inflight
 * first: an sbx exec killed from here on leaves an orphan to end.
 */
void
step_send(struct step *sp, const struct layout *l)
{
	char junk[4096], arg[64];
	FILE *f;

	random_hex(sp->nonce, NONCE_LEN / 2);
	if ((f = fopen(l->inflight, "w")) == NULL ||
	    fprintf(f, "%ld %s\n", sp->n, sp->nonce) < 0 || fclose(f) == EOF)
		die("write %s:", l->inflight);
	while (read(sp->rsp, junk, sizeof(junk)) > 0)
		;	/* what an earlier step or sbx left unread */
	snprintf(arg, sizeof(arg), "%ld %s", sp->n, sp->nonce);
	if (say(sp, REQ_RUN, arg) < 0)
		die("the session's supervisor does not take steps");
}

/*
 * Asks an idle supervisor to exit, and so its container to end: a pool's
 * is used once.  -1 if it could not be asked.
 */
int
channel_stop(const struct layout *l)
{
	struct step sp;
	int r;

	if ((sp.req = open_fifo(l->req, O_WRONLY)) < 0)
		return -1;
	r = say(&sp, REQ_STOP, "");
	close(sp.req);
	return r;
}

/* The step is over: its files go, the channel closes. */
void
step_close(struct step *sp, const struct layout *l)
{
	unlink(l->inflight);
	close(sp->out);
	close(sp->err);
	if (sp->in >= 0)
		close(sp->in);
	close(sp->keep);
	remove_outputs(l, sp->n);
	close(sp->req);
	close(sp->rsp);
}

/* A step's status line from the supervisor, if it carries our nonce. */
static int
step_status(const struct step *sp, char *line, struct result *r)
{
	char nonce[40], what[16];
	long long cpu = -1, rss = -1, peak = -1;
	long v, ms;
	int oom = 0, lost = 0;

	if (sscanf(line, "%39s %15s %ld %ld %d %d %lld %lld %lld", nonce,
	    what, &v, &ms, &oom, &lost, &cpu, &rss, &peak) < 4 ||
	    strcmp(nonce, sp->nonce) != 0)
		return 0;	/* stale, or written by the step itself */
	r->exit_code = -1;
	r->oom_killed = oom == 1;
	r->state_lost = lost == 1;
	/* A session's cgroup counts every step so far: its own peak is
	 * that of its largest process.  A pool's ran this one alone. */
	if (cpu >= 0) {
		r->cpu_us = cpu;
		r->mem_peak = sp->alone ? peak : rss >= 0 ? rss * 1024 : -1;
	}
	if (strcmp(what, ST_EXIT) == 0 && v >= 0 && v < 256) {
		r->exit_code = (int)v;
		r->status = (int)v;
	} else if (strcmp(what, ST_SIGNAL) == 0 && v > 0 && v < 65) {
		/* As a run's --init reports it, and a shell. */
		r->signal = (int)v;
		r->exit_code = 128 + (int)v;
		r->status = 128 + (int)v;
		r->cpu_exceeded = v == SIGXCPU;
	} else if (strcmp(what, ST_TIMEOUT) == 0) {
		r->timed_out = 1;
		r->status = EXIT_TIMEOUT;
	} else if (strcmp(what, ST_LIFETIME) == 0) {
		r->timed_out = 1;
		r->status = EXIT_TIMEOUT;
		r->error = "the session reached its max_lifetime and ended";
	} else if (strcmp(what, ST_KILLED) == 0) {
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

static void pump_end(struct step *sp);

/* "open NONCE": the step's stdin is open, ours may end (see proto.h). */
static int
step_opened(struct step *sp, const char *line)
{
	if (strncmp(line, SAY_OPEN " ", strlen(SAY_OPEN) + 1) != 0 ||
	    strcmp(line + strlen(SAY_OPEN) + 1, sp->nonce) != 0)
		return 0;
	sp->opened = 1;
	if (sp->eof && sp->in >= 0)
		pump_end(sp);
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
		if (!sp->junk && !step_opened(sp, sp->line) &&
		    step_status(sp, sp->line, r))
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
	/* A full or closed FIFO: the grace alarm decides. */
	say(sp, REQ_KILL, sp->nonce);
}

/* The step being relayed, for a stop that cannot wait. */
static struct {
	const struct step *sp;
	struct result *r;
	int stopping;
} opt_step;

/*
 * The timeout or a signal came while an event waits for a reader who
 * does not read: the supervisor is asked to kill now; it kills, and
 * reports.
 */
static void
step_blocked(void)
{
	if (opt_step.sp == NULL || opt_step.stopping ||
	    !(opt_alarm || opt_signal))
		return;
	opt_step.r->interrupted = opt_signal;
	opt_step.stopping = 1;
	opt_alarm = 0;
	step_kill(opt_step.sp);
	alarm(GRACE);
}

/* sbx's stdin, passed on to the step's as the step takes it. */
struct pump {
	char buf[65536];
	size_t len, off;	/* held, and written of it */
};

static void
pump_end(struct step *sp)
{
	close(sp->in);
	sp->in = -1;
}

/*
 * Reads what stdin has without blocking, its file description left as
 * it is (it may be the shell's).  poll's word may be stale: another
 * reader of a shared pipe may have taken the bytes since, and a read
 * would then hang the relay: a pipe with none is EAGAIN.  A terminal sbx
 * does not own (a job in the background) is EOF, as reading it would
 * stop us with the session's lock held.
 */
static ssize_t
read_input(char *buf, size_t size, short revents)
{
	struct stat st;
	int avail;

	if (isatty(0) && tcgetpgrp(0) != getpgrp())
		return 0;
	if (fstat(0, &st) < 0)
		return read(0, buf, size);
	if (S_ISSOCK(st.st_mode))
		return recv(0, buf, size, MSG_DONTWAIT);
	if (S_ISFIFO(st.st_mode) &&
	    !(revents & POLLHUP) && ioctl(0, FIONREAD, &avail) == 0 &&
	    avail == 0) {
		errno = EAGAIN;
		return -1;
	}
	return read(0, buf, size);
}

/* One turn: read stdin once all held is written, write what is held. */
static void
pump(struct step *sp, struct pump *p, const struct pollfd *pfd)
{
	ssize_t n;

	if (pfd[0].fd >= 0 && pfd[0].revents) {
		/* Not a readable stdin at all (a pipe's write end): EOF. */
		n = pfd[0].revents & (POLLERR | POLLNVAL) ? 0 :
		    read_input(p->buf, sizeof(p->buf), pfd[0].revents);
		if (n > 0) {
			p->len = (size_t)n;
			p->off = 0;
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			/* EOF, for the step too, once it has its end open */
			sp->eof = 1;
			if (sp->opened)
				pump_end(sp);
		}
	}
	if (pfd[1].fd >= 0 && pfd[1].revents) {
		n = write(sp->in, p->buf + p->off, p->len - p->off);
		if (n > 0 && (p->off += (size_t)n) == p->len)
			p->len = 0;
		else if (n < 0 && errno != EINTR && errno != EAGAIN)
			pump_end(sp);
	}
}

/*
 * One step, sent already: relays its output, up to max_output bytes,
 * and waits for its status.  The supervisor enforces the timeout; ours,
 * a little later, asks it to kill, and a supervisor that does not answer
 * within GRACE seconds costs the session its container c.
 */
void
step_wait(const struct container *c, struct step *sp, long timeout,
    long long max_output, struct compile *cp, struct result *r)
{
	static struct pump in;
	struct stream s[2];
	struct pollfd pfd[6];
	double t0 = now();
	int i, done = 0;

	streams_init(s, sp->out, sp->err, r, t0, max_output);
	s[0].cp = s[1].cp = cp;
	for (i = 0; i < 2; i++) {
		pfd[i].fd = s[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[2].fd = sp->rsp;
	pfd[2].events = POLLIN;
	pfd[3].events = POLLIN;
	pfd[4].events = POLLOUT;
	pfd[5].fd = proxy_fd(c->net);	/* allow_hosts' events */
	pfd[5].events = POLLIN;
	in.len = 0;
	opt_step.sp = sp;
	opt_step.r = r;
	opt_step.stopping = 0;
	jb_blocked = step_blocked;
	alarm((unsigned)timeout + 2);
	while (!done) {
		if ((opt_alarm || opt_signal || r->truncated ||
		    jb_failed()) && !opt_step.stopping) {
			r->interrupted = opt_signal;
			opt_alarm = 0;
			opt_step.stopping = 1;
			step_kill(sp);
			alarm(GRACE);
		} else if (opt_alarm) {
			r->status = EXIT_FAIL;
			r->error = "the session's supervisor did not answer; "
			    "the session is stopped";
			backend_remove(c);
			break;
		}
		pfd[3].fd = sp->in >= 0 && in.len == 0 && !sp->eof ? 0 : -1;
		pfd[4].fd = sp->in >= 0 && in.len > 0 ? sp->in : -1;
		if (poll(pfd, 6, streams_due(s, 2)) <= 0)
			continue;
		pump(sp, &in, pfd + 3);
		for (i = 0; i < 2; i++)
			if (pfd[i].fd >= 0 && pfd[i].revents &&
			    stream_read(&s[i]) == 0)
				pfd[i].fd = -1;
		if (pfd[5].fd >= 0 && pfd[5].revents && !proxy_read(c->net))
			pfd[5].fd = -1;
		if (pfd[2].revents && (done = read_rsp(sp, r)) < 0) {
			r->status = EXIT_FAIL;
			r->error = "the session ended (idle timeout, "
			    "max_lifetime, sbx stop, or a step that changed "
			    "its supervisor's limits)";
		}
	}
	alarm(0);
	jb_blocked = NULL;
	opt_step.sp = NULL;
	r->duration = now() - t0;
	/* Every writer is dead now: what is left is in the FIFOs. */
	for (i = 0; i < 2; i++)
		stream_drain(&s[i]);
	if (jb_failed() && r->error == NULL) {
		r->error = "write error on standard output";
		r->status = EXIT_FAIL;
	}
}

/*
 * A step written (and compiled): sent, relayed, and closed, with the
 * proxy of the policy's allow_hosts beside it, the step's own as a
 * run's is, for the supervisor's forwarder (see proto.h).
 */
void
step_go(struct job *jb, struct step *sp, long timeout, int audit,
    struct result *r)
{
	jb->ctr.net = proxy_start(&jb->pol, jb->lay.sbx, jb->ctr.name,
	    audit);
	step_send(sp, &jb->lay);
	step_wait(&jb->ctr, sp, timeout, jb->pol.max_output, NULL, r);
	proxy_stop(jb->ctr.net);
	jb->ctr.net = NULL;
	step_close(sp, &jb->lay);
}
