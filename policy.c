/* See LICENSE file for copyright and license details. */
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "sbx.h"

#define SYSFILE SYSCONFDIR "/sbx/sbx.ini"
#define MAXSIZE (1LL << 40)		/* 1t: anything larger is a typo */
#define MAXDURATION (7L * 24 * 3600)	/* a week */

/*
 * One "key = value" line of a template, kept until resolution.  A later
 * layer's line for the same key takes its place.
 */
struct setting {
	char *key;
	char *value;
	const char *file;	/* one of the config's files */
	int line;
	struct setting *next;
};

struct tmpl {
	char *name;
	char *inherit;		/* NULL: "default", unless this is it */
	const char *inherit_file;
	int inherit_line;
	unsigned layers;	/* bit i: files[i] has a section of it */
	struct setting *set;	/* in the order first set */
	struct setting **tail;
	struct tmpl *next;
};

enum ktype { K_STR, K_SIZE, K_DUR, K_CPUS, K_BOOL, K_LONG, K_RUNTIME,
	K_WS, K_USER, K_IMAGE, K_LIST, K_PROG, K_FLAGS, K_HOSTS };

/* What a [ceiling] value means for a key. */
enum ceil { C_NONE,	/* cannot be a ceiling */
	C_MAX,		/* a maximum */
	C_MAX0,		/* a maximum, where 0 means no limit */
	C_OFF,		/* false forbids true */
	C_ON,		/* true forbids false */
	C_WS,		/* none < ro < rw */
	C_HOSTS,	/* a list each entry must be in */
	C_USER };	/* uid and gid are minimums */

struct key {
	const char *name;
	enum ktype type;
	size_t off;
	long long min, max;
	enum ceil ceil;
};

#define P(f) offsetof(struct policy, f)
static const struct key keys[] = {
	{ "allow_hosts", K_HOSTS, P(allow_hosts), 0, 0, C_HOSTS },
	{ "authorized_imports", K_LIST, P(imports), 0, 0, C_NONE },
	{ "compile_cpu_time", K_DUR, P(compile_cpu), 0, MAXDURATION, C_MAX0 },
	{ "compile_max_output", K_SIZE, P(compile_output), 1024, MAXSIZE,
	    C_MAX },
	{ "compile_timeout", K_DUR, P(compile_timeout), 1, MAXDURATION, C_MAX },
	{ "cpu_time", K_DUR, P(cpu_time), 0, MAXDURATION, C_MAX0 },
	{ "cpus", K_CPUS, P(cpus), 10, 1024000, C_MAX },	/* the runtimes' least */
	{ "description", K_STR, P(description), 0, 0, C_NONE },
	{ "fsize", K_SIZE, P(fsize), 0, MAXSIZE, C_MAX0 },
	{ "idle_timeout", K_DUR, P(idle_timeout), 1, MAXDURATION, C_MAX },
	{ "image", K_IMAGE, P(image), 0, 0, C_NONE },
	{ "inherit", K_STR, 0, 0, 0, C_NONE },	/* used at resolution */
	{ "max_bytes", K_SIZE, P(max_bytes), 0, MAXSIZE, C_MAX },
	{ "max_files", K_LONG, P(max_files), 1, 10000000, C_MAX },
	{ "max_lifetime", K_DUR, P(max_lifetime), 1, MAXDURATION, C_MAX },
	{ "max_output", K_SIZE, P(max_output), 1024, MAXSIZE, C_MAX },
	{ "net_bytes", K_SIZE, P(net_bytes), 0, MAXSIZE, C_MAX0 },
	{ "net_connections", K_LONG, P(net_conns), 1, 1024, C_MAX },
	{ "memory", K_SIZE, P(memory), 6LL << 20, MAXSIZE, C_MAX },
	{ "network", K_BOOL, P(network), 0, 0, C_OFF },
	{ "nofile", K_LONG, P(nofile), 16, 1048576, C_MAX },
	{ "nproc", K_LONG, P(nproc), 1, 4194304, C_MAX },
	{ "oci_runtime", K_PROG, P(oci_runtime), 0, 0, C_NONE },
	{ "oci_runtime_flags", K_FLAGS, P(oci_flags), 0, 0, C_NONE },
	{ "pids", K_LONG, P(pids), 1, 4194304, C_MAX },
	{ "read_only", K_BOOL, P(read_only), 0, 0, C_ON },
	{ "repl", K_BOOL, P(repl), 0, 0, C_NONE },
	{ "runtime", K_RUNTIME, P(runtime), 0, 0, C_NONE },
	{ "timeout", K_DUR, P(timeout), 1, MAXDURATION, C_MAX },
	{ "tmpfs_size", K_SIZE, P(tmpfs), 4096, MAXSIZE, C_MAX },
	{ "user", K_USER, P(user), 0, 0, C_USER },
	{ "workspace", K_WS, P(workspace), 0, 0, C_WS },
	{ "workspace_files", K_LONG, P(ws_files), 0, 10000000, C_MAX0 },
	{ "workspace_size", K_SIZE, P(ws_size), 0, MAXSIZE, C_MAX0 },
};

/* The limits a template starts from before its file says otherwise. */
static void
policy_base(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	p->runtime = estrdup("auto");
	p->memory = 512LL << 20;
	p->cpus = 1000;
	p->pids = 128;
	p->timeout = 30;
	p->compile_timeout = 60;
	p->compile_output = 1LL << 20;
	p->idle_timeout = 600;
	p->max_lifetime = 3600;
	p->workspace = WS_RO;
	p->ws_size = 256LL << 20;
	p->ws_files = 10000;
	p->read_only = 1;
	p->user = estrdup("auto");
	p->tmpfs = 64LL << 20;
	p->nofile = 1024;
	p->nproc = 1024;
	p->max_output = 16LL << 20;
	p->max_files = 100000;
	p->max_bytes = 1LL << 30;
	p->net_conns = 16;
	p->net_bytes = 256LL << 20;
	policy_lists(p);
}

/* The lists of a policy, empty: what a policy read back from a state
 * file starts from, as it writes an empty one as no words. */
void
policy_lists(struct policy *p)
{
	p->imports = ecalloc(1, sizeof(char *));
	p->oci_flags = ecalloc(1, sizeof(char *));
	p->allow_hosts = ecalloc(1, sizeof(char *));
}

