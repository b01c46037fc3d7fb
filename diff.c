/* See LICENSE file for copyright and license details. */
/*
 * The hunks of a unified diff between two byte strings, as diff -u and
 * git print them with 3 lines of context: what a run changed in a file,
 * shown as a patch that turns the old contents into the new.
 *
 * Lines are compared whole, newline included, so a last line without
 * one never matches a line with one: that is what puts the "\ No
 * newline at end of file" marker on the right side.  Each line is first
 * interned into a class (by hash, then bytes), so that the search
 * compares ints.  The search is Myers' greedy O(ND) algorithm ("An O(ND)
 * Difference Algorithm and Its Variations", 1986).
 *
 * The contents may be hostile, so every stage is bounded.  A common
 * prefix and suffix are cut off first, and lines found in one file only
 * are changed outright, as GNU diff and git do: neither step loses a
 * minimal script, and together they make most real edits cheap.  The
 * search then has a budget of memory per pass and of work in all.  A
 * pass that runs out of either keeps the path to the point it got
 * furthest to, and the next pass starts there; once the work is spent,
 * all that is left is deleted and added.  The script is then no longer
 * minimal, but the patch is always correct.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"

#define CONTEXT		3
#define MAXCELLS	((size_t)1 << 23)	/* x values of one pass: 32 MiB */
#define MAXWORK		((long)1 << 25)	/* cells and matches of all passes */
#define MAXPROBE	64		/* hash slots one line may look at */
#define MAXLINES	((size_t)INT_MAX / 4)	/* so 2 * x - k fits an int */
#define HASHK		UINT64_C(0x9e3779b97f4a7c15)

/* A file cut into lines: line i is s[off[i]..off[i + 1]), '\n' included. */
struct text {
	const char *s;
	size_t *off;
	size_t n;
	char *chg;		/* chg[i]: line i is deleted (a) or added (b) */
};

/* A line class: its hash, one of its lines, and the files it is in. */
struct cls {
	uint64_t h;
	const char *s;
	size_t n;
	int in;			/* 1: in a, 2: in b */
};

/* Open addressing, linear probing. */
struct table {
	int *slot;		/* class + 1, 0 if free */
	size_t mask;
	struct cls *c;
	size_t nc, cap;
};

/* The lines left for the search: their classes, and their line numbers. */
struct seq {
	int *c;
	size_t *at;
	size_t n;
};

/*
 * One pass of the search runs on a[0..n) and b[0..m), the lines of qa
 * and qb from (x, y) on.  Row d holds, for the diagonals k = lo, lo + 2,
 * ..., hi of range(), the furthest x reached with d edits, -1 if none.
 */
struct myers {
	struct text *ta, *tb;
	struct seq qa, qb;
	size_t x, y;
	const int *a, *b;
	int n, m;
	int *v;
	size_t vcap;
	size_t *row;		/* row[d]: where row d starts in v */
	size_t rowcap;
	long work;		/* left, for all passes */
};

/* One row of a pass, as read back. */
struct row {
	const int *v;
	int lo, hi;
};

struct hunk {
	size_t a0, b0;		/* its first lines, context included */
	size_t a1, b1;		/* the ends of its last change */
	struct jbuf body;
};

static size_t
min(size_t a, size_t b)
{
	return a < b ? a : b;
}

static size_t
lsize(const struct text *t, size_t i)
{
	return t->off[i + 1] - t->off[i];
}

static const char *
lstart(const struct text *t, size_t i)
{
	return t->s + t->off[i];
}

/* Indexes, not pointers: s may be NULL when len is 0. */
static size_t
nlines(const char *s, size_t len)
{
	const char *nl;
	size_t n = 0, i = 0;

	while (i < len && (nl = memchr(s + i, '\n', len - i)) != NULL) {
		n++;
		i = (size_t)(nl - s) + 1;
	}
	return n + (i < len);
}

