/*
 * Tests of diff.c: every diff is checked by applying it.  Each case
 * writes a and b to files and runs GNU patch (strict: no fuzz, and no
 * hunk found at an offset) on "--- a/f", "+++ b/f" and the hunks; the
 * result must be b, byte for byte.  Edge cases are applied with git
 * apply too, and those whose shortest diff is unique must match
 * diff -u's hunks exactly.  Random pairs must be as short as
 * diff --minimal's.  Large and hostile inputs must finish within
 * $DIFFTEST_TIME seconds each (default 2, 0 for no limit, as under
 * valgrind).  Needs patch and diff (GNU diffutils); git if found.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../sbx.h"

#define S(s)	s, sizeof(s) - 1
#define HASHK	UINT64_C(0x9e3779b97f4a7c15)	/* diff.c's multiplier */

enum {
	GNU = 1,	/* the hunks must be diff -u's */
	MINIMAL = 2,	/* as many lines changed as diff --minimal */
	GIT = 4,	/* git apply must give b too */
	TIMED = 8	/* must finish within the time limit */
};

static int failed;
static int havegit;
static double tlimit = 2;
static char dir[4096], pa[4200], pb[4200], pp[4200], po[4200], pd[4200],
    pe[4200], pr[4200], pg[4200], pgf[4200];
static char why[512];
static uint64_t rng = 42;

static void
check(int ok, const char *what)
{
	printf("%s - diff: %s\n", ok ? "ok" : "not ok", what);
	if (!ok && why[0] != '\0')
		printf("# %s\n", why);
	failed += !ok;
	why[0] = '\0';
	fflush(stdout);
}

/* xorshift64*: the same pairs on every run and machine. */
static unsigned long
rnd(unsigned long n)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (unsigned long)((rng * UINT64_C(2685821657736338717)) >> 33) % n;
}

static int
writefile(const char *path, const char *s, size_t n)
{
	FILE *fp;
	int ok;

	if ((fp = fopen(path, "wb")) == NULL)
		return 0;
	ok = fwrite(s, 1, n, fp) == n;
	return fclose(fp) == 0 && ok;
}

/* The file's bytes, NUL-terminated; caller frees.  NULL if unreadable. */
static char *
readfile(const char *path, size_t *n)
{
	struct jbuf j = { NULL, 0, 0, 0 };
	char buf[65536];
	size_t k;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return NULL;
	jb_put(&j, "", 0);
	while ((k = fread(buf, 1, sizeof(buf), fp)) > 0)
		jb_put(&j, buf, k);
	fclose(fp);
	*n = j.len;
	return j.s;
}

/*
 * Runs argv in directory cwd (NULL: here) with stdout to the file out
 * and stderr to pe; returns its exit status, -1 if it did not exit.
 */