void
policy_free(struct policy *p)
{
	free(p->name);
	free(p->description);
	free(p->runtime);
	free(p->image);
	free(p->user);
	free(p->oci_runtime);
	strv_free(p->imports);
	strv_free(p->oci_flags);
	strv_free(p->allow_hosts);
	memset(p, 0, sizeof(*p));
}

/* Parsers: 1 on success with *v set, 0 on any junk or overflow. */
static int
parse_num(const char **s, long long *v)
{
	long long n = 0;

	if (!isdigit((unsigned char)**s))
		return 0;
	for (; isdigit((unsigned char)**s); (*s)++) {
		if (n > (LLONG_MAX - 9) / 10)
			return 0;
		n = n * 10 + (**s - '0');
	}
	*v = n;
	return 1;
}

int
parse_size(const char *s, long long *v)
{
	long long n, mul = 1;

	if (!parse_num(&s, &n))
		return 0;
	switch (tolower((unsigned char)*s)) {
	case 't': mul <<= 10; /* FALLTHROUGH */
	case 'g': mul <<= 10; /* FALLTHROUGH */
	case 'm': mul <<= 10; /* FALLTHROUGH */
	case 'k': mul <<= 10; s++; break;
	}
	if (*s != '\0' || n > MAXSIZE / mul)
		return 0;
	*v = n * mul;
	return 1;
}

int
parse_duration(const char *s, long *v)
{
	long long n, mul = 1;

	if (!parse_num(&s, &n))
		return 0;
	switch (*s) {
	case 'h': mul = 3600; s++; break;
	case 'm': mul = 60; s++; break;
	case 's': s++; break;
	}
	if (*s != '\0' || n > MAXDURATION / mul)
		return 0;
	*v = (long)(n * mul);
	return 1;
}

/* "1", "0.5", "2.25": thousandths of a CPU, at most three decimals. */
int
parse_cpus(const char *s, long *v)
{
	long long n, frac = 0;
	int digits = 0;

	if (!parse_num(&s, &n) || n > 1000000)
		return 0;
	if (*s == '.') {
		for (s++; isdigit((unsigned char)*s) && digits < 3; s++, digits++)
			frac = frac * 10 + (*s - '0');
		if (digits == 0)
			return 0;
	}
	for (; digits < 3; digits++)
		frac *= 10;
	if (*s != '\0')
		return 0;
	*v = (long)(n * 1000 + frac);
	return 1;
}

int
parse_bool(const char *s, int *v)
{
	static const char *yes[] = { "true", "yes", "on", "1" };
	static const char *no[] = { "false", "no", "off", "0" };
	size_t i;

	for (i = 0; i < LEN(yes); i++) {
		if (strcmp(s, yes[i]) == 0)
			return *v = 1;
		if (strcmp(s, no[i]) == 0)
			return !(*v = 0);
	}
	return 0;
}

static int
valid_image(const char *s)
{
	if (!isalnum((unsigned char)*s) || strlen(s) > 255)
		return 0;
	return s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/:@-")] == '\0';
}

/* An OCI runtime: a name the runtime knows, or an absolute path. */
static int
valid_prog(const char *s)
{
	if (!isalnum((unsigned char)*s) && *s != '/')
		return 0;
	return strlen(s) < 256 && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-")] == '\0';
}

static int
valid_user(const char *s)
{
	long long n;

	if (strcmp(s, "auto") == 0)
		return 1;
	if (!parse_num(&s, &n) || n > INT_MAX)
		return 0;
	if (*s == ':' && (s++, !parse_num(&s, &n) || n > INT_MAX))
		return 0;
	return *s == '\0';
}

static int
valid_word(const char *s, const char *first, const char *rest)
{
	return *s != '\0' && strchr(first, *s) != NULL &&
	    s[strspn(s, rest)] == '\0';
}

#define IDENT "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"
#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static int
valid_imports(char **v)
{
	for (; *v; v++)
		if (!valid_word(*v, IDENT, IDENT "0123456789."))
			return 0;
	return 1;
}

/* An OCI runtime's flags, "name[=value]": never an option of ours. */
static int
valid_flags(char **v)
{
	for (; *v; v++)
		if (strlen(*v) > 255 || !valid_word(*v, ALNUM, ALNUM "._=:/-"))
			return 0;
	return 1;
}

/* A host name's labels: letters, digits and inner '-', 63 at most. */
static int
valid_hostname(const char *s)
{
	size_t n;

	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (; *s; s += n + (s[n] == '.')) {
		n = strspn(s, ALNUM "-");
		if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-' ||
		    (s[n] != '.' && s[n] != '\0') ||
		    (s[n] == '.' && s[n + 1] == '\0'))
			return 0;
	}
	return 1;
}

/*
 * HOST[:PORT][=ADDR], as curl's --resolve maps a name: HOST a name, an
 * IPv4 address, or "*." and a name; PORT 1 to 65535; ADDR an IPv4 or
 * IPv6 address, for a name only.  A HOST that is an address is its own.
 */
int
allow_entry(const char *s, struct allow *a)
{
	unsigned char bin[16];
	char buf[512], *eq, *colon, *host = buf, *end;
	long port;
	int wild;

	memset(a, 0, sizeof(*a));
	if (strlen(s) >= sizeof(buf))
		return 0;
	strcpy(buf, s);
	if ((eq = strchr(buf, '=')) != NULL) {
		*eq++ = '\0';
		if (strlen(eq) >= sizeof(a->addr) ||
		    (inet_pton(AF_INET, eq, bin) != 1 &&
		    inet_pton(AF_INET6, eq, bin) != 1))
			return 0;
		strcpy(a->addr, eq);
	}
	if ((colon = strchr(buf, ':')) != NULL) {
		*colon++ = '\0';
		if (!isdigit((unsigned char)*colon))
			return 0;
		errno = 0;
		port = strtol(colon, &end, 10);
		if (*end != '\0' || errno || port < 1 || port > 65535)
			return 0;
		a->port = (int)port;
	}
	if ((wild = strncmp(host, "*.", 2) == 0))
		host += 2;
	if (!valid_hostname(host) || (wild && *a->addr))
		return 0;
	for (end = buf; *end; end++)
		*end = (char)tolower((unsigned char)*end);
	strcpy(a->host, buf);
	if (inet_pton(AF_INET, a->host, bin) == 1) {
		if (wild || *a->addr)
			return 0;
		strcpy(a->addr, a->host);
	}
	return 1;
}