static void
split(struct text *t, const char *s, size_t len)
{
	const char *nl;
	size_t i = 0, k = 0;

	t->s = s;
	t->n = nlines(s, len);
	t->off = emalloc((t->n + 1) * sizeof(*t->off));
	t->chg = ecalloc(t->n + 1, 1);
	t->off[0] = 0;
	while (k < t->n) {
		nl = memchr(s + i, '\n', len - i);
		i = nl != NULL ? (size_t)(nl - s) + 1 : len;
		t->off[++k] = i;
	}
}

static int
same(const struct text *a, size_t i, const struct text *b, size_t j)
{
	size_t n = lsize(a, i);

	return n == lsize(b, j) && memcmp(lstart(a, i), lstart(b, j), n) == 0;
}

static void
trim(const struct text *a, const struct text *b, size_t *pre, size_t *suf)
{
	size_t p = 0, s = 0;

	while (p < a->n && p < b->n && same(a, p, b, p))
		p++;
	while (s < a->n - p && s < b->n - p &&
	    same(a, a->n - 1 - s, b, b->n - 1 - s))
		s++;
	*pre = p;
	*suf = s;
}

/*
 * Eight bytes a step, each folded down after its multiply so that high
 * bytes reach the low bits, which pick the slot.  tests/difftest.c
 * builds collisions from this.
 */
static uint64_t
step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * HASHK;
	return h ^ h >> 32;
}

static uint64_t
hash(const char *s, size_t n)
{
	uint64_t h = 0, w;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		h = step(h, w);
	}
	w = 0;
	memcpy(&w, s + i, n - i);
	return step(step(h, w), n);
}

/* Returns the new class's number + 1, as the slots hold it. */
static int
newcls(struct table *t, uint64_t h, const char *s, size_t n)
{
	if (t->nc == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		t->c = erealloc(t->c, t->cap * sizeof(*t->c));
	}
	t->c[t->nc].h = h;
	t->c[t->nc].s = s;
	t->c[t->nc].n = n;
	t->c[t->nc].in = 0;
	return (int)++t->nc;
}

/*
 * The class of s[0..n), seen in file side.  A line that probes too long
 * (a flood of colliding lines, or bad luck) gets a class of its own,
 * which can make the diff longer but never wrong.
 */
static int
intern(struct table *t, const char *s, size_t n, int side)
{
	uint64_t h = hash(s, n);
	size_t i = h & t->mask, probe;
	struct cls *c;
	int id = 0;

	for (probe = 0; probe < MAXPROBE; probe++, i = (i + 1) & t->mask) {
		if ((id = t->slot[i]) == 0) {
			id = t->slot[i] = newcls(t, h, s, n);
			break;
		}
		c = &t->c[id - 1];
		if (c->h == h && c->n == n && memcmp(c->s, s, n) == 0)
			break;
	}
	if (probe == MAXPROBE)
		id = newcls(t, h, s, n);
	t->c[id - 1].in |= side;
	return id - 1;
}

static int *
classify(struct table *tb, const struct text *t, size_t from, size_t to,
    int side)
{
	int *c = emalloc((to - from + 1) * sizeof(*c));
	size_t i;

	for (i = from; i < to; i++)
		c[i - from] = intern(tb, lstart(t, i), lsize(t, i), side);
	return c;
}

/* Lines whose class the other file lacks cannot be common: changed now. */
static void
reduce(struct seq *q, struct text *t, const int *c, size_t from, size_t to,
    const struct table *tb, int other)
{
	size_t i;

	q->c = emalloc((to - from + 1) * sizeof(*q->c));
	q->at = emalloc((to - from + 1) * sizeof(*q->at));
	q->n = 0;
	for (i = from; i < to; i++) {
		if (tb->c[c[i - from]].in & other) {
			q->c[q->n] = c[i - from];
			q->at[q->n++] = i;
		} else {
			t->chg[i] = 1;
		}
	}
}

