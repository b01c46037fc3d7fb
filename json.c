/* See LICENSE file for copyright and license details. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/* Appends n raw bytes: the jbuf as a plain growing buffer. */
void
jb_put(struct jbuf *j, const char *s, size_t n)
{
	if (j->len + n + 1 > j->cap) {
		j->cap = (j->len + n + 1) * 2;
		j->s = erealloc(j->s, j->cap);
	}
	memcpy(j->s + j->len, s, n);
	j->len += n;
	j->s[j->len] = '\0';
}

/*
 * All of fd appended to j, max bytes at most (< 0: no bound).  0, or -1
 * if a read failed, -2 past max (what came is kept).
 */
int
jb_read(struct jbuf *j, int fd, long long max)
{
	char buf[65536];
	ssize_t r;

	while ((r = read(fd, buf, sizeof(buf))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		jb_put(j, buf, (size_t)r);
		if (max >= 0 && (long long)j->len > max)
			return -2;
	}
	return 0;
}

static void
puts_(struct jbuf *j, const char *s)
{
	jb_put(j, s, strlen(s));
}

/*
 * Length of the valid UTF-8 sequence at s, or 0 if the bytes there are
 * not one: overlong forms, surrogates and code points past U+10FFFF are
 * all invalid.  Sets *cut when the sequence is a valid prefix that the
 * buffer cuts short.
 */
static size_t
utf8_len(const unsigned char *s, size_t n, int *cut)
{
	size_t len, i;
	unsigned long c;

	*cut = 0;
	if (s[0] < 0x80)
		return 1;
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < len; i++) {
		if (i == n) {
			*cut = 1;
			return 0;
		}
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
		/* Reject overlong and out-of-range forms as early as
		 * the second byte tells, so a cut prefix is valid too. */
		if (i == 1 && ((len == 3 && c < 0x20) ||
		    (len == 3 && c >= 0x360 && c <= 0x37f) ||
		    (len == 4 && (c < 0x10 || c > 0x10f))))
			return 0;
	}
	return len;
}

/*
 * Bytes at the end of s that start a UTF-8 sequence the next read may
 * complete; a stream holds them back instead of mangling the character.
 */
size_t
utf8_tail(const char *s, size_t n)
{
	size_t k;
	int cut;

	for (k = 1; k <= 3 && k <= n; k++) {
		utf8_len((const unsigned char *)s + n - k, k, &cut);
		if (cut)
			return k;
	}
	return 0;
}

/*
 * One valid UTF-8 character of len bytes, as it is, but for U+0085,
 * U+2028 and U+2029: they end lines for Python's splitlines() and older
 * JavaScript, so they are escaped and one event stays one line for
 * every reader.
 */
static void
put_char(struct jbuf *j, const unsigned char *p, size_t len)
{
	char esc[8];

	if ((len == 2 && p[0] == 0xc2 && p[1] == 0x85) ||
	    (len == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
	    (p[2] == 0xa8 || p[2] == 0xa9))) {
		snprintf(esc, sizeof(esc), "\\u%04x", len == 2 ? 0x85 :
		    0x2000 + (p[2] - 0x80));
		puts_(j, esc);
	} else {
		jb_put(j, (const char *)p, len);
	}
}

/*
 * How many bytes one U+FFFD stands for at an invalid sequence: its
 * longest valid prefix, at least one byte, as Unicode recommends and as
 * Python's and browsers' decoders do.
 */
static size_t
utf8_bad(const unsigned char *s, size_t n)
{
	size_t k;
	int cut;

	for (k = n < 3 ? n : 3; k > 1; k--) {
		utf8_len(s, k, &cut);
		if (cut)
			return k;
	}
	return 1;
}

/* Quotes s as a JSON string; invalid UTF-8 becomes U+FFFD. */
void
jb_escape(struct jbuf *j, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	char esc[8];
	size_t i, run, len;
	int cut;

	jb_put(j, "\"", 1);
	for (i = 0; i < n; i += len) {
		for (run = i; run < n && p[run] >= 0x20 && p[run] < 0x80 &&
		    p[run] != '"' && p[run] != '\\'; run++)
			;
		if (run > i) {
			jb_put(j, s + i, run - i);
			len = run - i;
			continue;
		}
		if ((len = utf8_len(p + i, n - i, &cut)) > 1) {
			put_char(j, p + i, len);
			continue;
		}
		if (len == 0) {
			puts_(j, "\\ufffd");
			len = utf8_bad(p + i, n - i);
			continue;
		}
		switch (p[i]) {
		case '"':  puts_(j, "\\\""); break;
		case '\\': puts_(j, "\\\\"); break;
		case '\n': puts_(j, "\\n"); break;
		case '\r': puts_(j, "\\r"); break;
		case '\t': puts_(j, "\\t"); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", p[i]);
			puts_(j, esc);
		}
	}
	jb_put(j, "\"", 1);
}

