/*
 * fuzz_diff: diff.c's hunks between two byte strings, applied to the
 * first by a strict applier written here, apart from diff.c.  The input
 * is a two-byte little-endian length of a (modulo what is left), a,
 * then b.
 *
 * diff_hunks must return 0 and append nothing exactly when a is b.  Its
 * hunks must read as diff -u writes them: headers "@@ -l,s +l,s @@" with
 * a count of 1 left out and an empty range numbered by the line before
 * it; bodies whose lines match the counts and, on the old side, a's
 * lines at exactly the place the header says; exactly min(3, what there
 * is) lines of context around the changes of a hunk, at most 6 between
 * two changes of one hunk, and a line or more between hunks; "\ No
 * newline at end of file" only after a last line.  Applied, they must
 * give b byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"
#include "tests/fuzz/fuzz.h"

#define CONTEXT	3

static const char nonl[] = "\\ No newline at end of file\n";

/* The applier's state: the hunks left, a, and b as rebuilt so far. */
struct patch {
	const char *p, *end;
	const char *a;
	size_t *off;		/* line i of a is a[off[i]..off[i + 1]) */
	size_t na;		/* lines of a */
	size_t pos;		/* next line of a */
	char *out;
	size_t len;
	size_t nb;		/* lines of b made so far */
	int ended;		/* b's last line had no newline */
};

/* Cuts a into lines, written apart from diff.c's split. */
static void
lines(struct patch *t, const char *a, size_t an)
{
	size_t i, n = 0;

	t->a = a;
	t->off = malloc((an + 2) * sizeof(*t->off));
	t->off[0] = 0;
	for (i = 0; i < an; i++)
		if (a[i] == '\n')
			t->off[++n] = i + 1;
	if (an > 0 && a[an - 1] != '\n')
		t->off[++n] = an;
	t->na = n;
}

static void
emit(struct patch *t, const char *s, size_t n)
{
	if (t->ended)
		fuzz_fail("text after a last line without a newline");
	memcpy(t->out + t->len, s, n);
	t->len += n;
	t->nb++;
	t->ended = n == 0 || s[n - 1] != '\n';
}

/* Copies a's lines up to line to, unchanged. */
static void
copy(struct patch *t, size_t to)
{
	for (; t->pos < to; t->pos++)
		emit(t, t->a + t->off[t->pos],
		    t->off[t->pos + 1] - t->off[t->pos]);
}

static void
literal(struct patch *t, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(t->end - t->p) < n || memcmp(t->p, s, n) != 0)
		fuzz_fail("%td bytes before the end: want \"%s\"",
		    t->end - t->p, s);
	t->p += n;
}

/* A decimal number without a sign or a leading zero. */
static size_t
number(struct patch *t)
{
	size_t v = 0;
	const char *s = t->p;

	while (t->p < t->end && *t->p >= '0' && *t->p <= '9') {
		if (v > SIZE_MAX / 10 - 1)
			fuzz_fail("number too long in a header");
		v = v * 10 + (size_t)(*t->p++ - '0');
	}
	if (t->p == s || (*s == '0' && t->p - s > 1))
		fuzz_fail("bad number in a header: \"%.*s\"",
		    (int)(t->p - s), s);
	return v;
}

/* "l,s" or "l" for s = 1; *first is the 0-based line the range is at. */
static void
range(struct patch *t, size_t *first, size_t *count)
{
	size_t l = number(t);

	*count = 1;
	if (t->p < t->end && *t->p == ',') {
		t->p++;
		if ((*count = number(t)) == 1)
			fuzz_fail("a count of 1 written out");
	}
	if (*count > 0 && l == 0)
		fuzz_fail("line 0 for a range that is not empty");
	*first = *count > 0 ? l - 1 : l;
}

/* One body line: its tag, its text with the newline that diff_hunks
 * added for the marker taken off. */
static char
bodyline(struct patch *t, const char **s, size_t *n)
{
	const char *nl;
	char tag;

	if (t->p == t->end)
		fuzz_fail("hunk cut short");
	tag = *t->p++;
	if ((nl = memchr(t->p, '\n', (size_t)(t->end - t->p))) == NULL)
		fuzz_fail("body line without a newline");
	*s = t->p;
	*n = (size_t)(nl - t->p) + 1;
	t->p = nl + 1;
	if ((size_t)(t->end - t->p) >= sizeof(nonl) - 1 &&
	    memcmp(t->p, nonl, sizeof(nonl) - 1) == 0) {
		t->p += sizeof(nonl) - 1;
		--*n;
	}
	return tag;
}

