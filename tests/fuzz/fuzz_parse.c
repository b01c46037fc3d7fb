/*
 * fuzz_parse: the value parsers of policy.c on the input as one
 * NUL-terminated string, each against a reference written here from the
 * grammar in sbx.ini(5):
 *
 *   size      DIGITS [kKmMgGtT]     at most 1t         parse_size
 *   duration  DIGITS [hms]          at most a week     parse_duration
 *   cpus      DIGITS [. 1-3 DIGITS] at most 1000000.999 parse_cpus
 *   boolean   true yes on 1 / false no off 0           parse_bool
 *
 * Both directions: what the grammar allows parses to the same value, and
 * what it does not is refused.  Then policy_set() with the input as the
 * value of every key: a value taken is stored as its parser reads it, a
 * value refused leaves the policy as it was, with a message that names
 * the key; and with the input as an unknown key's name.
 */
#include <arpa/inet.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbx.h"
#include "tests/fuzz/fuzz.h"

#define BIG (1LL << 50)		/* past every limit: "too big" */

static struct config cfg;

/* Leading digits: how many, their value (saturated at BIG) in *v. */
static size_t
digits(const char *s, long long *v)
{
	size_t i;

	*v = 0;
	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++)
		if ((*v = *v * 10 + (s[i] - '0')) > BIG)
			*v = BIG;
	return i;
}

static int
ref_size(const char *s, long long *v)
{
	long long n, mul = 1;
	size_t i = digits(s, &n);
	const char *suf = "kmgt", *p;

	if (i == 0)
		return 0;
	if (s[i] != '\0') {
		if ((p = strchr(suf, s[i] | 0x20)) == NULL || s[i + 1] != '\0')
			return 0;
		mul = 1LL << (10 * (p - suf + 1));
	}
	if (n > (1LL << 40) / mul)
		return 0;
	*v = n * mul;
	return 1;
}

static int
ref_duration(const char *s, long *v)
{
	long long n, mul = 1;
	size_t i = digits(s, &n);

	if (i == 0)
		return 0;
	if (s[i] != '\0') {
		if (s[i + 1] != '\0')
			return 0;
		if (s[i] == 'h')
			mul = 3600;
		else if (s[i] == 'm')
			mul = 60;
		else if (s[i] != 's')
			return 0;
	}
	if (n * mul > 7LL * 24 * 3600)
		return 0;
	*v = (long)(n * mul);
	return 1;
}

static int
ref_cpus(const char *s, long *v)
{
	long long n, frac = 0;
	size_t i = digits(s, &n), k;

	if (i == 0 || n > 1000000)
		return 0;
	if (s[i] == '.') {
		k = digits(s + i + 1, &frac);
		if (k < 1 || k > 3)
			return 0;
		for (i += 1 + k; k < 3; k++)
			frac *= 10;
	}
	if (s[i] != '\0')
		return 0;
	*v = (long)(n * 1000 + frac);
	return 1;
}

static int
ref_bool(const char *s, int *v)
{
	static const char *w[] = { "false", "no", "off", "0", "true", "yes",
		"on", "1" };
	size_t i;

	for (i = 0; i < LEN(w); i++)
		if (strcmp(s, w[i]) == 0) {
			*v = i >= 4;
			return 1;
		}
	return 0;
}