/* The lines between prefix and suffix, as sequences of classes. */
static void
prepare(struct myers *s, size_t pre, size_t suf)
{
	struct table tb;
	size_t ea = s->ta->n - suf, eb = s->tb->n - suf, size = 16;
	int *ca, *cb;

	while (size < 2 * (ea - pre + eb - pre))
		size *= 2;
	tb.slot = ecalloc(size, sizeof(*tb.slot));
	tb.mask = size - 1;
	tb.c = NULL;
	tb.nc = tb.cap = 0;
	ca = classify(&tb, s->ta, pre, ea, 1);
	cb = classify(&tb, s->tb, pre, eb, 2);
	reduce(&s->qa, s->ta, ca, pre, ea, &tb, 2);
	reduce(&s->qb, s->tb, cb, pre, eb, &tb, 1);
	free(ca);
	free(cb);
	free(tb.slot);
	free(tb.c);
}

/* The diagonals row d has: those of d's parity that stay in the grid. */
static void
range(const struct myers *s, int d, int *lo, int *hi)
{
	*lo = d <= s->m ? -d : -s->m + ((d - s->m) & 1);
	*hi = d <= s->n ? d : s->n - ((d - s->n) & 1);
}

/* Row d of the pass's x values. */
static void
getrow(const struct myers *s, int d, struct row *r)
{
	range(s, d, &r->lo, &r->hi);
	r->v = s->v + s->row[d];
}

static int
at(const struct row *r, int k)
{
	return k < r->lo || k > r->hi ? -1 : r->v[(k - r->lo) / 2];
}

/*
 * Where diagonal k starts on the row after prev: one edit past whichever
 * neighbour on prev gets further without leaving the grid, an insertion
 * from k + 1 on a tie.  *from is that neighbour.
 */
static int
start(const struct myers *s, const struct row *prev, int k, int *from)
{
	int ins = at(prev, k + 1), del = at(prev, k - 1);

	if (ins >= 0 && ins - k > s->m)
		ins = -1;
	if (del >= 0 && ++del > s->n)
		del = -1;
	*from = ins >= del ? k + 1 : k - 1;
	return ins >= del ? ins : del;
}

static int
snake(struct myers *s, int x, int k)
{
	int x0 = x, y = x - k;

	while (x < s->n && y < s->m && s->a[x] == s->b[y])
		x++, y++;
	s->work -= x - x0;
	return x;
}

/* Room for row d of cells x values; 0 if over the budget of a pass. */
static int
grow(struct myers *s, int d, size_t cells)
{
	if (s->row[d] + cells > MAXCELLS)
		return 0;
	if ((size_t)d + 2 > s->rowcap) {
		s->rowcap = 2 * ((size_t)d + 2);
		s->row = erealloc(s->row, s->rowcap * sizeof(*s->row));
	}
	s->row[d + 1] = s->row[d] + cells;
	if (s->row[d + 1] > s->vcap) {
		s->vcap = min(2 * s->row[d + 1], MAXCELLS);
		s->v = erealloc(s->v, s->vcap * sizeof(*s->v));
	}
	return 1;
}

/* The diagonal of row d whose point is furthest from (0, 0). */
static int
furthest(const struct myers *s, int d)
{
	struct row r;
	int k, x, best = -1, kbest;

	getrow(s, d, &r);
	kbest = r.lo;
	for (k = r.lo; k <= r.hi; k += 2)
		if ((x = at(&r, k)) >= 0 && 2 * x - k > best) {
			best = 2 * x - k;
			kbest = k;
		}
	return kbest;
}

/*
 * Row d > 0 from row d - 1; 0 if the work ran out first.  *k is set to
 * the diagonal that reached (n, m), or past the row's last if none did.
 */
