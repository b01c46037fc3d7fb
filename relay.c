/* See LICENSE file for copyright and license details. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

/*
 * The script's stdout and stderr, relayed as "stdout" and "stderr"
 * events, for a run's client and a session's step alike.  Bytes are
 * held until the stream has been quiet for LINGER seconds (or for at
 * most MAXHOLD, or half a buffer), so that a burst of small writes,
 * python -u printing a traceback, becomes one event, not forty.  The
 * two share max_output: past it, what fits is kept, cut at a character,
 * and r->truncated says so.
 */
#define LINGER 0.02
#define MAXHOLD 0.1

/* s[0] and s[1] on the fds out and err, counted in r, from t0. */
void
streams_init(struct stream *s, int out, int err, struct result *r,
    double t0, long long max)
{
	memset(s, 0, 2 * sizeof(*s));
	s[0].event = "stdout";
	s[0].k = 0;
	s[1].k = 1;
	s[0].fd = out;
	s[0].count = &r->out_bytes;
	s[1].event = "stderr";
	s[1].fd = err;
	s[1].count = &r->err_bytes;
	s[0].r = s[1].r = r;
	s[0].t0 = s[1].t0 = t0;
	s[0].max = s[1].max = max;
}

static void
emit(const struct stream *s, size_t n)
{
	struct jbuf j;

	if (n == 0)
		return;
	if (jb_render) {	/* a person's: raw, where the script wrote it */
		jb_out(strcmp(s->event, "stdout") == 0 ? 1 : 2, s->buf, n);
		return;
	}
	jb_begin(&j, s->event);
	jb_fixed(&j, "t", (long long)(((s->held ? s->first : now()) -
	    s->t0) * 1000), 3);
	jb_mem(&j, "data", s->buf, n);
	jb_emit(&j);
}