static void
check_parsers(const char *s)
{
	long long ll, rll;
	long l, rl;
	int b, rb, ok, rok;
	char back[32];
	size_t i;

	ll = rll = -1;
	ok = parse_size(s, &ll);
	rok = ref_size(s, &rll);
	if (ok != rok || (ok && ll != rll))
		fuzz_fail("parse_size('%.80s'): %d, %lld; want %d, %lld", s,
		    ok, ll, rok, rll);
	if (ok && (ll < 0 || ll > 1LL << 40))
		fuzz_fail("parse_size('%.80s') = %lld", s, ll);
	/* Plain digits read back as themselves, less leading zeros. */
	for (i = 0; s[i] == '0' && s[i + 1] != '\0'; i++)
		;
	if (ok && s[strspn(s, "0123456789")] == '\0') {
		snprintf(back, sizeof(back), "%lld", ll);
		if (strcmp(back, s + i) != 0)
			fuzz_fail("parse_size('%.80s') = %s", s, back);
	}

	l = rl = -1;
	ok = parse_duration(s, &l);
	rok = ref_duration(s, &rl);
	if (ok != rok || (ok && l != rl))
		fuzz_fail("parse_duration('%.80s'): %d, %ld; want %d, %ld", s,
		    ok, l, rok, rl);

	l = rl = -1;
	ok = parse_cpus(s, &l);
	rok = ref_cpus(s, &rl);
	if (ok != rok || (ok && l != rl))
		fuzz_fail("parse_cpus('%.80s'): %d, %ld; want %d, %ld", s,
		    ok, l, rok, rl);

	b = rb = -1;
	ok = parse_bool(s, &b);
	rok = ref_bool(s, &rb);
	if (ok != rok || (ok && b != rb))
		fuzz_fail("parse_bool('%.80s'): %d, %d; want %d, %d", s, ok,
		    b, rok, rb);
}

/* --- policy_set ------------------------------------------------------- */

enum kind { SIZE, DUR, CPUS, BOOL, LONG, STR, RUNTIME, WS, USER, IMAGE,
	PROG, LIST, FLAGS, HOSTS, NONE };

/* The keys of sbx.ini(5); a key added to policy.c and not here is
 * still fuzzed through config files by fuzz_ini. */
static const struct {
	const char *name;
	enum kind kind;
	size_t off;
} keys[] = {
#define P(f) offsetof(struct policy, f)
	{ "allow_hosts", HOSTS, P(allow_hosts) },
	{ "authorized_imports", LIST, P(imports) },
	{ "compile_cpu_time", DUR, P(compile_cpu) },
	{ "compile_max_output", SIZE, P(compile_output) },
	{ "compile_timeout", DUR, P(compile_timeout) },
	{ "cpu_time", DUR, P(cpu_time) },
	{ "cpus", CPUS, P(cpus) },
	{ "description", STR, P(description) },
	{ "fsize", SIZE, P(fsize) },
	{ "idle_timeout", DUR, P(idle_timeout) },
	{ "image", IMAGE, P(image) },
	{ "inherit", NONE, 0 },
	{ "max_bytes", SIZE, P(max_bytes) },
	{ "max_files", LONG, P(max_files) },
	{ "max_lifetime", DUR, P(max_lifetime) },
	{ "max_output", SIZE, P(max_output) },
	{ "net_bytes", SIZE, P(net_bytes) },
	{ "net_connections", LONG, P(net_conns) },
	{ "memory", SIZE, P(memory) },
	{ "network", BOOL, P(network) },
	{ "nofile", LONG, P(nofile) },
	{ "nproc", LONG, P(nproc) },
	{ "oci_runtime", PROG, P(oci_runtime) },
	{ "oci_runtime_flags", FLAGS, P(oci_flags) },
	{ "pids", LONG, P(pids) },
	{ "read_only", BOOL, P(read_only) },
	{ "repl", BOOL, P(repl) },
	{ "runtime", RUNTIME, P(runtime) },
	{ "timeout", DUR, P(timeout) },
	{ "tmpfs_size", SIZE, P(tmpfs) },
	{ "user", USER, P(user) },
	{ "workspace", WS, P(workspace) },
	{ "workspace_files", LONG, P(ws_files) },
	{ "workspace_size", SIZE, P(ws_size) },
#undef P
};

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define IDENT "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_"

static int
ref_id(const char *s)
{
	long long n;
	size_t i = digits(s, &n);

	return i > 0 && n <= INT_MAX;
}

/* A host name: labels of letters, digits and inner '-', 1 to 63
 * long, 253 in all. */
static int
ref_hostname(const char *s)
{
	const char *dot;
	size_t n;

	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (;;) {
		dot = strchr(s, '.');
		n = dot ? (size_t)(dot - s) : strlen(s);
		if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-' ||
		    strspn(s, ALNUM "-") != n)
			return 0;
		if (dot == NULL)
			return 1;
		s = dot + 1;
	}
}