static int
fill(struct myers *s, int d, int *k)
{
	struct row prev, r;
	int x, from;

	getrow(s, d - 1, &prev);
	getrow(s, d, &r);
	for (*k = r.lo; *k <= r.hi; *k += 2) {
		if ((x = start(s, &prev, *k, &from)) >= 0)
			x = snake(s, x, *k);
		s->v[s->row[d] + (size_t)(*k - r.lo) / 2] = x;
		if (x == s->n && x - *k == s->m)
			return 1;
		if (--s->work <= 0)
			return 0;
	}
	return 1;
}

/*
 * One pass: rows of furthest reaching points, one edit more each, until
 * one reaches (n, m) or a budget runs out.  Returns d and sets *k to
 * where the path to keep ends: (n, m), or the furthest point of the last
 * whole row.  Row 0 is always whole, so a pass never fails.
 */
static int
search(struct myers *s, int *k)
{
	int d, lo, hi;

	s->row[0] = 0;
	grow(s, 0, 1);
	s->v[0] = snake(s, 0, 0);
	*k = 0;
	if (s->v[0] == s->n && s->n == s->m)
		return 0;
	for (d = 1; s->work > 0; d++) {
		range(s, d, &lo, &hi);
		if (!grow(s, d, (size_t)(hi - lo) / 2 + 1) || !fill(s, d, k))
			break;
		if (*k <= hi)
			return d;
	}
	*k = furthest(s, d - 1);
	return d - 1;
}

/* Marks the edits on the path that ends on diagonal k of row d. */
static void
backtrack(struct myers *s, int d, int k)
{
	struct row prev;
	int x, from;

	for (; d > 0; d--, k = from) {
		getrow(s, d - 1, &prev);
		x = start(s, &prev, k, &from);
		if (from == k + 1)
			s->tb->chg[s->qb.at[s->y + (size_t)(x - k - 1)]] = 1;
		else
			s->ta->chg[s->qa.at[s->x + (size_t)(x - 1)]] = 1;
	}
}

static int
endx(const struct myers *s, int d, int k)
{
	struct row r;

	getrow(s, d, &r);
	return at(&r, k);
}

/* Passes until the end is reached, the work is spent or one is stuck. */
static void
passes(struct myers *s)
{
	size_t i;
	int d, k, x;

	while (s->x < s->qa.n && s->y < s->qb.n && s->work > 0) {
		s->a = s->qa.c + s->x;
		s->b = s->qb.c + s->y;
		s->n = (int)(s->qa.n - s->x);
		s->m = (int)(s->qb.n - s->y);
		d = search(s, &k);
		backtrack(s, d, k);
		x = endx(s, d, k);
		if (x == 0 && k == 0)
			break;
		s->x += (size_t)x;
		s->y += (size_t)(x - k);
	}
	for (i = s->x; i < s->qa.n; i++)
		s->ta->chg[s->qa.at[i]] = 1;
	for (i = s->y; i < s->qb.n; i++)
		s->tb->chg[s->qb.at[i]] = 1;
}

/* Sets the chg flags of a and b: a short, if not always shortest, script. */
static void
compare(struct text *a, struct text *b)
{
	struct myers s;
	size_t pre, suf;

	trim(a, b, &pre, &suf);
	/* Too many lines for the search's ints: changed, all of them. */
	if (a->n - pre - suf > MAXLINES || b->n - pre - suf > MAXLINES) {
		memset(a->chg + pre, 1, a->n - pre - suf);
		memset(b->chg + pre, 1, b->n - pre - suf);
		return;
	}
	memset(&s, 0, sizeof(s));
	s.ta = a;
	s.tb = b;
	s.work = MAXWORK;
	prepare(&s, pre, suf);
	s.rowcap = 64;
	s.row = emalloc(s.rowcap * sizeof(*s.row));
	passes(&s);
	free(s.qa.c);
	free(s.qa.at);
	free(s.qb.c);
	free(s.qb.at);
	free(s.v);
	free(s.row);
}