static void
key(struct jbuf *j, const char *k)
{
	if (!j->first)
		jb_put(j, ",", 1);
	j->first = 0;
	jb_escape(j, k, strlen(k));
	jb_put(j, ":", 1);
}

void
jb_begin(struct jbuf *j, const char *event)
{
	j->s = NULL;
	j->len = j->cap = 0;
	jb_put(j, "{", 1);
	j->first = 1;
	jb_str(j, "event", event);
}

void
jb_str(struct jbuf *j, const char *k, const char *s)
{
	if (s == NULL) {
		jb_null(j, k);
		return;
	}
	jb_mem(j, k, s, strlen(s));
}

void
jb_mem(struct jbuf *j, const char *k, const char *s, size_t n)
{
	key(j, k);
	jb_escape(j, s, n);
}

void
jb_int(struct jbuf *j, const char *k, long long v)
{
	char b[32];

	key(j, k);
	snprintf(b, sizeof(b), "%lld", v);
	puts_(j, b);
}

void
jb_null(struct jbuf *j, const char *k)
{
	key(j, k);
	puts_(j, "null");
}

void
jb_bool(struct jbuf *j, const char *k, int v)
{
	key(j, k);
	puts_(j, v ? "true" : "false");
}

/* v / 10^scale as a decimal number, exact: no floating point. */
void
jb_fixed(struct jbuf *j, const char *k, long long v, int scale)
{
	long long div = 1;
	char b[48];
	int i;

	for (i = 0; i < scale; i++)
		div *= 10;
	key(j, k);
	snprintf(b, sizeof(b), "%s%lld.%0*lld", v < 0 ? "-" : "",
	    llabs(v) / div, scale, llabs(v) % div);
	puts_(j, b);
}

/* A count that may be unknown, v < 0: then null; scale as jb_fixed's. */
void
jb_count(struct jbuf *j, const char *k, long long v, int scale)
{
	if (v < 0)
		jb_null(j, k);
	else if (scale > 0)
		jb_fixed(j, k, v, scale);
	else
		jb_int(j, k, v);
}

void
jb_strv(struct jbuf *j, const char *k, char **v)
{
	size_t i;

	key(j, k);
	jb_put(j, "[", 1);
	for (i = 0; v && v[i]; i++) {
		if (i)
			jb_put(j, ",", 1);
		jb_escape(j, v[i], strlen(v[i]));
	}
	jb_put(j, "]", 1);
}

void
jb_obj(struct jbuf *j, const char *k)
{
	key(j, k);
	jb_put(j, "{", 1);
	j->first = 1;
}

void
jb_endobj(struct jbuf *j)
{
	jb_put(j, "}", 1);
	j->first = 0;
}

static int out_failed;	/* a write to stdout failed */

/* Called when a signal interrupts a write that waits for the reader. */
void (*jb_blocked)(void);

/* Shows each line instead, for a person (see human.c); NULL for JSON. */
void (*jb_render)(const char *line);

int
jb_failed(void)
{
	return out_failed;
}

/*
 * Each line goes out whole, with write(2), as soon as it is made:
 * readers see each event when it happens.  Not stdio: a signal that
 * interrupts a blocked fflush makes it drop what it holds, and a slow
 * reader of our output must cost only time, never lines.
 */
void
jb_emit(struct jbuf *j)
{
	struct pollfd out = { 1, POLLOUT, 0 };
	size_t done = 0;
	ssize_t n;

	jb_put(j, "}\n", 2);
	if (jb_render) {
		jb_render(j->s);
		done = j->len;
	}
	while (!out_failed && done < j->len) {
		/* During a run, never wait on the reader for more than a
		 * second without asking whether the run must stop: a pipe
		 * that polls writable takes PIPE_BUF bytes at once. */
		if (jb_blocked) {
			jb_blocked();
			if (poll(&out, 1, 1000) <= 0)
				continue;
		}
		n = write(1, j->s + done, jb_blocked && j->len - done > PIPE_BUF ?
		    PIPE_BUF : j->len - done);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			out_failed = 1;
		else if (n > 0)
			done += (size_t)n;
	}
	free(j->s);
	j->s = NULL;
}