/* HOST[:PORT][=ADDR] as sbx.ini(5) has it. */
static int
ref_host_entry(const char *s)
{
	unsigned char bin[16];
	char buf[512], *addr, *port, *host = buf;
	long long n;
	int wild;

	if (strlen(s) >= sizeof(buf))
		return 0;
	strcpy(buf, s);
	if ((addr = strchr(buf, '=')) != NULL) {
		*addr++ = '\0';
		if (strlen(addr) >= 64 || (inet_pton(AF_INET, addr, bin) != 1 &&
		    inet_pton(AF_INET6, addr, bin) != 1))
			return 0;
	}
	if ((port = strchr(buf, ':')) != NULL) {
		*port++ = '\0';
		if (digits(port, &n) == 0 || port[strspn(port, "0123456789")] ||
		    n < 1 || n > 65535)
			return 0;
	}
	if ((wild = strncmp(host, "*.", 2) == 0))
		host += 2;
	if (!ref_hostname(host) || (wild && addr))
		return 0;
	return !(inet_pton(AF_INET, buf, bin) == 1 && (wild || addr));
}

/* Whether a value of this kind is well formed; 1 for numbers whose
 * grammar is right (their ranges are policy.c's to decide). */
static int
ref_valid(enum kind k, const char *s)
{
	long long ll;
	long l;
	int b;
	char **v, **w;
	const char *c;

	switch (k) {
	case SIZE: return ref_size(s, &ll);
	case DUR: return ref_duration(s, &l);
	case CPUS: return ref_cpus(s, &l);
	case BOOL: return ref_bool(s, &b);
	case LONG: return digits(s, &ll) > 0 && s[strspn(s, "0123456789")]
	    == '\0';
	case STR: case NONE: return 1;
	case RUNTIME: return strcmp(s, "auto") == 0 ||
	    strcmp(s, "podman") == 0 || strcmp(s, "docker") == 0;
	case WS: return strcmp(s, "ro") == 0 || strcmp(s, "rw") == 0 ||
	    strcmp(s, "none") == 0;
	case USER:
		if (strcmp(s, "auto") == 0)	/* a uid of each run's own */
			return 1;
		if (!ref_id(s))
			return 0;
		c = s + strspn(s, "0123456789");
		if (*c == ':') {
			if (!ref_id(++c))
				return 0;
			c += strspn(c, "0123456789");
		}
		return *c == '\0';
	case IMAGE: return *s != '\0' && strchr(ALNUM, *s) &&
	    strlen(s) <= 255 && s[strspn(s, ALNUM "._/:@-")] == '\0';
	case PROG: return *s != '\0' && strchr(ALNUM "/", *s) &&
	    strlen(s) < 256 && s[strspn(s, ALNUM "._/-")] == '\0';
	case LIST:
		v = strv_split(s, " \t,");
		for (w = v; *w; w++)
			if (!strchr(IDENT, **w) ||
			    (*w)[strspn(*w, IDENT "0123456789.")] != '\0')
				break;
		b = *w == NULL;
		strv_free(v);
		return b;
	case FLAGS:
	case HOSTS:
		v = strv_split(s, " \t,");
		for (w = v; *w; w++)
			if (k == FLAGS ? !strchr(ALNUM, **w) || strlen(*w) > 255 ||
			    (*w)[strspn(*w, ALNUM "._=:/-")] != '\0' :
			    !ref_host_entry(*w))
				break;
		b = *w == NULL;
		strv_free(v);
		return b;
	}
	return 0;
}