/* Emits what is held, less a cut UTF-8 character unless at the end. */
void
stream_flush(struct stream *s, int end)
{
	size_t keep = end ? 0 : utf8_tail(s->buf, s->held);

	emit(s, s->held - keep);
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

/* Bytes of the compiler's output, as far as compile_max_output goes. */
static void
compile_put(struct compile *cp, int k, const char *p, size_t n)
{
	size_t room = (size_t)cp->max - cp->out[0].len - cp->out[1].len;

	if (n > room) {
		n = room;
		cp->truncated = 1;
	}
	if (n > 0)
		jb_put(&cp->out[k], p, n);
}

/* What the compile did, once: its output, its end. */
void
compile_event(struct compile *cp, const struct result *r)
{
	struct jbuf j;
	int ok = cp->done[0] && cp->done[1];

	if (cp->said)
		return;
	cp->said = 1;
	cp->t1 = now();
	jb_begin(&j, "compile");
	jb_int(&j, "status", !ok ? (r->timed_out ? EXIT_TIMEOUT : EXIT_FAIL) :
	    cp->code);
	if (ok && cp->code < 128)
		jb_int(&j, "exit_code", cp->code);
	else
		jb_null(&j, "exit_code");
	if (ok && cp->code > 128)
		jb_int(&j, "signal", cp->code - 128);
	else
		jb_null(&j, "signal");
	jb_bool(&j, "timed_out", !ok && r->timed_out);
	jb_bool(&j, "truncated", cp->truncated);
	jb_fixed(&j, "duration", (long long)((cp->t1 - cp->t0) * 1000), 3);
	jb_count(&j, "cpu_time", ok ? cp->cpu_us / 1000 : -1, 3);
	jb_mem(&j, "stdout", cp->out[0].s ? cp->out[0].s : "", cp->out[0].len);
	jb_mem(&j, "stderr", cp->out[1].s ? cp->out[1].s : "", cp->out[1].len);
	jb_emit(&j);
}

/*
 * The compile phase's share of n new bytes at p on stream k: its output
 * up to the init's line, and the line.  Returns how many it took; the
 * rest is the program's.  The line's start has one '\036' alone, at its
 * head: a mismatch goes back to the output and starts over.
 */
static size_t
compile_take(struct compile *cp, int k, const char *p, size_t n,
    const struct result *r)
{
	char says[sizeof(COMPILED_SAYS) + NONCE_LEN + 1];
	size_t i, len;
	long long code;

	if (cp->key == NULL) {
		compile_put(cp, k, p, n);
		return n;
	}
	snprintf(says, sizeof(says), COMPILED_SAYS "%s ", cp->key);
	len = strlen(says);
	for (i = 0; i < n && !cp->done[k]; i++) {
		if (cp->match[k] == len) {	/* its words, to the end */
			if (p[i] != '\n') {
				if (cp->llen[k] < sizeof(cp->line[k]) - 1)
					cp->line[k][cp->llen[k]++] = p[i];
				continue;
			}
			cp->line[k][cp->llen[k]] = '\0';
			cp->done[k] = 1;
			if (k == 0 && sscanf(cp->line[k], "%lld %lld", &code,
			    &cp->cpu_us) == 2)
				cp->code = (int)code;
			continue;
		}
		if (p[i] == says[cp->match[k]]) {
			cp->match[k]++;
			continue;
		}
		compile_put(cp, k, says, cp->match[k]);
		cp->match[k] = p[i] == says[0];
		if (!cp->match[k])
			compile_put(cp, k, p + i, 1);
	}
	if (cp->done[0] && cp->done[1])
		compile_event(cp, r);
	return i;
}

/* Reads what is there: 1 if it read, -1 if nothing yet, 0 at the end. */
int
stream_read(struct stream *s)
{
	unsigned long long room;
	ssize_t n;
	size_t total, took;

	/* The program's bytes wait for the compile event, a moment. */
	if (s->held == sizeof(s->buf) - 4)
		return -1;
	n = read(s->fd, s->buf + s->held, sizeof(s->buf) - 4 - s->held);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return -1;
	if (n <= 0) {
		stream_flush(s, 1);	/* a cut character, now invalid */
		return 0;
	}
	if (s->r->truncated)	/* read on so the client never blocks */
		return 1;
	keep_tail(s, s->buf + s->held, (size_t)n);
	if (s->cp && !s->cp->done[s->k]) {
		took = compile_take(s->cp, s->k,
		    s->buf + s->held, (size_t)n, s->r);
		memmove(s->buf + s->held, s->buf + s->held + took,
		    (size_t)n - took);
		if ((n -= (ssize_t)took) == 0)
			return 1;
	}
	room = (unsigned long long)s->max - s->r->out_bytes -
	    s->r->err_bytes;
	*s->count += (unsigned long long)n;
	if (s->held == 0)
		s->first = now();
	s->last = now();
	if ((unsigned long long)n > room) {
		/* The cap: keep what fits, cut at a character. */
		total = s->held + (size_t)room;
		s->held = total - utf8_tail(s->buf, total);
		stream_flush(s, 1);
		s->r->truncated = 1;
		return 1;
	}
	s->held += (size_t)n;
	if (s->held >= sizeof(s->buf) / 2 && (!s->cp || s->cp->said))
		stream_flush(s, 0);
	return 1;
}

/*
 * Emits the held bytes whose time has come; returns how long poll may
 * wait, in milliseconds, before the next are due.
 */
int
streams_due(struct stream *s, size_t ns)
{
	double t = now(), due, wait = 0.25;
	size_t i;

	for (i = 0; i < ns; i++) {
		if (s[i].held == 0 || (s[i].cp && !s[i].cp->said))
			continue;
		due = s[i].last + LINGER < s[i].first + MAXHOLD ?
		    s[i].last + LINGER : s[i].first + MAXHOLD;
		if (due <= t)
			stream_flush(&s[i], 0);
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
const char *
stream_last_line(const struct stream *s)
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

/*
 * After the writers are gone: what is left in the pipe or FIFO, then
 * the held bytes, even a cut character.
 */
void
stream_drain(struct stream *s)
{
	if (s->fd < 0)
		return;
	fcntl(s->fd, F_SETFL, O_NONBLOCK);
	while (stream_read(s) > 0)
		;
	stream_flush(s, 1);
}
