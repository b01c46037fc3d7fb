/*
 * fuzz_json: json.c's string escaping and the UTF-8 hold-back that the
 * output relay uses, on arbitrary bytes.
 *
 * - jb_escape(s) is one JSON string, valid UTF-8, whose text is s with
 *   each maximal subpart of an ill-formed UTF-8 sequence (table 3-7 of
 *   Unicode, checked apart from json.c) replaced by one U+FFFD;
 * - utf8_tail(s, n) <= 3 and <= n, and it is exactly the length of a
 *   cut but so far valid sequence at the end of s, or 0 if none;
 * - relaying s in chunks, holding back utf8_tail bytes each time as
 *   backend_cli.c's relay() does, gives the same text as escaping s whole;
 * - a whole event built with the jb_* calls is one JSON object.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"
#include "tests/fuzz/fuzz.h"

/*
 * What jb_escape must mean: the text of s, one U+FFFD for each maximal
 * subpart of an ill-formed sequence (its longest prefix that a
 * well-formed one could start with, or else one byte), as Unicode
 * recommends and Python's decoder does.
 */
static char *
expected(const unsigned char *s, size_t n, size_t *len)
{
	char *e = malloc(3 * n + 1);
	size_t i, k, o = 0;
	int part;

	for (i = 0; i < n; i += k) {
		if ((k = u8_seq(s + i, n - i, &part)) == 0) {
			memcpy(e + o, "\xef\xbf\xbd", 3);
			o += 3;
			for (k = n - i < 3 ? n - i : 3; k > 1; k--) {
				u8_seq(s + i, k, &part);
				if (part)
					break;
			}
		} else {
			memcpy(e + o, s + i, k);
			o += k;
		}
	}
	*len = o;
	return e;
}

/* jb_escape(s), checked as one JSON string; returns its decoded text. */
static char *
escape(const char *s, size_t n, size_t *len)
{
	struct jbuf j = { NULL, 0, 0, 1 };
	char *text;

	jb_escape(&j, s, n);
	if (j.s == NULL || strlen(j.s) != j.len)
		fuzz_fail("jb_escape: %zu bytes in, buffer %p of %zu bytes "
		    "with a NUL inside", n, (void *)j.s, j.len);
	text = malloc(j.len + 1);
	if (json_string(j.s, j.len, text, len) != j.len)
		fuzz_fail("jb_escape of %zu bytes: not one valid JSON string: "
		    "%.200s", n, j.s);
	free(j.s);
	return text;
}

static void
check_tail(const unsigned char *s, size_t n)
{
	size_t t = utf8_tail((const char *)s, n), k, want = 0;
	int part;

	if (t > 3 || t > n)
		fuzz_fail("utf8_tail(s, %zu) = %zu", n, t);
	for (k = 1; k <= 3 && k <= n && want == 0; k++) {
		u8_seq(s + n - k, k, &part);
		if (part)
			want = k;
	}
	if (t != want)
		fuzz_fail("utf8_tail(s, %zu) = %zu, want %zu (last bytes "
		    "%02x %02x %02x)", n, t, want, n > 2 ? s[n - 3] : 0,
		    n > 1 ? s[n - 2] : 0, n > 0 ? s[n - 1] : 0);
}

/*
 * backend_cli.c's relay(), without the output cap: each read appends to
 * what was held back, the cut character at the end is held back again,
 * the rest is one event.  Chunk sizes come from seed.
 */
static void
check_stream(const unsigned char *s, size_t n, unsigned seed,
    const char *whole, size_t wlen)
{
	unsigned char buf[64 + 4];
	char *text, *all = malloc(3 * n + 1);
	size_t held = 0, i = 0, chunk, total, keep, len, o = 0;

	while (i < n) {
		seed = seed * 1103515245u + 12345u;
		chunk = 1 + (seed >> 16) % 16;
		if (chunk > n - i)
			chunk = n - i;
		memcpy(buf + held, s + i, chunk);
		i += chunk;
		total = held + chunk;
		keep = utf8_tail((const char *)buf, total);
		if (keep > 3 || keep > total)
			fuzz_fail("utf8_tail(buf, %zu) = %zu", total, keep);
		text = escape((const char *)buf, total - keep, &len);
		memcpy(all + o, text, len);
		o += len;
		free(text);
		memmove(buf, buf + total - keep, keep);
		held = keep;
	}
	text = escape((const char *)buf, held, &len);	/* at the end */
	memcpy(all + o, text, len);
	o += len;
	free(text);
	if (o != wlen || memcmp(all, whole, o) != 0)
		fuzz_fail("relayed in chunks, %zu bytes of text; escaped "
		    "whole, %zu", o, wlen);
	free(all);
}