/* An old-side line must be a's next line, newline or its lack included. */
static void
old(struct patch *t, const char *s, size_t n)
{
	size_t i = t->pos;

	if (i >= t->na || t->off[i + 1] - t->off[i] != n ||
	    memcmp(t->a + t->off[i], s, n) != 0)
		fuzz_fail("old line %zu is not a's", i + 1);
	t->pos++;
}

/*
 * At a change: the context before it must be all there is, up to 3 if
 * it is the hunk's first (apos and bpos are where it starts), and at
 * most 2 * 3 lines if not, or the hunk should have been two.
 */
static void
change(size_t *run, size_t *changes, size_t apos, size_t bpos)
{
	size_t want = apos < bpos ? apos : bpos;

	if (want > CONTEXT)
		want = CONTEXT;
	if (*changes == 0 && *run != want)
		fuzz_fail("%zu lines of context before a hunk's first change "
		    "at old line %zu, not %zu", *run, apos + 1, want);
	if (*changes > 0 && *run > 2 * CONTEXT)
		fuzz_fail("%zu lines of context between two changes of a "
		    "hunk", *run);
	++*changes;
	*run = 0;
}

static void
header(struct patch *t, int first, size_t *oc, size_t *nc)
{
	size_t of, nf;

	literal(t, "@@ -");
	range(t, &of, oc);
	literal(t, " +");
	range(t, &nf, nc);
	literal(t, " @@\n");
	if (of < t->pos + !first || of > t->na)
		fuzz_fail("hunk at old line %zu: a has %zu, the last hunk "
		    "ended at %zu", of + 1, t->na, t->pos);
	copy(t, of);
	if (nf != t->nb)
		fuzz_fail("hunk at new line %zu, not %zu", nf + 1, t->nb + 1);
}

/* One hunk, checked as the comment at the top says, and applied. */
static void
hunk(struct patch *t, int first)
{
	size_t oc, nc, n, run = 0, changes = 0;
	const char *s;

	header(t, first, &oc, &nc);
	while (oc > 0 || nc > 0) {
		switch (bodyline(t, &s, &n)) {
		case ' ':
			if (oc-- == 0 || nc-- == 0)
				fuzz_fail("context line past a count");
			old(t, s, n);
			emit(t, s, n);
			run++;
			break;
		case '-':
			if (oc-- == 0)
				fuzz_fail("old line past the count");
			change(&run, &changes, t->pos, t->nb);
			old(t, s, n);
			break;
		case '+':
			if (nc-- == 0)
				fuzz_fail("new line past the count");
			change(&run, &changes, t->pos, t->nb);
			emit(t, s, n);
			break;
		default:
			fuzz_fail("body line tagged '%c'", s[-1]);
		}
	}
	if (changes == 0)
		fuzz_fail("hunk without a change");
	n = t->na - (t->pos - run);
	if (run != (n < CONTEXT ? n : CONTEXT))
		fuzz_fail("%zu lines of context after a hunk, %zu lines left",
		    run, n);
}

static void
apply(const char *h, size_t hn, const char *a, size_t an, const char *b,
    size_t bn)
{
	struct patch t;
	int first = 1;

	memset(&t, 0, sizeof(t));
	t.p = h;
	t.end = h + hn;
	lines(&t, a, an);
	t.out = malloc(an + hn + 1);
	for (; t.p < t.end; first = 0)
		hunk(&t, first);
	copy(&t, t.na);
	if (t.len != bn || (bn > 0 && memcmp(t.out, b, bn) != 0))
		fuzz_fail("a patched is %zu bytes, not b's %zu", t.len, bn);
	free(t.off);
	free(t.out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jbuf h = { NULL, 0, 0, 0 };
	size_t an, bn;
	char *a = NULL, *b = NULL;
	int r, same;

	if (size < 2)
		return 0;
	an = (size_t)(data[0] | data[1] << 8) % (size - 1);
	bn = size - 2 - an;
	/* Exact copies, so ASan sees a read past either; NULL if empty. */
	if (an > 0)
		a = memcpy(malloc(an), data + 2, an);
	if (bn > 0)
		b = memcpy(malloc(bn), data + 2 + an, bn);
	r = diff_hunks(&h, a, an, b, bn);
	same = an == bn && (an == 0 || memcmp(a, b, an) == 0);
	if (r != !same || (h.len == 0) != same)
		fuzz_fail("diff_hunks returned %d with %zu bytes for %s", r,
		    h.len, same ? "equal strings" : "different strings");
	if (!same)
		apply(h.s, h.len, a, an, b, bn);
	free(h.s);
	free(a);
	free(b);
	return 0;
}