static void
putline(struct jbuf *j, char tag, const struct text *t, size_t i)
{
	static const char nonl[] = "\n\\ No newline at end of file\n";
	size_t n = lsize(t, i);
	const char *s = lstart(t, i);

	jb_put(j, &tag, 1);
	jb_put(j, s, n);
	if (s[n - 1] != '\n')
		jb_put(j, nonl, sizeof(nonl) - 1);
}

static void
putlines(struct jbuf *j, char tag, const struct text *t, size_t from,
    size_t to)
{
	for (; from < to; from++)
		putline(j, tag, t, from);
}

/* diff -u's way: "l" for one line, "l,0" after line l for none. */
static void
putrange(struct jbuf *j, size_t start, size_t count)
{
	char buf[64];

	if (count == 1)
		snprintf(buf, sizeof(buf), "%zu", start + 1);
	else if (count == 0)
		snprintf(buf, sizeof(buf), "%zu,0", start);
	else
		snprintf(buf, sizeof(buf), "%zu,%zu", start + 1, count);
	jb_put(j, buf, strlen(buf));
}

/*
 * The next run of changed lines after lines *i and *j, as the ranges
 * c[0]..c[1] of a and c[2]..c[3] of b; *i and *j are moved past it.
 * Once one file is at its end, all the other has left is changed.
 */
static int
nextchange(const struct text *a, const struct text *b, size_t *i, size_t *j,
    size_t c[4])
{
	while (*i < a->n && *j < b->n && !a->chg[*i] && !b->chg[*j])
		++*i, ++*j;
	if (*i == a->n && *j == b->n)
		return 0;
	c[0] = *i;
	c[2] = *j;
	while (*i < a->n && (a->chg[*i] || *j == b->n))
		++*i;
	while (*j < b->n && (b->chg[*j] || *i == a->n))
		++*j;
	c[1] = *i;
	c[3] = *j;
	return 1;
}

/* The header is known only at the end: the body waits in h->body. */
static void
flush(struct jbuf *out, struct hunk *h, const struct text *a,
    const struct text *b)
{
	size_t post = min(CONTEXT, min(a->n - h->a1, b->n - h->b1));

	putlines(&h->body, ' ', a, h->a1, h->a1 + post);
	jb_put(out, "@@ -", 4);
	putrange(out, h->a0, h->a1 + post - h->a0);
	jb_put(out, " +", 2);
	putrange(out, h->b0, h->b1 + post - h->b0);
	jb_put(out, " @@\n", 4);
	jb_put(out, h->body.s, h->body.len);
	h->body.len = 0;
}

/* Changes with at most 2 * CONTEXT lines between them share a hunk. */
static void
hunks(struct jbuf *out, const struct text *a, const struct text *b)
{
	struct hunk h;
	size_t i = 0, j = 0, c[4], pre;
	int open = 0;

	memset(&h, 0, sizeof(h));
	while (nextchange(a, b, &i, &j, c)) {
		if (open && c[0] - h.a1 > 2 * CONTEXT) {
			flush(out, &h, a, b);
			open = 0;
		}
		if (!open) {
			pre = min(CONTEXT, min(c[0], c[2]));
			h.a0 = h.a1 = c[0] - pre;
			h.b0 = h.b1 = c[2] - pre;
			open = 1;
		}
		putlines(&h.body, ' ', a, h.a1, c[0]);
		putlines(&h.body, '-', a, c[0], c[1]);
		putlines(&h.body, '+', b, c[2], c[3]);
		h.a1 = c[1];
		h.b1 = c[3];
	}
	if (open)
		flush(out, &h, a, b);
	free(h.body.s);
}

int
diff_hunks(struct jbuf *out, const char *a, size_t an, const char *b,
    size_t bn)
{
	struct text ta, tb;

	if (an == bn && (an == 0 || memcmp(a, b, an) == 0))
		return 0;
	split(&ta, a, an);
	split(&tb, b, bn);
	compare(&ta, &tb);
	hunks(out, &ta, &tb);
	free(ta.off);
	free(ta.chg);
	free(tb.off);
	free(tb.chg);
	return 1;
}