/* A field's value as text, to see whether a set changed it. */
static char *
field_text(const struct policy *p, enum kind k, size_t off)
{
	const char *f = (const char *)p + off;
	char **v;
	char *s, *t;

	switch (k) {
	case SIZE: return smprintf("%lld", *(const long long *)f);
	case DUR: case CPUS: case LONG: return smprintf("%ld",
	    *(const long *)f);
	case BOOL: return smprintf("%d", *(const int *)f);
	case WS: return estrdup(workspace_name(p->workspace));
	case LIST:
	case FLAGS:
	case HOSTS:
		s = estrdup("");
		for (v = *(char **const *)f; *v; v++) {
			t = smprintf("%s%s ", s, *v);
			free(s);
			s = t;
		}
		return s;
	case NONE: return estrdup("");
	default: return estrdup(*(char *const *)f ? *(char *const *)f :
	    "(null)");
	}
}

/* What a taken value must be stored as. */
static char *
want_text(enum kind k, const char *s)
{
	long long ll = 0;
	long l = 0;
	int b = 0;
	char **v, **w, *t, *u;

	switch (k) {
	case SIZE: parse_size(s, &ll); return smprintf("%lld", ll);
	case DUR: parse_duration(s, &l); return smprintf("%ld", l);
	case CPUS: parse_cpus(s, &l); return smprintf("%ld", l);
	case LONG: digits(s, &ll); return smprintf("%lld", ll);
	case BOOL: parse_bool(s, &b); return smprintf("%d", b);
	case LIST:
	case FLAGS:
	case HOSTS:
		v = strv_split(s, " \t,");
		t = estrdup("");
		for (w = v; *w; w++) {
			u = smprintf("%s%s ", t, *w);
			free(t);
			t = u;
		}
		strv_free(v);
		return t;
	case NONE: return estrdup("");
	default: return estrdup(s);
	}
}

static void
check_set(struct policy *p, const char *s)
{
	char *before, *after, *want, head[128];
	const char *e;
	size_t i;
	int valid;

	for (i = 0; i < LEN(keys); i++) {
		before = field_text(p, keys[i].kind, keys[i].off);
		e = policy_set(p, keys[i].name, s);
		after = field_text(p, keys[i].kind, keys[i].off);
		valid = ref_valid(keys[i].kind, s);
		if (e == NULL) {
			if (!valid)
				fuzz_fail("policy_set(%s, '%.80s') took a "
				    "malformed value", keys[i].name, s);
			want = want_text(keys[i].kind, s);
			if (strcmp(after, want) != 0)
				fuzz_fail("policy_set(%s, '%.80s') stored "
				    "'%.80s', want '%.80s'", keys[i].name, s,
				    after, want);
			free(want);
		} else {
			/* Well-formed strings and words are always taken;
			 * numbers may be out of range. */
			if (valid && keys[i].kind != SIZE &&
			    keys[i].kind != DUR && keys[i].kind != CPUS &&
			    keys[i].kind != LONG)
				fuzz_fail("policy_set(%s, '%.80s') refused it: "
				    "%s", keys[i].name, s, e);
			if (strcmp(before, after) != 0)
				fuzz_fail("policy_set(%s, '%.80s') refused it "
				    "but changed '%.80s' to '%.80s'",
				    keys[i].name, s, before, after);
			snprintf(head, sizeof(head), "%s: invalid value '",
			    keys[i].name);
			if (strncmp(e, head, strlen(head)) != 0 ||
			    strlen(e) >= 512)
				fuzz_fail("policy_set(%s): message '%.200s'",
				    keys[i].name, e);
		}
		free(before);
		free(after);
	}
	for (i = 0; i < LEN(keys); i++)
		if (strcmp(keys[i].name, s) == 0)
			return;
	if ((e = policy_set(p, s, "1")) == NULL ||
	    strncmp(e, "unknown key '", 13) != 0)
		fuzz_fail("policy_set('%.80s', '1'): %s", s, e ? e : "taken");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	config_builtin(&cfg);	/* a die() here aborts: a bug */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy p;
	char *s = malloc(size + 1);

	memcpy(s, data, size);
	s[size] = '\0';
	check_parsers(s);
	if (!policy_resolve(&cfg, "default", &p))
		fuzz_fail("no [default] in the built-in configuration");
	check_set(&p, s);
	policy_free(&p);
	free(s);
	return 0;
}