/* Does entry a let host:port through?  host in lower case. */
int
allow_match(const struct allow *a, const char *host, int port)
{
	size_t hl = strlen(host), al = strlen(a->host);

	if (a->port ? a->port != port : port != 80 && port != 443)
		return 0;
	if (strncmp(a->host, "*.", 2) == 0)	/* ".example.org" ends it */
		return hl > al - 1 && strcmp(host + hl - (al - 1),
		    a->host + 1) == 0;
	return strcmp(host, a->host) == 0;
}

static int
valid_hosts(char **v)
{
	struct allow a;

	for (; *v; v++)
		if (!allow_entry(*v, &a))
			return 0;
	return 1;
}

static const struct key *
key_find(const char *name)
{
	const struct key *k;

	for (k = keys; k < keys + LEN(keys); k++)
		if (strcmp(k->name, name) == 0)
			return k;
	return NULL;
}

/*
 * Sets one key of p from its text.  Returns NULL, or what is wrong in
 * words that follow "file:line: ".  Long as a switch of every kind of
 * value is long: one case each, side by side so that they stay alike.
 */
const char *
policy_set(struct policy *p, const char *name, const char *val)
{
	static char err[512];
	const struct key *k;
	char *field, **list;
	long long n = 0;
	long l;
	int b, ok = 1;

	if ((k = key_find(name)) == NULL) {
		snprintf(err, sizeof(err), "unknown key '%.64s'", name);
		return err;
	}
	field = (char *)p + k->off;
	switch (k->type) {
	case K_STR:
		if (k->off != 0) {
			free(*(char **)field);
			*(char **)field = estrdup(val);
		}
		return NULL;
	case K_SIZE:
		ok = parse_size(val, &n) && n >= k->min && n <= k->max;
		if (ok)
			*(long long *)field = n;
		break;
	case K_DUR:
		ok = parse_duration(val, &l) && l >= k->min && l <= k->max;
		if (ok)
			*(long *)field = l;
		break;
	case K_CPUS:
		ok = parse_cpus(val, &l) && l >= k->min && l <= k->max;
		if (ok)
			*(long *)field = l;
		break;
	case K_BOOL:
		if ((ok = parse_bool(val, &b)))
			*(int *)field = b;
		break;
	case K_LONG:
		ok = parse_num(&val, &n) && *val == '\0' && n >= k->min &&
		    n <= k->max;
		if (ok)
			*(long *)field = (long)n;
		break;
	case K_RUNTIME:
		if ((ok = strcmp(val, "auto") == 0 ||
		    strcmp(val, "podman") == 0 || strcmp(val, "docker") == 0)) {
			free(*(char **)field);
			*(char **)field = estrdup(val);
		}
		break;
	case K_WS:
		if (strcmp(val, "ro") == 0)
			p->workspace = WS_RO;
		else if (strcmp(val, "rw") == 0)
			p->workspace = WS_RW;
		else if (strcmp(val, "none") == 0)
			p->workspace = WS_NONE;
		else
			ok = 0;
		break;
	case K_USER:
	case K_IMAGE:
	case K_PROG:
		if ((ok = k->type == K_USER ? valid_user(val) :
		    k->type == K_IMAGE ? valid_image(val) : valid_prog(val))) {
			free(*(char **)field);
			*(char **)field = estrdup(val);
		}
		break;
	case K_LIST:
	case K_FLAGS:
	case K_HOSTS:
		list = strv_split(val, " \t,");
		if ((ok = k->type == K_LIST ? valid_imports(list) :
		    k->type == K_FLAGS ? valid_flags(list) :
		    valid_hosts(list))) {
			strv_free(*(char ***)field);
			*(char ***)field = list;
		} else {
			strv_free(list);
		}
		break;
	}
	if (ok)
		return NULL;
	snprintf(err, sizeof(err), "%s: invalid value '%.64s'%s", name, val,
	    k->type == K_SIZE || k->type == K_DUR || k->type == K_LONG ||
	    k->type == K_CPUS ? " (out of range or not a number)" : "");
	return err;
}

/*
 * Parsing one layer: a reader that counts lines, so every error can
 * name one, over the config that earlier layers filled.
 */
struct parse {
	struct config *c;
	const char *path;	/* this layer's, one of the config's files */
	unsigned layer;		/* its index in files */
	const char *text;	/* built-in config, or NULL */
	FILE *fp;
	int line;
	int errline;
	char err[512];
	struct tmpl *cur;
	int system;		/* this is the system configuration */
	char cursec[128];
	char **seen;		/* sections already closed */
	size_t nseen;
	struct lang *curlang;
	int langkeys;		/* of curlang, set in this section: LK_ */
};

enum { LK_COMMAND = 1, LK_IMAGE = 2, LK_COMPILE = 4 };

static void
perr(struct parse *ps, const char *fmt, const char *arg)
{
	if (ps->errline)
		return;
	ps->errline = ps->line;
	snprintf(ps->err, sizeof(ps->err), fmt, arg);
}

static int section(struct parse *ps, const char *sec);

/*
 * A "[name]" line opens its section here, where its line number is
 * known: inih tells the handler of a section only at its first key.
 * A line without "]" is left for inih to call a syntax error.
 */
static int
header(struct parse *ps, const char *line)
{
	const char *end = strchr(line, ']'), *s = line + 1;
	char name[128];
	size_t n;

	if (end == NULL)
		return 1;
	s += strspn(s, " \t");
	for (n = (size_t)(end - s); n > 0 && strchr(" \t", s[n - 1]); n--)
		;
	snprintf(name, sizeof(name), "%.*s", (int)n, s);
	return section(ps, name);
}

