/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/*
 * sbx -x: the code of a model's markdown reply.  Its fenced code blocks
 * are found as CommonMark finds them: a line of three or more '`' or
 * '~' opens one, indented by any amount (a list item's fences are), its
 * first word the language; a line of the same character, at least as
 * many, and nothing else closes it; the block's lines lose the opening
 * fence's indentation; CR LF ends lines as LF does; a block the reply
 * never closes runs to its end.  So a "```" inside a string of the
 * code, or a shorter fence inside a longer one, is code.
 */

struct block {
	const char *ext;	/* its language's, "" unlabelled, NULL neither */
	char *label;		/* the fence's first word, as written */
	struct jbuf code;
};

/* A fence's label, and the language it names; a language's own name
 * (an extension of a [language] section) names it too. */
static const struct {
	const char *label, *ext;
} labels[] = {
	{ "bash", "sh" }, { "c", "c" }, { "c++", "cpp" }, { "cc", "cpp" },
	{ "cpp", "cpp" }, { "cxx", "cpp" }, { "go", "go" }, { "golang", "go" },
	{ "javascript", "js" }, { "js", "js" }, { "node", "js" },
	{ "nodejs", "js" }, { "py", "py" }, { "py3", "py" },
	{ "python", "py" }, { "python3", "py" }, { "sh", "sh" },
	{ "shell", "sh" },
};

static const char *
label_ext(const struct config *cfg, const char *label)
{
	const struct lang *l;
	size_t i;

	if (*label == '\0')
		return "";
	for (i = 0; i < LEN(labels); i++)
		if (strcmp(label, labels[i].label) == 0)
			label = labels[i].ext;
	/* Ours only if a [language] section runs it. */
	for (l = cfg->langs; l; l = l->next)
		if (strcmp(label, l->ext) == 0)
			return l->ext;
	return NULL;
}

/* A fence at s: its character and length, or 0. */
static size_t
fence(const char *s, size_t n, char *c)
{
	size_t i = 0;

	if (n == 0 || (s[0] != '`' && s[0] != '~'))
		return 0;
	while (i < n && s[i] == s[0])
		i++;
	if (i < 3)
		return 0;
	*c = s[0];
	return i;
}

/*
 * The label of an info string: its first word, lower case; "python
 * {linenos}" is python, "{.python}" too.  A first word that is not a
 * name ("/etc/hosts", "$") is a label of no language: "?".
 */
static char *
info_word(const char *s, size_t n)
{
	size_t i = 0, j;
	char *w;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == '{')
		i++;
	if (i < n && s[i] == '.')
		i++;
	for (j = i; j < n && (isalnum((unsigned char)s[j]) || s[j] == '+' ||
	    s[j] == '-' || s[j] == '_' || s[j] == '#'); j++)
		;
	if (j == i && i < n && s[i] != ' ' && s[i] != '\t')
		return estrdup("?");
	w = emalloc(j - i + 1);
	memcpy(w, s + i, j - i);
	w[j - i] = '\0';
	for (i = 0; w[i]; i++)
		w[i] = (char)tolower((unsigned char)w[i]);
	return w;
}

/* Past one ">" at *p, after up to 3 spaces, and a space after it: 1;
 * or 0 if there is none. */
static int
quote(const char **p, const char *end)
{
	const char *q;

	for (q = *p; q < end && *q == ' ' && q - *p < 3; q++)
		;
	if (q == end || *q != '>')
		return 0;
	*p = q + 1;
	if (*p < end && **p == ' ')
		(*p)++;
	return 1;
}

/*
 * A line's container prefixes, as CommonMark reads them: ">" quotes,
 * each with a space after it, then list markers ("-", "*", "+", "1.",
 * "1)") and indentation, a tab to the next multiple of 4 columns.  Sets
 * *quotes and *col, the column the rest starts at; returns the rest.
 */