static int
run(char *const argv[], const char *cwd, const char *out)
{
	pid_t pid;
	int st, fd;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((cwd != NULL && chdir(cwd) == -1) ||
		    (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
		    dup2(fd, 1) == -1 ||
		    (fd = open(pe, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1 ||
		    dup2(fd, 2) == -1 ||
		    (fd = open("/dev/null", O_RDONLY)) == -1 || dup2(fd, 0) == -1)
			_exit(126);
		execvp(argv[0], argv);
		_exit(errno == ENOENT ? 127 : 126);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* why = "what: " and the first line of the last command's stderr. */
static void
because(const char *what)
{
	size_t n;
	char *e = readfile(pe, &n);

	snprintf(why, sizeof(why), "%s: %.*s", what,
	    e != NULL ? (int)strcspn(e, "\n") : 0, e != NULL ? e : "");
	free(e);
}

/* Does file path hold exactly b? */
static int
holds(const char *path, const char *b, size_t bn, const char *who)
{
	size_t n;
	char *s = readfile(path, &n);
	int ok = s != NULL && n == bn && (n == 0 || memcmp(s, b, n) == 0);

	if (!ok)
		snprintf(why, sizeof(why), "%s gave %zu bytes, not the %zu "
		    "of b", who, s != NULL ? n : 0, bn);
	free(s);
	return ok;
}

/* GNU patch, strict: status 0, and no "Hunk #1 succeeded at 7 (offset
 * 2 lines)" or fuzz notes, which a wrong line number would cause. */
static int
patched(const char *b, size_t bn)
{
	char *argv[] = { "patch", "--binary", "-F", "0", "-o", po, "-r", pr,
		"-i", pp, pa, NULL };
	size_t n;
	char *out;
	int rc, ok;

	if ((rc = run(argv, NULL, pd)) != 0) {
		because("patch failed");
		return 0;
	}
	out = readfile(pd, &n);
	ok = out != NULL && strstr(out, "Hunk") == NULL;
	if (!ok)
		snprintf(why, sizeof(why), "patch: %.300s", out ? out : "");
	free(out);
	return ok && holds(po, b, bn, "patch");
}

/* git apply, outside any repository, with no user configuration. */
static int
gitapplied(const char *a, size_t an, const char *b, size_t bn)
{
	char *argv[] = { "git", "-c", "core.autocrlf=false", "-c",
		"apply.whitespace=nowarn", "apply", pp, NULL };

	if (!writefile(pgf, a, an))
		return 0;
	if (run(argv, pg, pd) != 0) {
		because("git apply failed");
		return 0;
	}
	return holds(pgf, b, bn, "git apply");
}

/* Skips the "---" and "+++" lines of a diff -u's output. */
static const char *
body(const char *s, size_t n, size_t *len)
{
	const char *p = s;
	int i;

	for (i = 0; i < 2 && p != NULL; i++)
		if ((p = memchr(p, '\n', n - (size_t)(p - s))) != NULL)
			p++;
	if (p == NULL)
		p = s + n;
	*len = n - (size_t)(p - s);
	return p;
}

/* Lines deleted plus lines added. */
static size_t
changed(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if ((i == 0 || s[i - 1] == '\n') && (s[i] == '-' || s[i] == '+'))
			c++;
	return c;
}

/* diff -u's hunks; with minimal, diff --minimal's.  NULL on failure. */
static char *
gnudiff(int minimal, size_t *n)
{
	char *argv[] = { "diff", "-a", "-u", minimal ? "--minimal" : "--", pa,
		pb, NULL };
	int rc;

	if ((rc = run(argv, NULL, pd)) != 0 && rc != 1) {
		because("diff failed");
		return NULL;
	}
	return readfile(pd, n);
}

static int
asgnu(const struct jbuf *h)
{
	size_t n, len;
	char *s = gnudiff(0, &n);
	const char *p;
	int ok;

	if (s == NULL)
		return 0;
	p = body(s, n, &len);
	ok = len == h->len && (len == 0 || memcmp(p, h->s, len) == 0);
	if (!ok)
		snprintf(why, sizeof(why), "diff -u has %zu bytes of hunks, "
		    "we %zu; diff -u's begin: %.*s", len, h->len,
		    (int)(len < 200 ? len : 200), p);
	free(s);
	return ok;
}

static int
asshort(const struct jbuf *h)
{
	size_t n, len, ours, theirs;
	char *s = gnudiff(1, &n);
	const char *p;

	if (s == NULL)
		return 0;
	p = body(s, n, &len);
	theirs = changed(p, len);
	ours = changed(h->s, h->len);
	free(s);
	if (ours != theirs)
		snprintf(why, sizeof(why), "%zu lines changed, diff --minimal "
		    "%zu", ours, theirs);
	return ours == theirs;
}

/* The patch is applied to a, by patch, and by git if flags ask. */
static int
verify(const char *a, size_t an, const char *b, size_t bn,
    const struct jbuf *h, int flags)
{
	static const char hdr[] = "--- a/f\n+++ b/f\n";
	struct jbuf p = { NULL, 0, 0, 0 };
	int ok;

	if (!writefile(pa, a, an) || !writefile(pb, b, bn)) {
		snprintf(why, sizeof(why), "cannot write %.400s", dir);
		return 0;
	}
	if (h->len == 0)
		return !(flags & GNU) || asgnu(h);
	jb_put(&p, hdr, sizeof(hdr) - 1);
	jb_put(&p, h->s, h->len);
	ok = writefile(pp, p.s, p.len);
	free(p.s);
	return ok && patched(b, bn) &&
	    (!(flags & GIT) || !havegit || gitapplied(a, an, b, bn)) &&
	    (!(flags & GNU) || asgnu(h)) &&
	    (!(flags & MINIMAL) || asshort(h));
}

/*
 * One case: diff_hunks must say whether a and b differ, and its hunks
 * pass the checks that flags ask for.  With want >= 0, they must change
 * exactly that many lines.
 */
static void
test(const char *what, const char *a, size_t an, const char *b, size_t bn,
    int flags, long want)
{
	struct jbuf h = { NULL, 0, 0, 0 };
	int r, ok, same = an == bn && (an == 0 || memcmp(a, b, an) == 0);
	double t;

	t = now();
	r = diff_hunks(&h, a, an, b, bn);
	t = now() - t;
	ok = r == !same && (h.len == 0) == same;
	if (!ok)
		snprintf(why, sizeof(why), "returned %d with %zu bytes", r,
		    h.len);
	ok = ok && verify(a, an, b, bn, &h, flags);
	if (ok && want >= 0 && changed(h.s, h.len) != (size_t)want) {
		snprintf(why, sizeof(why), "%zu lines changed, not %ld",
		    changed(h.s, h.len), want);
		ok = 0;
	}
	if (flags & TIMED) {
		printf("# %s: %.3f s, %zu bytes of hunks\n", what, t, h.len);
		if (ok && tlimit > 0 && t > tlimit) {
			snprintf(why, sizeof(why), "took %.3f s, over %.3g s",
			    t, tlimit);
			ok = 0;
		}
	}
	check(ok, what);
	free(h.s);
}

/* With unique lines the shortest diff is unique: diff -u's. */
static void
literal(void)
{
	static const struct {
		const char *what;
		const char *a;
		size_t an;
		const char *b;
		size_t bn;
	} c[] = {
		{ "identical", S("a\nb\n"), S("a\nb\n") },
		{ "both empty", S(""), S("") },
		{ "identical without a newline at the end", S("a\nb"),
		    S("a\nb") },
		{ "empty to text", S(""), S("a\nb\nc\n") },
		{ "text to empty", S("a\nb\nc\n"), S("") },
		{ "empty to one line without a newline", S(""), S("a") },
		{ "one line without a newline to empty", S("a"), S("") },
		{ "empty to one empty line", S(""), S("\n") },
		{ "one empty line to empty", S("\n"), S("") },
		{ "newline added at the end", S("a\nb"), S("a\nb\n") },
		{ "newline taken from the end", S("a\nb\n"), S("a\nb") },
		{ "only the newline at the end, 5 lines", S("1\n2\n3\n4\n5"),
		    S("1\n2\n3\n4\n5\n") },
		{ "last line changed, no newline on either side",
		    S("a\nb\nc"), S("a\nb\nd") },
		{ "first line changed, no newline on either side",
		    S("x\nb\nc"), S("y\nb\nc") },
		{ "no newline at the end of a only, last lines changed",
		    S("a\nb\nc"), S("a\nB\nc\n") },
		{ "no newline at the end of b only, line added",
		    S("a\nb\n"), S("a\nb\nc") },
		{ "single line changed", S("a\n"), S("b\n") },
		{ "single line changed, no newlines", S("a"), S("b") },
		{ "single line to two", S("a\n"), S("a\nb\n") },
		{ "line appended after one without a newline", S("a"),
		    S("a\nb\n") },
		{ "CRLF line changed", S("a\r\nb\r\nc\r\n"),
		    S("a\r\nB\r\nc\r\n") },
		{ "CRLF to LF", S("a\r\nb\r\n"), S("a\nb\n") },
		{ "lone CR", S("\r"), S("\r\n") },
		{ "NUL bytes", S("a\0b\nc\n"), S("a\0c\nc\n") },
		{ "lines differing only after a NUL", S("x\n\0a\ny\n"),
		    S("x\n\0b\ny\n") },
		{ "a line and the same with a NUL added", S("p\na\nq\n"),
		    S("p\na\0\nq\n") },
		{ "NUL in the last line, no newline", S("a\n\0"),
		    S("a\n\0\0") },
		{ "only NULs", S("\0\0\0"), S("\0\0") },
	};
	size_t i;

	for (i = 0; i < LEN(c); i++)
		test(c[i].what, c[i].a, c[i].an, c[i].b, c[i].bn, GNU | GIT,
		    -1);
}

/*
 * a is lines "line 1" to "line N", N = strlen(ops); b is a edited as
 * ops says, one letter a line: '=' keeps it, 'c' changes it, 'd'
 * deletes it, 'i' inserts a line before it.
 */
static void
edited(const char *what, const char *ops, int flags)
{
	struct jbuf a = { NULL, 0, 0, 0 }, b = { NULL, 0, 0, 0 };
	char s[64], t[64];
	size_t i;
	int n, m;

	for (i = 0; ops[i] != '\0'; i++) {
		n = snprintf(s, sizeof(s), "line %zu\n", i + 1);
		m = snprintf(t, sizeof(t), "new %zu\n", i + 1);
		jb_put(&a, s, (size_t)n);
		if (ops[i] == 'c' || ops[i] == 'i')
			jb_put(&b, t, (size_t)m);
		if (ops[i] == '=' || ops[i] == 'i')
			jb_put(&b, s, (size_t)n);
	}
	jb_put(&a, "", 0);
	jb_put(&b, "", 0);
	test(what, a.s, a.len, b.s, b.len, flags, -1);
	free(a.s);
	free(b.s);
}

/* ops of n letters, '=' but for a letter every so often. */
static char *
sparse(size_t n, size_t every, char op)
{
	char *ops = emalloc(n + 1);

	memset(ops, '=', n);
	ops[n] = '\0';
	for (; every > 0 && n > 0; n -= n > every ? every : n)
		ops[n - 1] = op;
	return ops;
}

static void
structural(void)
{
	char *ops;
	size_t i;

	edited("change at the start", "c=========", GNU | GIT);
	edited("change at the end", "=========c", GNU | GIT);
	edited("insertion in the middle", "=====i====", GNU | GIT);
	edited("deletion in the middle", "====d=====", GNU | GIT);
	edited("deletion at the start", "d=========", GNU | GIT);
	edited("deletion at the end", "=========d", GNU | GIT);
	edited("changes 6 lines apart share a hunk", "=c======c=",
	    GNU | GIT);
	edited("changes 7 lines apart make two hunks", "=c=======c==",
	    GNU | GIT);
	edited("changes at both ends of a long file",
	    "d==================================c", GNU | GIT);
	edited("everything changed", "cccccc", GNU | GIT);
	edited("everything deleted but one", "ddd=ddd", GNU | GIT);
	ops = emalloc(201);
	for (i = 0; i < 200; i++)
		ops[i] = i % 7 == 3 ? 'c' : i % 13 == 5 ? 'd' :
		    i % 17 == 0 ? 'i' : '=';
	ops[200] = '\0';
	edited("many scattered changes", ops, GNU | GIT);
	free(ops);
	ops = sparse(10000, 3333, 'c');
	edited("long common runs", ops, GNU | GIT);
	free(ops);
}

/* Eight random lowercase letters. */
static uint64_t
word(void)
{
	unsigned char c[8];
	uint64_t w;
	size_t i;

	for (i = 0; i < 8; i++)
		c[i] = (unsigned char)('a' + rnd(26));
	memcpy(&w, c, 8);
	return w;
}

static int
hasnl(uint64_t w)
{
	return memchr(&w, '\n', 8) != NULL;
}

/* The 17-byte line of words w[0] and w[1], then '\n'. */
static void
putwords(struct jbuf *j, const uint64_t w[2])
{
	char s[17];

	memcpy(s, &w[0], 8);
	memcpy(s + 8, &w[1], 8);
	s[16] = '\n';
	jb_put(j, s, sizeof(s));
}

/* A step of diff.c's hash, which takes eight bytes at a time. */
static uint64_t
step(uint64_t h, uint64_t w)
{
	h = (h ^ w) * HASHK;
	return h ^ h >> 32;
}

/*
 * Another line that diff.c hashes as it hashes line w: after two words
 * its state is step(step(0, w0), w1), so picking v0 and v1 =
 * step(0, w0) ^ w1 ^ step(0, v0) gives the same state, and the same
 * "\n" and length follow.  Valid only while diff.c hashes that way.
 */
static void
collide(const uint64_t w[2], uint64_t v[2])
{
	do {
		v[0] = word();
		v[1] = step(0, w[0]) ^ w[1] ^ step(0, v[0]);
	} while (v[0] == w[0] || hasnl(v[1]));
}

static void
collisions(void)
{
	struct jbuf a = { NULL, 0, 0, 0 }, b = { NULL, 0, 0, 0 };
	uint64_t w[2], v[2];
	size_t i, n = 20000;

	w[0] = word();
	w[1] = word();
	collide(w, v);
	jb_put(&a, "x\n", 2);
	putwords(&a, w);
	jb_put(&a, "y\n", 2);
	jb_put(&b, "x\n", 2);
	putwords(&b, v);
	jb_put(&b, "y\n", 2);
	test("lines with equal hashes are told apart", a.s, a.len, b.s, b.len,
	    GNU | GIT, 2);
	a.len = b.len = 0;
	putwords(&a, w);
	putwords(&a, v);
	putwords(&b, v);
	putwords(&b, w);
	test("two colliding lines swapped", a.s, a.len, b.s, b.len,
	    MINIMAL | GIT, -1);
	/* So many that most give up probing for their class. */
	a.len = b.len = 0;
	for (i = 0; i < n; i++) {
		collide(w, v);
		putwords(&a, v);
	}
	for (i = n; i-- > 0;)
		if (i % 3 != 0)
			jb_put(&b, a.s + 17 * i, 17);
	test("20000 colliding lines, reversed and thinned", a.s, a.len, b.s,
	    b.len, TIMED, -1);
	free(a.s);
	free(b.s);
}

/* Lines of a small alphabet: many matches, many ties. */
static const struct {
	const char *s;
	size_t n;
} alpha[] = {
	{ S("a\n") }, { S("b\n") }, { S("c\n") }, { S("\n") },
	{ S("a\r\n") }, { S("a\0b\n") }, { S("d\n") },
};

/* The lines l[0..n) of alpha; without its last newline if nonl. */
static void
render(struct jbuf *j, const int *l, size_t n, int nonl)
{
	size_t i;

	j->len = 0;
	jb_put(j, "", 0);
	for (i = 0; i < n; i++)
		jb_put(j, alpha[l[i]].s, alpha[l[i]].n);
	if (nonl && j->len > 0)
		j->len--;
}

/* b as a with lines deleted, changed and inserted, or all new. */
static size_t
mutate(const int *la, size_t na, int *lb)
{
	size_t i, nb = 0;
	unsigned long r;

	if (rnd(4) == 0) {
		nb = rnd(20);
		for (i = 0; i < nb; i++)
			lb[i] = (int)rnd(LEN(alpha));
		return nb;
	}
	for (i = 0; i < na; i++) {
		if ((r = rnd(10)) == 1 || r == 2)
			lb[nb++] = (int)rnd(LEN(alpha));
		if (r >= 2)
			lb[nb++] = la[i];
	}
	if (rnd(5) == 0)
		lb[nb++] = (int)rnd(LEN(alpha));
	return nb;
}

static void
randoms(int count)
{
	struct jbuf a = { NULL, 0, 0, 0 }, b = { NULL, 0, 0, 0 };
	int la[20], lb[41], i;
	size_t na, nb, k;
	char what[64];

	for (i = 0; i < count; i++) {
		na = rnd(20);
		for (k = 0; k < na; k++)
			la[k] = (int)rnd(LEN(alpha));
		nb = mutate(la, na, lb);
		render(&a, la, na, rnd(4) == 0);
		render(&b, lb, nb, rnd(4) == 0);
		snprintf(what, sizeof(what), "random pair %d", i + 1);
		test(what, a.s, a.len, b.s, b.len, MINIMAL, -1);
	}
	free(a.s);
	free(b.s);
}

/* n lines "PREFIX I", and a changed line every so often (0: never). */
static void
numbered(struct jbuf *j, size_t n, const char *prefix, size_t every)
{
	char s[64];
	size_t i;
	int len;

	for (i = 0; i < n; i++) {
		len = snprintf(s, sizeof(s), "%s %zu\n",
		    every > 0 && i % every == every / 2 ? "edit" : prefix, i);
		jb_put(j, s, (size_t)len);
	}
}

/* n random bytes of set, or of any value if set is NULL. */
static void
noise(struct jbuf *j, size_t n, const char *set)
{
	char s[4096];
	size_t i, k;

	for (; n > 0; n -= k) {
		k = n < sizeof(s) ? n : sizeof(s);
		for (i = 0; i < k; i++)
			s[i] = set != NULL ? set[rnd(strlen(set))] :
			    (char)rnd(256);
		jb_put(j, s, k);
	}
}

/* b as a with about one line in every changed for another of set. */
static void
perturb(struct jbuf *b, const struct jbuf *a, unsigned long every,
    const char *set)
{
	size_t i, from = 0;

	b->len = 0;
	for (i = 0; i < a->len; i++) {
		if (a->s[i] != '\n')
			continue;
		if (rnd(every) == 0)
			noise(b, 1, set);
		else
			jb_put(b, a->s + from, i - from);
		jb_put(b, "\n", 1);
		from = i + 1;
	}
	jb_put(b, a->s + from, a->len - from);
}

static void
large(void)
{
	struct jbuf a = { NULL, 0, 0, 0 }, b = { NULL, 0, 0, 0 };

	numbered(&a, 200000, "old", 0);
	numbered(&b, 200000, "new", 0);
	test("200000 lines, all different", a.s, a.len, b.s, b.len, TIMED,
	    400000);
	b.len = 0;
	numbered(&b, 200000, "old", 200);
	test("200000 lines, 1000 of them changed", a.s, a.len, b.s, b.len,
	    TIMED, 2000);
	a.len = b.len = 0;
	noise(&a, 400000, "a\n");
	noise(&b, 400000, "a\n");
	test("200000 lines each of a and empty, at random", a.s, a.len, b.s,
	    b.len, TIMED, -1);
	a.len = b.len = 0;
	noise(&a, 2 << 20, "ab\n");
	noise(&b, 2 << 20, "ab\n");
	test("2 MiB each of a, b and newline, at random", a.s, a.len, b.s,
	    b.len, TIMED, -1);
	perturb(&b, &a, 20, "ab");
	test("2 MiB of a, b and newline, 5% of its lines changed", a.s, a.len,
	    b.s, b.len, TIMED, -1);
	a.len = b.len = 0;
	noise(&a, 2 << 20, NULL);
	noise(&b, 2 << 20, NULL);
	test("2 MiB of random bytes each", a.s, a.len, b.s, b.len, TIMED, -1);
	free(a.s);
	free(b.s);
}

static int
setup(void)
{
	const char *tmp = getenv("TMPDIR"), *lim = getenv("DIFFTEST_TIME");
	char *argv[] = { "git", "--version", NULL };

	if (lim != NULL)
		tlimit = atof(lim);
	snprintf(dir, sizeof(dir), "%s/difftest.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("not ok - diff: mkdtemp %s: %s\n", dir, strerror(errno));
		return 0;
	}
	snprintf(pa, sizeof(pa), "%s/a", dir);
	snprintf(pb, sizeof(pb), "%s/b", dir);
	snprintf(pp, sizeof(pp), "%s/patch", dir);
	snprintf(po, sizeof(po), "%s/out", dir);
	snprintf(pd, sizeof(pd), "%s/stdout", dir);
	snprintf(pe, sizeof(pe), "%s/stderr", dir);
	snprintf(pr, sizeof(pr), "%s/rej", dir);
	snprintf(pg, sizeof(pg), "%s/g", dir);
	snprintf(pgf, sizeof(pgf), "%s/g/f", dir);
	/* git apply must not find a repository above, nor read the
	 * user's configuration. */
	setenv("GIT_CEILING_DIRECTORIES", dir, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	havegit = mkdir(pg, 0700) == 0 && run(argv, NULL, pd) == 0;
	if (!havegit)
		printf("# git not found: no git apply checks\n");
	return 1;
}

static void
cleanup(void)
{
	const char *f[] = { pa, pb, pp, po, pd, pe, pr, pgf };
	size_t i;

	for (i = 0; i < LEN(f); i++)
		unlink(f[i]);
	rmdir(pg);
	rmdir(dir);
}

int
main(void)
{
	if (!setup())
		return 1;
	literal();
	structural();
	collisions();
	randoms(300);
	large();
	cleanup();
	return failed > 0;
}