static char *
reader(char *buf, int size, void *stream)
{
	struct parse *ps = stream;
	int c = EOF, n = 0;

	if (ps->errline)
		return NULL;
	while (n < size - 1) {
		c = ps->text ? (*ps->text ? *ps->text++ : EOF) : getc(ps->fp);
		if (c == EOF)
			break;
		if (c == '\0') {
			ps->line++;
			perr(ps, "%sbinary data in configuration", "");
			return NULL;
		}
		buf[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (n == 0)
		return NULL;
	buf[n] = '\0';
	ps->line++;
	if (c != '\n' && c != EOF) {
		perr(ps, "line longer than %s bytes", "198");
		return NULL;
	}
	if ((buf[0] == ' ' || buf[0] == '\t') &&
	    buf[strspn(buf, " \t\r\n")] != '\0') {
		perr(ps, "%sindented line (continuation lines are not "
		    "supported)", "");
		return NULL;
	}
	if (buf[0] == '[' && !header(ps, buf))
		return NULL;
	return buf;
}

static struct lang *
lang_get(struct config *c, const char *ext)
{
	struct lang *l;

	for (l = c->langs; l; l = l->next)
		if (strcmp(l->ext, ext) == 0)
			return l;
	l = ecalloc(1, sizeof(*l));
	l->ext = estrdup(ext);
	l->next = c->langs;
	c->langs = l;
	return l;
}

static struct tmpl *
tmpl_find(const struct config *c, const char *name)
{
	struct tmpl *t;

	for (t = c->tmpls; t; t = t->next)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static struct tmpl *
tmpl_new(const char *name)
{
	struct tmpl *t = ecalloc(1, sizeof(*t));

	t->name = estrdup(name);
	t->tail = &t->set;
	return t;
}

/* Called on the first key of each section: opens it, once. */
static int
section(struct parse *ps, const char *sec)
{
	struct tmpl *t;
	size_t i;

	for (i = 0; i < ps->nseen; i++)
		if (strcmp(ps->seen[i], sec) == 0) {
			perr(ps, "duplicate section [%.64s]", sec);
			return 0;
		}
	ps->seen = erealloc(ps->seen, (ps->nseen + 1) * sizeof(char *));
	ps->seen[ps->nseen++] = estrdup(sec);
	snprintf(ps->cursec, sizeof(ps->cursec), "%s", sec);
	ps->cur = NULL;
	ps->curlang = NULL;
	if (strncmp(sec, "language ", 9) == 0) {
		if (!valid_word(sec + 9, IDENT "0123456789",
		    IDENT "0123456789+-")) {
			perr(ps, "bad language section [%.64s]", sec);
			return 0;
		}
		ps->curlang = lang_get(ps->c, sec + 9);
		ps->curlang->file = ps->path;
		ps->curlang->line = ps->line;
		ps->langkeys = 0;
		return 1;
	}
	if (strcmp(sec, "ceiling") == 0 || strcmp(sec, "system") == 0) {
		if (!ps->system) {
			perr(ps, "[%s] is read only from the system "
			    "configuration, " SYSCONFDIR "/sbx/sbx.ini", sec);
			return 0;
		}
		t = tmpl_new(sec);
		*(*sec == 'c' ? &ps->c->ceiling : &ps->c->system) = t;
		ps->cur = t;
		return 1;
	}
	if (strlen(sec) > 48) {	/* inih keeps 49 bytes of a name */
		perr(ps, "section name longer than 48 bytes: [%.64s]", sec);
		return 0;
	}
	if (*sec == '\0' || !valid_word(sec,
	    IDENT "0123456789", IDENT "0123456789.-")) {
		perr(ps, "bad section name [%.64s]: want a template name or "
		    "[language EXT]", sec);
		return 0;
	}
	/* An earlier layer's template of this name: this one changes it. */
	if ((t = tmpl_find(ps->c, sec)) == NULL) {
		t = tmpl_new(sec);
		t->next = ps->c->tmpls;
		ps->c->tmpls = t;
	}
	t->layers |= 1u << ps->layer;
	ps->cur = t;
	return 1;
}

static int
lang_key(struct parse *ps, const char *name, const char *val)
{
	struct lang *l = ps->curlang;
	char **v;
	size_t i;
	int bit;

	if (strcmp(name, "command") == 0 || strcmp(name, "compile") == 0) {
		bit = strcmp(name, "command") == 0 ? LK_COMMAND : LK_COMPILE;
		if (ps->langkeys & bit) {
			perr(ps, "duplicate key '%s'", name);
			return 0;
		}
		v = strv_split(val, " \t");
		for (i = 0; v[i]; i++)
			if (strpbrk(v[i], "\"'\\") != NULL)
				break;
		/* An empty compile: a layer's way to say "none". */
		if ((v[0] == NULL && bit == LK_COMMAND) || v[i] != NULL) {
			strv_free(v);
			perr(ps, bit == LK_COMMAND ? "command: invalid value "
			    "'%.64s' (words separated by spaces, no quotes)" :
			    "compile: invalid value '%.64s' (words separated "
			    "by spaces, no quotes)", val);
			return 0;
		}
		if (bit == LK_COMPILE && v[0] == NULL) {
			strv_free(v);
			v = NULL;
		}
		/* An earlier layer's goes. */
		strv_free(bit == LK_COMMAND ? l->command : l->compile);
		*(bit == LK_COMMAND ? &l->command : &l->compile) = v;
		ps->langkeys |= bit;
	} else if (strcmp(name, "image") == 0) {
		if ((ps->langkeys & LK_IMAGE) || !valid_image(val)) {
			perr(ps, ps->langkeys & LK_IMAGE ? "duplicate key '%s'" :
			    "image: invalid value '%.64s'",
			    ps->langkeys & LK_IMAGE ? name : val);
			return 0;
		}
		free(l->image);
		l->image = estrdup(val);
		ps->langkeys |= LK_IMAGE;
	} else {
		perr(ps, "unknown key '%.64s' in a language section", name);
		return 0;
	}
	return 1;
}

/* [system]: what only the administrator decides. */
static const char *
system_key(const char *name, const char *val)
{
	char **v;
	size_t i;

	if (strcmp(name, "audit_log") == 0)
		return *val == '/' ? NULL : "audit_log: want an absolute path";
	if (strcmp(name, "allowed_oci_runtimes") == 0) {
		v = strv_split(val, " \t,");
		for (i = 0; v[i] && *v[i] == '/'; i++)
			;
		i = v[0] == NULL || v[i] != NULL;
		strv_free(v);
		return i ? "allowed_oci_runtimes: want absolute paths" : NULL;
	}
	if (strcmp(name, "allowed_images") != 0)
		return "unknown key in [system] (allowed_images, "
		    "allowed_oci_runtimes, audit_log)";
	v = strv_split(val, " \t,");
	for (i = 0; v[i]; i++)
		if (strlen(v[i]) > 255 || strpbrk(v[i], "\"'\\") != NULL)
			break;
	i = v[0] == NULL || v[i] != NULL;
	strv_free(v);
	return i ? "allowed_images: want image name patterns" : NULL;
}

static int
set_inherit(struct parse *ps, const char *val)
{
	struct tmpl *t = ps->cur;

	if (t->inherit && t->inherit_file == ps->path) {
		perr(ps, "duplicate key '%s'", "inherit");
		return 0;
	}
	free(t->inherit);
	t->inherit = estrdup(val);
	t->inherit_file = ps->path;
	t->inherit_line = ps->line;
	return 1;
}

static int
handler(void *user, const char *sec, const char *name, const char *val)
{
	struct parse *ps = user;
	struct policy scratch;
	struct setting *s;
	const char *e;

	if (*sec == '\0') {
		perr(ps, "key '%.64s' outside any [section]", name);
		return 0;
	}
	if (strcmp(sec, ps->cursec) != 0) {	/* opened by header() */
		perr(ps, "section [%.64s] not understood", sec);
		return 0;
	}
	if (ps->curlang)
		return lang_key(ps, name, val);
	for (s = ps->cur->set; s && strcmp(s->key, name) != 0; s = s->next)
		;
	if (s && s->file == ps->path) {
		perr(ps, "duplicate key '%.64s'", name);
		return 0;
	}
	/* Check the value now, so an error names this line even when
	 * another template is the one in use. */
	if (ps->cur == ps->c->system) {
		e = system_key(name, val);
	} else {
		policy_base(&scratch);
		e = policy_set(&scratch, name, val);
		policy_free(&scratch);
		if (e == NULL && ps->cur == ps->c->ceiling &&
		    (key_find(name)->ceil == C_NONE))
			e = "this key cannot be a ceiling";
	}
	if (e != NULL) {
		perr(ps, "%s", e);
		return 0;
	}
	if (strcmp(name, "inherit") == 0)
		return set_inherit(ps, val);
	if (s == NULL) {
		s = ecalloc(1, sizeof(*s));
		s->key = estrdup(name);
		*ps->cur->tail = s;
		ps->cur->tail = &s->next;
	}
	free(s->value);	/* an earlier layer's, replaced */
	s->value = estrdup(val);
	s->file = ps->path;
	s->line = ps->line;
	return 1;
}

static const struct tmpl *
parent(const struct config *c, const struct tmpl *t)
{
	if (t->inherit)
		return tmpl_find(c, t->inherit);
	if (strcmp(t->name, "default") != 0)
		return tmpl_find(c, "default");
	return NULL;
}

/* Every inherit names a template, and no chain comes back on itself. */
static void
check_inherit(struct config *c)
{
	const struct tmpl *t, *u;
	size_t n = 0, i;

	for (t = c->tmpls; t; t = t->next)
		n++;
	for (t = c->tmpls; t; t = t->next) {
		if (t->inherit && tmpl_find(c, t->inherit) == NULL)
			die("%s:%d: inherit: no template '%s'",
			    t->inherit_file, t->inherit_line, t->inherit);
		/* Implicit inheritance ends at [default], so any cycle
		 * has a member with an inherit line to point at; blame
		 * only the members, not those that lead into it. */
		for (u = parent(c, t), i = 0; u && u != t && i <= n;
		    u = parent(c, u), i++)
			;
		if (u == t && t->inherit)
			die("%s:%d: inherit: template '%s' inherits from "
			    "itself", t->inherit_file, t->inherit_line,
			    t->name);
	}
}

static void
check_langs(struct config *c)
{
	struct lang *l;

	for (l = c->langs; l; l = l->next)
		if (l->command == NULL || l->image == NULL)
			die("%s:%d: [language %s] needs both command and "
			    "image", l->file, l->line, l->ext);
}

/* Every inherit and language is checked once all layers are read. */
static void
config_check(struct config *c)
{
	check_inherit(c);
	check_langs(c);
}

/* Makes path the config's next layer, and ps the parse of it. */
static void
layer_begin(struct config *c, struct parse *ps, const char *path)
{
	size_t n = strv_len(c->files);

	memset(ps, 0, sizeof(*ps));
	c->files = erealloc(c->files, (n + 2) * sizeof(char *));
	c->files[n] = estrdup(path);
	c->files[n + 1] = NULL;
	c->path = c->files[n];
	ps->c = c;
	ps->path = c->files[n];
	ps->layer = (unsigned)n;
}

static void
parse(struct parse *ps)
{
	size_t i;
	int ret;

	ret = ini_parse_stream(reader, ps, handler, ps);
	for (i = 0; i < ps->nseen; i++)
		free(ps->seen[i]);
	free(ps->seen);
	if (ret > 0 && (ps->errline == 0 || ret < ps->errline))
		die("%s:%d: syntax error (want [section] or key = value)",
		    ps->path, ret);
	if (ret < 0)
		die("%s: cannot parse (out of memory)", ps->path);
	if (ps->errline)
		die("%s:%d: %s", ps->path, ps->errline, ps->err);
}

/* Reads path over the layers before it; system: it is the system's. */
static void
layer_file(struct config *c, const char *path, int system)
{
	struct parse ps;

	layer_begin(c, &ps, path);
	ps.system = system;
	if ((ps.fp = fopen(path, "r")) == NULL)
		die("%s:", path);
	parse(&ps);
	if (ferror(ps.fp))
		die("read %s:", path);
	fclose(ps.fp);
}

/* The shipped sbx.ini, compiled in by the Makefile, and a NUL. */
static const char builtin_ini[] = {
#include "builtin.h"
	0
};

static void
layer_builtin(struct config *c)
{
	struct parse ps;

	layer_begin(c, &ps, "(built-in)");
	ps.text = builtin_ini;
	parse(&ps);
}

void
config_load(struct config *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	layer_file(c, path, strcmp(path, SYSFILE) == 0);
	config_check(c);
}

void
config_builtin(struct config *c)
{
	memset(c, 0, sizeof(*c));
	layer_builtin(c);
	config_check(c);
}

/* Does path exist?  Any answer but yes or no is an error. */
static int
exists(const char *path)
{
	if (access(path, F_OK) == 0)
		return 1;
	if (errno != ENOENT)
		die("%s:", path);
	return 0;
}

/* $XDG_CONFIG_HOME/sbx/sbx.ini, ~/.config/sbx/sbx.ini, or NULL. */
static char *
user_file(void)
{
	const char *env;

	if ((env = getenv("XDG_CONFIG_HOME")) != NULL && *env == '/')
		return smprintf("%s/sbx/sbx.ini", env);
	if ((env = getenv("HOME")) != NULL && *env == '/')
		return smprintf("%s/.config/sbx/sbx.ini", env);
	return NULL;
}

/*
 * A layer that is a file read already, as -c naming the system file
 * would be, is not read twice: the second time, the system file's
 * [ceiling] would be an error.
 */
static int
read_before(struct stat *seen, size_t *n, const char *path)
{
	struct stat st;
	size_t i;

	if (stat(path, &st) < 0)
		return 0;	/* fopen says why */
	for (i = 0; i < *n; i++)
		if (seen[i].st_dev == st.st_dev && seen[i].st_ino == st.st_ino)
			return 1;
	seen[(*n)++] = st;
	return 0;
}

/*
 * What the runtimes' CLIs take from the environment, which a system
 * file that binds its users owns: their configuration and their engine
 * (CONTAINERS_CONF, CONTAINER_HOST, DOCKER_HOST, DOCKER_CONFIG,
 * STORAGE_OPTS...), the XDG directories they find files in, and the
 * loader's; HOME becomes the effective user's, and for root PATH the
 * system's.  SBX_SUPERVISE goes too: pid 1 of every container is the
 * installed one.  Read after the user's file is found, before any
 * runtime.
 */
static const char *bound_env[] = {
	"BUILDAH_", "CONTAINER_", "CONTAINERS_", "_CONTAINERS_", "DOCKER_",
	"LD_", "PODMAN_", "REGISTRY_", "STORAGE_", "XDG_"
};

static void
bind_env(void)
{
	extern char **environ;
	struct passwd *pw;
	char **e, *name;
	size_t i;

	for (e = environ; *e; ) {
		for (i = 0; i < LEN(bound_env) && strncmp(*e, bound_env[i],
		    strlen(bound_env[i])) != 0; i++)
			;
		if (i == LEN(bound_env)) {
			e++;
			continue;
		}
		name = strndup(*e, strcspn(*e, "="));
		if (name == NULL || unsetenv(name) < 0)
			die("unsetenv:");
		free(name);
		e = environ;	/* unsetenv moved the rest */
	}
	unsetenv("SBX_SUPERVISE");
	if ((pw = getpwuid(geteuid())) != NULL && *pw->pw_dir == '/')
		setenv("HOME", pw->pw_dir, 1);
	else
		unsetenv("HOME");
	if (geteuid() == 0)
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
		    "/usr/bin:/sbin:/bin", 1);
}

/*
 * Loads the configuration in layers, each over those before: the system
 * file, or the built-in copy if there is none; the user's file, if it
 * exists; then -c, or else $SBX_CONFIG.  Never anything in the current
 * directory or the source tree: an untrusted repository must not be able
 * to raise its own limits.  Returns 1 if a file was read.
 */
int
config_find(struct config *c, const char *opt)
{
	const char *env;
	char *user = user_file();
	struct stat seen[3];
	size_t n = 0;
	int found;

	memset(c, 0, sizeof(*c));
	if ((found = exists(SYSFILE))) {
		read_before(seen, &n, SYSFILE);
		layer_file(c, SYSFILE, 1);
	} else {
		layer_builtin(c);
	}
	if (user && exists(user) && !read_before(seen, &n, user)) {
		layer_file(c, user, 0);
		found = 1;
	}
	free(user);
	if (opt == NULL && (env = getenv("SBX_CONFIG")) != NULL && *env)
		opt = env;
	if (opt && !read_before(seen, &n, opt)) {
		layer_file(c, opt, 0);
		found = 1;
	}
	config_check(c);
	if (c->ceiling || c->system)
		bind_env();
	return found || opt;
}

static void
tmpl_free(struct tmpl *t)
{
	struct setting *s, *sn;

	for (s = t ? t->set : NULL; s; s = sn) {
		sn = s->next;
		free(s->key);
		free(s->value);
		free(s);
	}
	if (t) {
		free(t->name);
		free(t->inherit);
		free(t);
	}
}

void
config_free(struct config *c)
{
	struct tmpl *t, *tn;
	struct lang *l, *ln;

	for (t = c->tmpls; t; t = tn) {
		tn = t->next;
		tmpl_free(t);
	}
	tmpl_free(c->ceiling);
	tmpl_free(c->system);
	for (l = c->langs; l; l = ln) {
		ln = l->next;
		free(l->ext);
		strv_free(l->command);
		strv_free(l->compile);
		free(l->image);
		free(l);
	}
	strv_free(c->files);
	memset(c, 0, sizeof(*c));
}

static void
apply(const struct config *c, const struct tmpl *t, struct policy *p)
{
	const struct setting *s;
	const char *e;

	if (parent(c, t))
		apply(c, parent(c, t), p);
	for (s = t->set; s; s = s->next)
		if ((e = policy_set(p, s->key, s->value)) != NULL)
			die("%s:%d: %s", s->file, s->line, e);
}

/* Fills p from template name and its ancestors; 0 if there is none. */
int
policy_resolve(const struct config *c, const char *name, struct policy *p)
{
	const struct tmpl *t;

	if ((t = tmpl_find(c, name)) == NULL)
		return 0;
	policy_base(p);
	apply(c, t, p);
	p->name = estrdup(name);
	return 1;
}

/*
 * "default, secure, ml": the templates in the order they first appear,
 * layer by layer, for error messages.
 */
char *
config_names(const struct config *c)
{
	const struct tmpl *t;
	char *s = estrdup(""), *n;

	for (t = c->tmpls; t; t = t->next) {
		n = smprintf("%s%s%s", t->name, *s ? ", " : "", s);
		free(s);
		s = n;
	}
	return s;
}

/* "(built-in), /home/u/.config/sbx/sbx.ini": the layers, base first. */
char *
config_files(const struct config *c)
{
	char *s = estrdup(""), *n;
	size_t i;

	for (i = 0; c->files && c->files[i]; i++) {
		n = smprintf("%s%s%s", s, i ? ", " : "", c->files[i]);
		free(s);
		s = n;
	}
	return s;
}

const char *
workspace_name(enum workspace w)
{
	return w == WS_RW ? "rw" : w == WS_NONE ? "none" : "ro";
}

void
policy_json(struct jbuf *j, const struct policy *p)
{
	jb_obj(j, "limits");
	jb_int(j, "memory", p->memory);
	jb_fixed(j, "cpus", p->cpus, 3);
	jb_int(j, "pids", p->pids);
	jb_int(j, "timeout", p->timeout);
	jb_int(j, "cpu_time", p->cpu_time);
	jb_bool(j, "network", p->network);
	jb_str(j, "workspace", workspace_name(p->workspace));
	jb_int(j, "workspace_size", p->ws_size);
	jb_int(j, "workspace_files", p->ws_files);
	jb_bool(j, "read_only", p->read_only);
	jb_str(j, "user", p->user);
	jb_int(j, "tmpfs_size", p->tmpfs);
	jb_int(j, "nofile", p->nofile);
	jb_int(j, "nproc", p->nproc);
	jb_int(j, "fsize", p->fsize);
	jb_int(j, "max_output", p->max_output);
	jb_int(j, "compile_timeout", p->compile_timeout);
	jb_int(j, "compile_cpu_time", p->compile_cpu);
	jb_int(j, "compile_max_output", p->compile_output);
	jb_str(j, "oci_runtime", p->oci_runtime);
	jb_strv(j, "oci_runtime_flags", p->oci_flags);
	jb_strv(j, "allow_hosts", p->allow_hosts);
	jb_int(j, "net_connections", p->net_conns);
	jb_int(j, "net_bytes", p->net_bytes);
	jb_int(j, "max_files", p->max_files);
	jb_int(j, "max_bytes", p->max_bytes);
	jb_int(j, "idle_timeout", p->idle_timeout);
	jb_int(j, "max_lifetime", p->max_lifetime);
	jb_bool(j, "repl", p->repl);
	jb_strv(j, "authorized_imports", p->imports);
	jb_endobj(j);
}

/*
 * "file" is the last layer with a section of the template, "files"
 * every one, base first: where to look for what it sets.
 */
static void
list_files(struct jbuf *j, const struct config *c, const struct tmpl *t)
{
	char *v[sizeof(t->layers) * CHAR_BIT + 1];
	size_t i, n = 0;

	for (i = 0; c->files[i] && i < LEN(v) - 1; i++)
		if (t->layers & 1u << i)
			v[n++] = c->files[i];
	v[n] = NULL;
	jb_str(j, "file", n ? v[n - 1] : NULL);
	jb_strv(j, "files", v);
}

static void
list_one(const struct config *c, const struct tmpl *t)
{
	struct policy p;
	struct jbuf j;
	const struct tmpl *par = parent(c, t);

	policy_resolve(c, t->name, &p);
	jb_begin(&j, "template");
	jb_str(&j, "name", p.name);
	jb_str(&j, "description", p.description);
	jb_str(&j, "inherit", par ? par->name : NULL);
	list_files(&j, c, t);
	jb_str(&j, "runtime", p.runtime);
	jb_str(&j, "image", p.image);
	policy_json(&j, &p);
	jb_emit(&j);
	policy_free(&p);
}

/* One "template" line per template, in the order of config_names. */
void
config_list(const struct config *c)
{
	const struct tmpl *t, *last = NULL, *u;

	/* The list is built backwards; walk it forwards by file order. */
	while (last != c->tmpls) {
		for (u = c->tmpls; u->next != last; u = u->next)
			;
		t = u;
		list_one(c, t);
		last = t;
	}
}

/*
 * Writes p as "prefix key value" lines that policy_set reads back to
 * the same policy: how a session keeps the policy it started with.
 */
void
policy_write(FILE *f, const char *prefix, const struct policy *p)
{
	const struct key *k;
	const char *field;
	char **v;

	for (k = keys; k < keys + LEN(keys); k++) {
		field = (const char *)p + k->off;
		if (k->off == 0 || k->type == K_STR)
			continue;	/* inherit, description: not limits */
		fprintf(f, "%s%s ", prefix, k->name);
		switch (k->type) {
		case K_SIZE:
			fprintf(f, "%lld\n", *(const long long *)field);
			break;
		case K_CPUS:
			fprintf(f, "%ld.%03ld\n", *(const long *)field / 1000,
			    *(const long *)field % 1000);
			break;
		case K_BOOL:
			fprintf(f, "%s\n", *(const int *)field ? "true" :
			    "false");
			break;
		case K_WS:
			fprintf(f, "%s\n", workspace_name(p->workspace));
			break;
		case K_LIST:
		case K_FLAGS:
		case K_HOSTS:
			for (v = *(char **const *)field; *v; v++)
				fprintf(f, "%s%s", v == *(char **const *)field ?
				    "" : ",", *v);
			fprintf(f, "\n");
			break;
		case K_DUR:
		case K_LONG:
			fprintf(f, "%ld\n", *(const long *)field);
			break;
		default:	/* strings, which may be unset */
			fprintf(f, "%s\n", *(char *const *)field ?
			    *(char *const *)field : "");
			break;
		}
	}
}

static long long
numeric(const struct policy *p, const struct key *k)
{
	const char *f = (const char *)p + k->off;

	switch (k->type) {
	case K_SIZE:
		return *(const long long *)f;
	case K_BOOL:
		return *(const int *)f;
	case K_WS:	/* ranked by what the script may touch */
		return p->workspace == WS_NONE ? 0 : p->workspace == WS_RO ?
		    1 : 2;
	default:
		return *(const long *)f;
	}
}

/* Is v, of the policy, within c, of the ceiling? */
static int
within(enum ceil how, long long v, long long c)
{
	switch (how) {
	case C_MAX0:
		return c == 0 || (v != 0 && v <= c);
	case C_OFF:
		return c || !v;
	case C_ON:
		return !c || v;
	default:
		return v <= c;
	}
}

/* The uid and gid of "uid[:gid]", or of "auto" the least it draws. */
static void
user_ids(const char *user, unsigned long *u, unsigned long *g)
{
	int n;

	if (strcmp(user, "auto") == 0) {
		*u = *g = AUTO_LOW;
		return;
	}
	n = sscanf(user, "%lu:%lu", u, g);
	if (n < 2)
		*g = n == 1 ? *u : 0;
}

/* Is user at or above the ceiling's uid and gid? */
static int
user_within(const char *user, const char *ceil)
{
	unsigned long u, g, cu, cg;

	user_ids(user, &u, &g);
	user_ids(ceil, &cu, &cg);
	return u >= cu && g >= cg;
}

/* Does a template of the system file set key to this list of words? */
static int
system_sets(const struct config *c, const char *key, char **words)
{
	const struct setting *s;
	const struct tmpl *t;
	char **v;
	size_t i;
	int same = 0;

	for (t = c->tmpls; t && !same; t = t->next)
		for (s = t->set; s && !same; s = s->next) {
			if (s->file != c->files[0] || strcmp(s->key, key) != 0)
				continue;
			v = strv_split(s->value, " \t,");
			for (i = 0; v[i] && words[i] &&
			    strcmp(v[i], words[i]) == 0; i++)
				;
			same = v[i] == NULL && words[i] == NULL;
			strv_free(v);
		}
	return same;
}

/*
 * Whether the system file sanctions prog as the OCI runtime: one of its
 * templates names it, or allowed_oci_runtimes does.  A user's file must
 * not make the runtime exec a program of its choice as root.
 */
static int
runtime_allowed(const struct config *c, const char *prog)
{
	char *one[2] = { (char *)prog, NULL };
	const char *v;
	char **allowed;
	size_t i;
	int ok;

	if (system_sets(c, "oci_runtime", one))
		return 1;
	if ((v = system_value(c, "allowed_oci_runtimes")) == NULL)
		return 0;
	allowed = strv_split(v, " \t,");
	for (i = 0; allowed[i] && strcmp(allowed[i], prog) != 0; i++)
		;
	ok = allowed[i] != NULL;
	strv_free(allowed);
	return ok;
}

/* Is every entry of v one of the ceiling's? */
static int
hosts_within(char **v, char **ceil)
{
	size_t i;

	for (; *v; v++) {
		for (i = 0; ceil[i] && strcmp(ceil[i], *v) != 0; i++)
			;
		if (ceil[i] == NULL)
			return 0;
	}
	return 1;
}

/*
 * The system's ceilings bind every setting, from a template or the
 * command line alike: loosening one is an error, never a silent clamp.
 * A ceiling's network = false forbids allow_hosts too, unless it has
 * an allow_hosts of its own.  A user's file may not choose the OCI
 * runtime or its flags, which run as root.
 */
void
policy_check(const struct config *c, const struct policy *p,
    const char *image)
{
	const struct setting *s, *nonet = NULL, *hosts = NULL;
	struct policy ceil;
	const struct key *k;
	char **pat;
	size_t i;
	int ok;

	if (p->network && p->allow_hosts[0])
		die("allow_hosts: with network = true the container reaches "
		    "every host already (template %s)", p->name);
	policy_base(&ceil);
	for (s = c->ceiling ? c->ceiling->set : NULL; s; s = s->next) {
		k = key_find(s->key);
		policy_set(&ceil, s->key, s->value);
		if (k->ceil == C_USER ? !user_within(p->user, ceil.user) :
		    k->ceil == C_HOSTS ? !hosts_within(p->allow_hosts,
		    ceil.allow_hosts) :
		    !within(k->ceil, numeric(p, k), numeric(&ceil, k)))
			die("%s: above the system ceiling '%s = %s' (%s:%d)",
			    s->key, s->key, s->value, s->file, s->line);
		if (k->ceil == C_HOSTS)
			hosts = s;
		if (k->ceil == C_OFF && !ceil.network)
			nonet = s;
	}
	policy_free(&ceil);
	if (nonet && !hosts && p->allow_hosts[0])
		die("allow_hosts: above the system ceiling 'network = false', "
		    "which has no allow_hosts (%s:%d)", nonet->file,
		    nonet->line);
	if ((c->ceiling || c->system) && p->oci_runtime &&
	    !runtime_allowed(c, p->oci_runtime))
		die("oci_runtime %s: not set by the system configuration nor "
		    "in its allowed_oci_runtimes (%s)", p->oci_runtime,
		    c->files[0]);
	if ((c->ceiling || c->system) && p->oci_flags[0] &&
	    !system_sets(c, "oci_runtime_flags", p->oci_flags))
		die("oci_runtime_flags: not as a template of the system "
		    "configuration sets them (%s)", c->files[0]);
	for (s = c->system ? c->system->set : NULL; s; s = s->next) {
		if (strcmp(s->key, "allowed_images") != 0)
			continue;
		pat = strv_split(s->value, " \t,");
		for (i = 0; pat[i] && fnmatch(pat[i], image, 0) != 0; i++)
			;
		ok = pat[i] != NULL;
		strv_free(pat);
		if (!ok)
			die("image '%s' is not in allowed_images (%s:%d)",
			    image, s->file, s->line);
	}
}

/* A [system] value, or NULL. */
const char *
system_value(const struct config *c, const char *key)
{
	const struct setting *s;

	for (s = c->system ? c->system->set : NULL; s; s = s->next)
		if (strcmp(s->key, key) == 0)
			return s->value;
	return NULL;
}

const struct lang *
lang_find(const struct config *c, const char *ext)
{
	const struct lang *l;

	for (l = c->langs; l; l = l->next)
		if (strcmp(l->ext, ext) == 0)
			return l;
	return NULL;
}