/*
 * Raw bytes to stdout or stderr, for a person (see human.c): all of
 * them, and a failure on stdout counts as a line's would.
 */
void
jb_out(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0 && !(fd == 1 && out_failed)) {
		if ((w = write(fd, buf, n)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (fd == 1)
				out_failed = 1;
			return;
		}
		buf += w;
		n -= (size_t)w;
	}
}

/* The same line, to fd in one write(2); -1 if it did not all go. */
int
jb_write(struct jbuf *j, int fd)
{
	ssize_t n;

	jb_put(j, "}\n", 2);
	n = write(fd, j->s, j->len);
	n = n == (ssize_t)j->len ? 0 : -1;
	free(j->s);
	j->s = NULL;
	return (int)n;
}

void
event_msg(const char *event, const char *fmt, ...)
{
	struct jbuf j;
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	jb_begin(&j, event);
	jb_str(&j, "message", buf);
	jb_emit(&j);
}

/* What sbx gc removed. */
void
event_gc(const char *kind, const char *runtime, const char *name,
    const char *reason)
{
	struct jbuf j;

	jb_begin(&j, "gc");
	jb_str(&j, "kind", kind);
	jb_str(&j, "runtime", runtime);
	jb_str(&j, "name", name);
	jb_str(&j, "reason", reason);
	jb_emit(&j);
}

/*
 * A strict JSON checker for what a script hands back: the text at s
 * must be exactly one JSON value.  It is copied to out without the
 * whitespace between tokens, so it fits on one event line.
 */
struct jv {
	const char *s, *end;
	struct jbuf *out;
	int depth;
};

static int jv_value(struct jv *v);

static void
jv_ws(struct jv *v)
{
	while (v->s < v->end && strchr(" \t\r\n", *v->s) && *v->s)
		v->s++;
}

static int
jv_lit(struct jv *v, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(v->end - v->s) < n || memcmp(v->s, lit, n) != 0)
		return 0;
	jb_put(v->out, lit, n);
	v->s += n;
	return 1;
}

static int
jv_digits(struct jv *v)
{
	const char *p = v->s;

	while (v->s < v->end && *v->s >= '0' && *v->s <= '9')
		v->s++;
	return v->s > p;
}

static int
jv_number(struct jv *v)
{
	const char *p = v->s;

	if (v->s < v->end && *v->s == '-')
		v->s++;
	if (v->s < v->end && *v->s == '0')
		v->s++;
	else if (!jv_digits(v))
		return 0;
	if (v->s < v->end && *v->s == '.' && (v->s++, !jv_digits(v)))
		return 0;
	if (v->s < v->end && (*v->s == 'e' || *v->s == 'E')) {
		v->s++;
		if (v->s < v->end && (*v->s == '+' || *v->s == '-'))
			v->s++;
		if (!jv_digits(v))
			return 0;
	}
	jb_put(v->out, p, (size_t)(v->s - p));
	return 1;
}

static int
jv_string(struct jv *v)
{
	const unsigned char *p = (const unsigned char *)v->s + 1;
	const unsigned char *end = (const unsigned char *)v->end;
	const unsigned char *from = (const unsigned char *)v->s;
	size_t len;
	int cut, i;

	while (p < end && *p != '"') {
		if (*p < 0x20)
			return 0;
		if (*p == '\\') {
			if (++p == end)
				return 0;
			if (*p == 'u') {
				for (i = 1; i <= 4; i++)
					if (p + i >= end || !isxdigit(p[i]))
						return 0;
				p += 4;
			} else if (!strchr("\"\\/bfnrt", *p) || *p == '\0') {
				return 0;
			}
			p++;
		} else if ((len = utf8_len(p, (size_t)(end - p), &cut)) == 0) {
			return 0;
		} else if (len > 1) {	/* as it is, or escaped */
			jb_put(v->out, (const char *)from, (size_t)(p - from));
			put_char(v->out, p, len);
			from = p += len;
		} else {
			p++;
		}
	}
	if (p == end)
		return 0;
	jb_put(v->out, (const char *)from, (size_t)(p + 1 - from));
	v->s = (const char *)p + 1;
	return 1;
}