static const char *
prefix(const char *p, const char *end, size_t *quotes, size_t *col)
{
	const char *q;
	size_t c = 0;

	for (*quotes = 0; quote(&p, end); (*quotes)++)
		;
	for (;;) {
		for (; p < end && (*p == ' ' || *p == '\t'); p++)
			c = *p == '\t' ? (c / 4 + 1) * 4 : c + 1;
		q = p;
		if (q < end && (*q == '-' || *q == '*' || *q == '+'))
			q++;
		else
			while (q < end && q - p < 9 && *q >= '0' && *q <= '9')
				q++;
		if (q > p && q < end && (*q == '.' || *q == ')') &&
		    *p >= '0' && *p <= '9')
			q++;
		else if (q > p && *p >= '0' && *p <= '9')
			break;
		if (q == p || q == end || (*q != ' ' && *q != '\t'))
			break;
		c += (size_t)(q - p);
		p = q;
	}
	*col = c;
	return p;
}

/* Past the quotes of a block's line, and up to col columns of its
 * indentation: the rest, which is the code's, with the tab that
 * crosses col as the spaces left of it (into pad). */
static const char *
unindent(const char *p, const char *end, size_t quotes, size_t col,
    size_t *pad)
{
	size_t c = 0, i;

	for (i = 0; i < quotes && quote(&p, end); i++)
		;
	*pad = 0;
	while (p < end && c < col && (*p == ' ' || *p == '\t')) {
		if (*p == '\t' && (c / 4 + 1) * 4 > col) {
			*pad = (c / 4 + 1) * 4 - col;
			return p + 1;
		}
		c = *p++ == '\t' ? (c / 4 + 1) * 4 : c + 1;
	}
	return p;
}

/*
 * The blocks of text, in order; *n of them.  A line ends at LF, CR LF
 * or CR.  A closing fence may be indented 3 columns more than its
 * opening one, no more: past that, it is the code's.
 */
static struct block *
blocks_of(const struct config *cfg, const char *text, size_t len,
    size_t *n)
{
	struct block *b = NULL, *cur = NULL;
	const char *p = text, *end = text + len, *nl, *s, *e;
	size_t ll, col = 0, ocol = 0, q, oq = 0, open = 0, f, pad;
	char c = 0, oc = 0;

	*n = 0;
	if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;		/* a byte order mark */
	for (; p < end; p = nl) {
		for (e = p; e < end && *e != '\n' && *e != '\r'; e++)
			;
		nl = e < end && *e == '\r' && e + 1 < end && e[1] == '\n' ?
		    e + 2 : e < end ? e + 1 : end;
		s = prefix(p, e, &q, &col);
		ll = (size_t)(e - s);
		f = fence(s, ll, &c);
		if (cur == NULL) {
			/* A backtick fence's info has no backtick: else it
			 * is a line of inline code. */
			if (f == 0 || (c == '`' && memchr(s + f, '`', ll - f)))
				continue;
			b = erealloc(b, (*n + 1) * sizeof(*b));
			cur = &b[(*n)++];
			memset(cur, 0, sizeof(*cur));
			cur->label = info_word(s + f, ll - f);
			cur->ext = label_ext(cfg, cur->label);
			ocol = col, oq = q, open = f, oc = c;
			continue;
		}
		if (f >= open && c == oc && q == oq && col <= ocol + 3 &&
		    strspn(s + f, " \t") == ll - f) {
			cur = NULL;
			continue;
		}
		s = unindent(p, e, oq, ocol, &pad);
		while (pad-- > 0)
			jb_put(&cur->code, " ", 1);
		jb_put(&cur->code, s, (size_t)(e - s));
		jb_put(&cur->code, "\n", 1);
	}
	return b;
}

static void
blocks_free(struct block *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(b[i].label);
		free(b[i].code.s);
	}
	free(b);
}