/* The decimal text jb_fixed must give for v / 10^scale. */
static void
fixed_text(char *b, size_t size, long long v, int scale)
{
	unsigned long long a = v < 0 ? 0ULL - (unsigned long long)v :
	    (unsigned long long)v;
	char d[32];
	int n;

	n = snprintf(d, sizeof(d), "%0*llu", scale + 1, a);
	snprintf(b, size, "%s%.*s.%s", v < 0 ? "-" : "", n - scale, d,
	    d + n - scale);
}

static long long
bytes_ll(const uint8_t *d, size_t n)
{
	unsigned long long v = 0;
	size_t i;

	for (i = 0; i < 8 && i < n; i++)
		v = v << 8 | d[i];
	return (long long)v;
}

/* A whole event, as sbx builds them, with the input in every slot. */
static void
check_event(const uint8_t *d, size_t n)
{
	struct jbuf j;
	char *str = malloc(n + 1), **v, want[64], *p;
	long long x = bytes_ll(d, n);
	int scale = n > 0 ? 1 + d[n - 1] % 6 : 3;

	memcpy(str, d, n);
	str[n] = '\0';
	if (x == LLONG_MIN)	/* llabs() of it is undefined; see report */
		x++;
	jb_begin(&j, str);
	jb_fixed(&j, "fixed", x, scale);	/* first: found by strstr */
	jb_mem(&j, "data", (const char *)d, n);
	jb_str(&j, str, str);
	jb_str(&j, "null", NULL);
	jb_int(&j, "int", x);
	jb_bool(&j, "bool", (int)(x & 1));
	jb_obj(&j, "obj");
	jb_obj(&j, "inner");
	jb_endobj(&j);
	v = strv_split(str, " \t,");
	jb_strv(&j, "list", v);
	strv_free(v);
	jb_strv(&j, "empty", NULL);
	jb_endobj(&j);
	/* jb_emit adds "}\n" and writes to stdout: close it by hand. */
	j.s = erealloc(j.s, j.len + 2);
	memcpy(j.s + j.len, "}", 2);
	j.len++;
	if (!json_valid(j.s, j.len))
		fuzz_fail("event of %zu bytes is not valid JSON: %.300s", n,
		    j.s);
	if (strncmp(j.s, "{\"event\":", 9) != 0)
		fuzz_fail("event does not start with its event member");
	fixed_text(want, sizeof(want), x, scale);
	if ((p = strstr(j.s, "\"fixed\":")) == NULL ||
	    strncmp(p + 8, want, strlen(want)) != 0 ||
	    p[8 + strlen(want)] != ',')
		fuzz_fail("jb_fixed(%lld, %d): want %s in %.300s", x, scale,
		    want, p ? p : j.s);
	free(j.s);
	free(str);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes: ASan sees any read past it. */
	unsigned char *s = malloc(size > 0 ? size : 1);
	char *text, *want;
	size_t len, wlen;

	memcpy(s, data, size);
	text = escape((const char *)s, size, &len);
	want = expected(s, size, &wlen);
	if (len != wlen || memcmp(text, want, len) != 0)
		fuzz_fail("jb_escape of %zu bytes: decoded text of %zu bytes "
		    "differs from the input with U+FFFD for bad bytes (%zu)",
		    size, len, wlen);
	free(want);
	check_tail(s, size);
	check_stream(s, size, size > 0 ? s[0] : 0, text, len);
	free(text);
	check_event(s, size);
	free(s);
	return 0;
}