/* An object or an array: open, members separated by commas, close. */
static int
jv_group(struct jv *v, char close)
{
	int first = 1;

	if (++v->depth > 64)
		return 0;
	jb_put(v->out, v->s++, 1);
	for (;;) {
		jv_ws(v);
		if (v->s < v->end && *v->s == close && first)
			break;
		if (close == '}') {
			if (v->s >= v->end || *v->s != '"' || !jv_string(v))
				return 0;
			jv_ws(v);
			if (v->s >= v->end || *v->s != ':')
				return 0;
			jb_put(v->out, v->s++, 1);
		}
		if (!jv_value(v))
			return 0;
		jv_ws(v);
		if (v->s < v->end && *v->s == ',') {
			jb_put(v->out, v->s++, 1);
			first = 0;
			continue;
		}
		if (v->s < v->end && *v->s == close)
			break;
		return 0;
	}
	jb_put(v->out, v->s++, 1);
	v->depth--;
	return 1;
}

static int
jv_value(struct jv *v)
{
	jv_ws(v);
	if (v->s >= v->end)
		return 0;
	switch (*v->s) {
	case '{': return jv_group(v, '}');
	case '[': return jv_group(v, ']');
	case '"': return jv_string(v);
	case 't': return jv_lit(v, "true");
	case 'f': return jv_lit(v, "false");
	case 'n': return jv_lit(v, "null");
	default: return jv_number(v);
	}
}

/* 1 if s[0..n] is one JSON value; its compact form is then in out. */
int
json_compact(const char *s, size_t n, struct jbuf *out)
{
	struct jv v;

	v.s = s;
	v.end = s + n;
	v.out = out;
	v.depth = 0;
	out->s = NULL;
	out->len = out->cap = 0;
	jb_put(out, "", 0);
	if (!jv_value(&v))
		return 0;
	jv_ws(&v);
	return v.s == v.end;
}

/* A member whose value is JSON already checked by json_compact. */
void
jb_raw(struct jbuf *j, const char *k, const char *json)
{
	key(j, k);
	puts_(j, json);
}

/*
 * Readers of our own event lines (human.c, batch.c): compact JSON, one
 * object, so a flat scan of its top level finds a member.
 */

/* Past the JSON value at p: a string, an object or array, or a word. */
static const char *
skip_value(const char *p)
{
	int depth = 0, str = 0;

	for (; *p; p++) {
		if (str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				str = 0;
			if (!str && depth == 0)
				return p + 1;
			continue;
		}
		if (*p == '"')
			str = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (depth-- == 0)
				return p;
			if (depth == 0)
				return p + 1;
		} else if (*p == ',' && depth == 0)
			return p;
	}
	return p;
}

/* The raw value of the top-level member key of line, or NULL. */
const char *
jl_member(const char *line, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	const char *p = line + 1, *v;

	if (*line != '{')
		return NULL;

	while (*p == '"') {
		v = strchr(p + 1, '"');
		if (v == NULL || v[1] != ':')
			return NULL;
		v += 2;
		if ((size_t)(v - p - 3) == kl && strncmp(p + 1, key, kl) == 0) {
			*len = (size_t)(skip_value(v) - v);
			return v;
		}
		p = skip_value(v);
		if (*p == ',')
			p++;
	}
	return NULL;
}

static long
hex4(const char *p)
{
	char h[5];

	memcpy(h, p, 4);
	h[4] = '\0';
	return strtol(h, NULL, 16);
}

/* A string member of line, unescaped into buf (\u past ASCII as '?'), or
 * "" if none. */
const char *
jl_str(const char *line, const char *key, char *buf, size_t size)
{
	const char *v;
	size_t len = 0, o = 0, i;
	long c;

	if ((v = jl_member(line, key, &len)) == NULL || *v != '"')
		len = 0;
	for (i = 1; i + 1 < len && o + 1 < size; i++) {
		if (v[i] != '\\') {
			buf[o++] = v[i];
			continue;
		}
		switch (v[++i]) {
		case 'n': buf[o++] = '\n'; break;
		case 't': buf[o++] = '\t'; break;
		case 'r': buf[o++] = '\r'; break;
		case 'b': buf[o++] = '\b'; break;
		case 'f': buf[o++] = '\f'; break;
		case 'u':
			c = i + 4 < len ? hex4(v + i + 1) : '?';
			buf[o++] = c > 0 && c < 128 ? (char)c : '?';
			i += 4;
			break;
		default: buf[o++] = v[i]; break;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* A number member, or -1 when it is null or missing. */
double
jl_number(const char *line, const char *key)
{
	size_t len;
	const char *v = jl_member(line, key, &len);

	return v && (*v == '-' || (*v >= '0' && *v <= '9')) ?
	    strtod(v, NULL) : -1;
}

int
jl_yes(const char *line, const char *key)
{
	size_t len;
	const char *v = jl_member(line, key, &len);

	return v && strncmp(v, "true", 4) == 0;
}