/* The reply: the file, or stdin for "-", at most max bytes. */
static void
read_reply(const char *path, long long max, struct jbuf *text)
{
	int fd = 0, r;

	if (strcmp(path, "-") != 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		die("-x %s:", path);
	if ((r = jb_read(text, fd, max)) == -1)
		die("-x %s:", path);
	if (r == -2)
		die("-x %s: more than %lld bytes (max_bytes)", path, max);
	if (fd != 0)
		close(fd);
}

/* What ran: its language, the blocks it came from, the code. */
static void
event_code(const char *path, const char *ext, const long *from, size_t n,
    const struct jbuf *code)
{
	struct jbuf j;
	size_t i;

	jb_begin(&j, "code");
	jb_str(&j, "file", path);
	jb_str(&j, "language", ext);
	jb_put(&j, ",\"blocks\":[", 11);
	for (i = 0; i < n; i++) {
		char num[24];

		snprintf(num, sizeof(num), "%s%ld", i ? "," : "", from[i]);
		jb_put(&j, num, strlen(num));
	}
	jb_put(&j, "]", 1);
	jb_mem(&j, "source", code->s ? code->s : "", code->len);
	jb_emit(&j);
}

/*
 * How well a block runs as want (NULL: any language of ours): 3 its
 * label names it, 2 unlabelled, 1 labelled with no language, such as
 * "text", which only -e (given) takes; 0 not at all: empty, or of
 * another language.
 */
static int
runs(const struct block *b, const char *want, int given)
{
	if (b->code.len == 0)
		return 0;
	if (b->ext == NULL)
		return given;
	if (*b->ext == '\0')
		return 2;
	return want == NULL || strcmp(b->ext, want) == 0 ? 3 : 0;
}

/*
 * The code to run from the reply at path ("-": stdin), as sbx -x
 * takes it: block number which (1 is the first fenced block), or else
 * the first block that runs(); with all, every block after it that
 * runs() as its language, in order.  The language is ext if given
 * (-e), else the first block's label's; an unlabelled block is Python,
 * as a script on stdin is.  Prints
 * the code event; *lang is the language's extension.  Caller frees.
 */
char *
extract(const struct config *cfg, const char *path, long long max,
    const char *ext, long which, int all, const char **lang)
{
	struct jbuf text = { 0 }, code = { 0 };
	struct block *b;
	long *from;
	size_t n, i, nfrom = 0, first = 0;
	const char *want = ext;

	read_reply(path, max, &text);
	b = blocks_of(cfg, text.s ? text.s : "", text.len, &n);
	free(text.s);
	if (which > 0 && (size_t)which > n)
		die("-x %s: --block %ld: the reply has %zu code block%s", path,
		    which, n, n == 1 ? "" : "s");
	if (which > 0) {
		first = (size_t)which - 1;
		if (!want && b[first].ext == NULL)
			die("-x %s: block %ld is '%s', not a language sbx "
			    "runs: give -e", path, which, b[first].label);
	} else {
		/* The best, the first of them: a block labelled -e's
		 * language before an unlabelled one, before a "text". */
		for (i = 0, first = n; i < n; i++)
			if (runs(&b[i], want, ext != NULL) > (first < n ?
			    runs(&b[first], want, ext != NULL) : 0))
				first = i;
		if (first == n)
			die("-x %s: no code block to run (%zu found%s%s)", path,
			    n, want ? ", none of " : "", want ? want : "");
	}
	if (!want)
		want = *b[first].ext ? b[first].ext : "py";
	if (lang_find(cfg, want) == NULL)
		die("-x %s: -e %s: no [language %s] section", path, want, want);
	from = ecalloc(n, sizeof(*from));
	for (i = first; i < n; i++) {
		/* --all: its language's, and unlabelled ones. */
		if (i > first && (!all || runs(&b[i], want, 0) < 2))
			continue;
		if (b[i].code.s)
			jb_put(&code, b[i].code.s, b[i].code.len);
		from[nfrom++] = (long)i + 1;
		if (!all)
			break;
	}
	if (code.len == 0)
		die("-x %s: block %ld is empty", path, from[0]);
	if (memchr(code.s, '\0', code.len))
		die("-x %s: the code holds a NUL byte", path);
	*lang = want;
	event_code(path, want, from, nfrom, &code);
	free(from);
	/* want may be a block's: it lives in cfg or labels[], not in b. */
	blocks_free(b, n);
	return code.s;
}
