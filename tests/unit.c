/* Unit tests for the pure parts: parsers, JSON encoding, templates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sbx.h"

static int failed;

static void
check(int ok, const char *what)
{
	printf("%s - unit: %s\n", ok ? "ok" : "not ok", what);
	failed += !ok;
}

static void
test_size(void)
{
	static const struct { const char *s; long long v; } good[] = {
		{ "0", 0 }, { "1024", 1024 }, { "64k", 65536 },
		{ "512m", 512LL << 20 }, { "1g", 1LL << 30 },
		{ "1G", 1LL << 30 }, { "1t", 1LL << 40 },
	};
	static const char *bad[] = { "", "1x", "-1", "1.5g", "g", "1gb",
		" 1", "1 ", "2t", "99999999999999999999", "1kk" };
	char what[128];
	long long v;
	size_t i;

	for (i = 0; i < LEN(good); i++) {
		snprintf(what, sizeof(what), "size '%s' is %lld", good[i].s,
		    good[i].v);
		check(parse_size(good[i].s, &v) && v == good[i].v, what);
	}
	for (i = 0; i < LEN(bad); i++) {
		snprintf(what, sizeof(what), "size '%s' is refused", bad[i]);
		check(!parse_size(bad[i], &v), what);
	}
}

static void
test_duration(void)
{
	static const struct { const char *s; long v; } good[] = {
		{ "30", 30 }, { "10s", 10 }, { "2m", 120 }, { "1h", 3600 },
		{ "0", 0 }, { "168h", 604800 },
	};
	static const char *bad[] = { "", "1x", "-5", "1.5", "s", "169h",
		"10ms", "1d" };
	char what[128];
	long v;
	size_t i;

	for (i = 0; i < LEN(good); i++) {
		snprintf(what, sizeof(what), "duration '%s' is %ld s",
		    good[i].s, good[i].v);
		check(parse_duration(good[i].s, &v) && v == good[i].v, what);
	}
	for (i = 0; i < LEN(bad); i++) {
		snprintf(what, sizeof(what), "duration '%s' is refused",
		    bad[i]);
		check(!parse_duration(bad[i], &v), what);
	}
}

static void
test_cpus_bool(void)
{
	long v;
	int b;

	check(parse_cpus("0.5", &v) && v == 500, "cpus '0.5' is 500/1000");
	check(parse_cpus("2", &v) && v == 2000, "cpus '2' is 2000/1000");
	check(parse_cpus("0.125", &v) && v == 125, "cpus '0.125' is 125");
	check(!parse_cpus("-1", &v), "cpus '-1' is refused");
	check(!parse_cpus("0.1234", &v), "cpus with 4 decimals is refused");
	check(!parse_cpus("1.", &v), "cpus '1.' is refused");
	check(!parse_cpus("", &v), "cpus '' is refused");
	check(parse_bool("yes", &b) && b == 1, "bool 'yes' is true");
	check(parse_bool("off", &b) && b == 0, "bool 'off' is false");
	check(!parse_bool("maybe", &b), "bool 'maybe' is refused");
	check(!parse_bool("", &b), "bool '' is refused");
}

static int
escapes(const char *in, size_t n, const char *want)
{
	struct jbuf j = { NULL, 0, 0, 1 };
	int ok;

	jb_escape(&j, in, n);
	ok = strcmp(j.s, want) == 0;
	if (!ok)
		printf("# got %s want %s\n", j.s, want);
	free(j.s);
	return ok;
}

static void
test_json(void)
{
	check(escapes("a\"b\\c", 5, "\"a\\\"b\\\\c\""), "json quotes");
	check(escapes("\n\t\r\x01\x1f", 5, "\"\\n\\t\\r\\u0001\\u001f\""),
	    "json control characters");
	check(escapes("x\0y", 3, "\"x\\u0000y\""), "json NUL byte");
	check(escapes("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
	    "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""), "json valid UTF-8 kept");
	check(escapes("\xff", 1, "\"\\ufffd\""), "json byte 0xff replaced");
	check(escapes("\xc0\xaf", 2, "\"\\ufffd\\ufffd\""),
	    "json overlong form replaced");
	check(escapes("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""),
	    "json surrogate replaced");
	check(escapes("\xf4\x90\x80\x80", 4,
	    "\"\\ufffd\\ufffd\\ufffd\\ufffd\""), "json past U+10FFFF replaced");
	check(escapes("\xe2\x82", 2, "\"\\ufffd\""),
	    "json cut sequence: one U+FFFD, as Python's decoder gives");
	check(escapes("a\xf0\x9f\x98" "b\xe2\x82", 7,
	    "\"a\\ufffdb\\ufffd\""), "json cut sequences amid text");
	check(escapes("\x7f", 1, "\"\x7f\""), "json DEL kept");
	check(escapes("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c\xc2\x85", 11,
	    "\"a\\u2028b\\u2029c\\u0085\""),
	    "json U+2028, U+2029 and U+0085 escaped: one event, one line");
	check(utf8_tail("ab\xe2\x82", 4) == 2, "utf8_tail holds a cut euro");
	check(utf8_tail("ab\xf0", 3) == 1, "utf8_tail holds a lead byte");
	check(utf8_tail("ab\xe2\x82\xac", 5) == 0, "utf8_tail: complete");
	check(utf8_tail("ab\xff", 3) == 0, "utf8_tail: invalid not held");
	check(utf8_tail("", 0) == 0, "utf8_tail: empty");
}

static void
test_fixed(void)
{
	struct jbuf j;

	jb_begin(&j, "x");
	jb_fixed(&j, "a", 1500, 3);
	jb_fixed(&j, "b", 5, 3);
	jb_int(&j, "c", -2);
	jb_null(&j, "d");
	jb_bool(&j, "e", 1);
	check(strcmp(j.s, "{\"event\":\"x\",\"a\":1.500,\"b\":0.005,"
	    "\"c\":-2,\"d\":null,\"e\":true") == 0, "json numbers");
	free(j.s);
}

static void
test_policy(const char *ini)
{
	struct config c;
	struct policy p;

	config_load(&c, ini);
	check(policy_resolve(&c, "child", &p), "template 'child' resolves");
	check(p.memory == 256LL << 20, "child sets memory");
	check(p.timeout == 7, "child inherits timeout from parent");
	check(p.pids == 99, "parent inherits pids from default");
	check(p.cpus == 1000, "unset cpus has the base value");
	check(p.workspace == WS_RW, "workspace rw");
	check(strv_len(p.imports) == 2 && strcmp(p.imports[1], "re") == 0,
	    "authorized_imports is a list");
	check(policy_set(&p, "memory", "1x") != NULL, "override 1x refused");
	check(policy_set(&p, "cpus", "0") != NULL, "cpus 0 refused");
	check(policy_set(&p, "memory", "1m") != NULL, "memory 1m refused");
	check(policy_set(&p, "bogus", "1") != NULL, "unknown key refused");
	check(policy_set(&p, "user", "1000:1000") == NULL, "user uid:gid");
	check(policy_set(&p, "user", "root") != NULL, "user name refused");
	check(policy_set(&p, "image", "-x") != NULL, "image '-x' refused");
	policy_free(&p);
	check(!policy_resolve(&c, "nope", &p), "unknown template");
	check(lang_find(&c, "py") != NULL &&
	    strcmp(lang_find(&c, "py")->command[0], "python3") == 0,
	    "language py");
	config_free(&c);
	config_builtin(&c);
	check(policy_resolve(&c, "secure", &p) && p.memory == 512LL << 20 &&
	    p.timeout == 15 && !p.network, "built-in secure template");
	policy_free(&p);
	check(policy_resolve(&c, "web", &p) && p.network,
	    "built-in web template has network");
	policy_free(&p);
	config_free(&c);
}

/* Writes text to dir/name; returns the path, caller frees. */
static char *
put(const char *dir, const char *name, const char *text)
{
	char *path = smprintf("%s/%s", dir, name);
	FILE *f;

	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) == EOF)
		check(0, "layers: write a config file");
	return path;
}

/* A template's number of key k, resolved, or -1 if there is none. */
static long long
limit(const struct config *c, const char *name, const char *k)
{
	struct policy p;
	long long v;

	if (!policy_resolve(c, name, &p))
		return -1;
	v = strcmp(k, "memory") == 0 ? p.memory : strcmp(k, "timeout") == 0 ?
	    p.timeout : strcmp(k, "cpus") == 0 ? p.cpus : strcmp(k,
	    "cpu_time") == 0 ? p.cpu_time : strcmp(k, "pids") == 0 ? p.pids :
	    strcmp(k, "imports") == 0 ? (long long)strv_len(p.imports) : -2;
	policy_free(&p);
	return v;
}

static int
has_lang(const struct config *c, const char *ext, const char *cmd,
    const char *image)
{
	const struct lang *l = lang_find(c, ext);

	return l && (cmd == NULL || strcmp(l->command[0], cmd) == 0) &&
	    (image == NULL || strcmp(l->image, image) == 0);
}

/*
 * config_find's layers: the base (the system file, or the built-in
 * copy), the user's file in $XDG_CONFIG_HOME, then -c or $SBX_CONFIG,
 * each changing or adding templates key by key.
 */
static void
test_layers(void)
{
	char dir[] = "/tmp/sbx-unit-XXXXXX", *sub, *user, *opt, *env, *f;
	struct config base, c;
	size_t n;

	if (mkdtemp(dir) == NULL) {
		check(0, "layers: temp directory");
		return;
	}
	unsetenv("SBX_CONFIG");
	setenv("XDG_CONFIG_HOME", dir, 1);
	config_find(&base, NULL);	/* no user file yet */
	sub = smprintf("%s/sbx", dir);
	mkdir(sub, 0700);
	user = put(sub, "sbx.ini", "[mine]\nmemory = 64m\n");
	config_find(&c, NULL);
	check(limit(&c, "mine", "memory") == 64LL << 20 &&
	    limit(&c, "mine", "timeout") == limit(&base, "default", "timeout"),
	    "layers: a user's template is added and inherits [default]");
	check(limit(&c, "default", "memory") == limit(&base, "default",
	    "memory") && limit(&c, "secure", "timeout") == 15,
	    "layers: a user's file keeps [default] and [secure]");
	check(has_lang(&c, "py", "python3", NULL) && has_lang(&c, "sh", "sh",
	    NULL) && has_lang(&c, "js", "node", NULL),
	    "layers: a user's file keeps the py, sh and js languages");
	check(strcmp(c.path, user) == 0 && strv_len(c.files) == 2 &&
	    strcmp(c.files[1], user) == 0, "layers: path is the user's file");
	config_free(&c);

	free(put(sub, "sbx.ini", "[secure]\ntimeout = 20\n"));
	config_find(&c, NULL);
	check(limit(&c, "secure", "timeout") == 20,
	    "layers: a user's [secure] sets timeout");
	check(limit(&c, "secure", "memory") == limit(&base, "secure",
	    "memory") && limit(&c, "secure", "cpu_time") == limit(&base,
	    "secure", "cpu_time") && limit(&c, "secure", "pids") ==
	    limit(&base, "secure", "pids") && limit(&c, "secure", "imports") ==
	    limit(&base, "secure", "imports"),
	    "layers: a user's [secure] keeps its other keys");
	config_free(&c);

	opt = put(dir, "opt.ini", "[secure]\ncpus = 2\n[y]\ntimeout = 3\n"
	    "[language py]\nimage = my-python\n[language rb]\n"
	    "command = ruby\nimage = sbx-ruby\n");
	free(put(sub, "sbx.ini", "[secure]\ntimeout = 20\n[x]\ninherit = y\n"));
	config_find(&c, opt);
	check(limit(&c, "secure", "timeout") == 20 &&
	    limit(&c, "secure", "cpus") == 2000 && limit(&c, "secure",
	    "memory") == limit(&base, "secure", "memory"),
	    "layers: -c over the user's file over the base");
	check(limit(&c, "x", "timeout") == 3,
	    "layers: inherit resolves over the merged layers");
	check(has_lang(&c, "py", "python3", "my-python") &&
	    has_lang(&c, "rb", "ruby", "sbx-ruby") && has_lang(&c, "sh", "sh",
	    NULL), "layers: -c changes one key of a language, adds another");
	check(strcmp(c.path, opt) == 0 && strv_len(c.files) == 3,
	    "layers: path is the -c file");
	f = config_files(&c);
	n = strlen(f) - strlen(opt);
	check(strlen(f) > strlen(opt) && strcmp(f + n, opt) == 0 &&
	    strstr(f, user) != NULL, "layers: config_files names each layer");
	free(f);
	config_free(&c);

	free(put(sub, "sbx.ini", "[secure]\ntimeout = 20\n"));
	env = put(dir, "env.ini", "[envt]\npids = 5\n");
	setenv("SBX_CONFIG", env, 1);
	config_find(&c, NULL);
	check(limit(&c, "envt", "pids") == 5 && limit(&c, "secure",
	    "timeout") == 20, "layers: $SBX_CONFIG over the user's file");
	config_free(&c);
	config_find(&c, opt);
	check(limit(&c, "envt", "pids") == -1 && limit(&c, "y", "timeout") == 3,
	    "layers: -c replaces $SBX_CONFIG");
	config_free(&c);
	config_find(&c, user);	/* the user's file again: read once */
	check(strv_len(c.files) == 2 && limit(&c, "secure", "timeout") == 20,
	    "layers: a file named twice is read once");
	config_free(&c);
	unsetenv("SBX_CONFIG");
	unsetenv("XDG_CONFIG_HOME");
	config_free(&base);
	unlink(env);
	unlink(opt);
	unlink(user);
	rmdir(sub);
	rmdir(dir);
	free(env);
	free(opt);
	free(user);
	free(sub);
}

static void
test_sha256(void)
{
	char path[] = "/tmp/sbx-unit-XXXXXX", out[65];
	FILE *f;
	int fd;

	if ((fd = mkstemp(path)) < 0 || (f = fdopen(fd, "w")) == NULL) {
		check(0, "sha256: temp file");
		return;
	}
	fputs("abc", f);
	fclose(f);
	check(sha256_file("/tmp", path + 5, out) && strcmp(out, "ba7816bf8f01cfea4141"
	    "40de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	    "sha256 of 'abc' (FIPS 180-2 example)");
	check(!sha256_file("/", "dev/zero", out),
	    "sha256: not of a file that is not regular");
	unlink(path);
}

static int
compacts(const char *in, const char *want)
{
	struct jbuf j;
	int ok = json_compact(in, strlen(in), &j);

	ok = want ? ok && strcmp(j.s, want) == 0 : !ok;
	if (!ok)
		printf("# %s gave %s\n", in, j.s ? j.s : "(null)");
	free(j.s);
	return ok;
}

static void
test_compact(void)
{
	check(compacts(" { \"a\" : [1, 2.5e-3, -0, true, null] }\n",
	    "{\"a\":[1,2.5e-3,-0,true,null]}"), "json value compacted");
	check(compacts("\"x\\u00e9\\n\xc3\xa9\"", "\"x\\u00e9\\n\xc3\xa9\""),
	    "json string with escapes and UTF-8 kept");
	check(compacts("[]", "[]") && compacts("{}", "{}"), "json empty ones");
	check(compacts("[\"a\xe2\x80\xa8" "b\xc3\xa9\"]",
	    "[\"a\\u2028b\xc3\xa9\"]"), "json value: U+2028 escaped, e-acute kept");
	check(compacts("", NULL), "json: empty text refused");
	check(compacts("{bad", NULL), "json: unclosed object refused");
	check(compacts("[1,]", NULL), "json: trailing comma refused");
	check(compacts("01", NULL), "json: leading zero refused");
	check(compacts("1 2", NULL), "json: two values refused");
	check(compacts("\"a\nb\"", NULL), "json: raw newline in a string");
	check(compacts("\"\xff\"", NULL), "json: invalid UTF-8 refused");
	check(compacts("\"\\x\"", NULL), "json: bad escape refused");
	check(compacts("tru", NULL), "json: cut literal refused");
}

/* allow_hosts entries as sbx.ini(5) has them, and what each lets by. */
static void
test_allow(void)
{
	static const char *good[] = { "pypi.org", "pypi.org:443",
		"*.example.org", "*.example.org:8443", "ok.test:8080=127.0.0.1",
		"ok.test=::1", "10.0.0.5:80", "a-b.c0", "X.ORG" };
	static const char *bad[] = { "", ":80", "pypi.org:", "pypi.org:0",
		"pypi.org:65536", "pypi.org:+80", "pypi.org:80:81", "-a.org",
		"a-.org", "a..org", "a.org.", "*.", "*", "a.*.org", "*.a.org=1.2.3.4",
		"a.org=1.2.3", "a.org=host", "a_b.org", "10.0.0.5=1.2.3.4",
		"[::1]:80", "a.org:80=", "a.org/x", "a.org=1.2.3.4=5" };
	static const struct { const char *e, *host; int port, ok; } m[] = {
		{ "pypi.org", "pypi.org", 443, 1 },
		{ "pypi.org", "pypi.org", 80, 1 },
		{ "pypi.org", "pypi.org", 8080, 0 },
		{ "pypi.org:8080", "pypi.org", 8080, 1 },
		{ "pypi.org:8080", "pypi.org", 443, 0 },
		{ "pypi.org", "files.pypi.org", 443, 0 },
		{ "pypi.org", "xpypi.org", 443, 0 },
		{ "*.example.org", "a.example.org", 443, 1 },
		{ "*.example.org", "a.b.example.org", 443, 1 },
		{ "*.example.org", "example.org", 443, 0 },
		{ "*.example.org", "aexample.org", 443, 0 },
		{ "*.example.org", "example.org.evil", 443, 0 },
		{ "X.ORG", "x.org", 443, 1 },
	};
	struct allow a;
	char what[128];
	size_t i;

	for (i = 0; i < LEN(good); i++) {
		snprintf(what, sizeof(what), "allow_hosts '%s' is an entry",
		    good[i]);
		check(allow_entry(good[i], &a), what);
	}
	for (i = 0; i < LEN(bad); i++) {
		snprintf(what, sizeof(what), "allow_hosts '%s' is refused",
		    bad[i]);
		check(!allow_entry(bad[i], &a), what);
	}
	check(allow_entry("ok.test:8080=127.0.0.1", &a) &&
	    strcmp(a.addr, "127.0.0.1") == 0 && a.port == 8080,
	    "allow_hosts: a mapped entry keeps its address and port");
	check(allow_entry("10.0.0.5:80", &a) && strcmp(a.addr, "10.0.0.5") == 0,
	    "allow_hosts: an address is its own mapping");
	check(allow_entry("pypi.org", &a) && *a.addr == '\0' && a.port == 0,
	    "allow_hosts: a name alone is resolved, ports 80 and 443");
	for (i = 0; i < LEN(m); i++) {
		snprintf(what, sizeof(what), "allow_hosts '%s' %s %s:%d",
		    m[i].e, m[i].ok ? "lets by" : "refuses", m[i].host,
		    m[i].port);
		check(allow_entry(m[i].e, &a) &&
		    allow_match(&a, m[i].host, m[i].port) == m[i].ok, what);
	}
}

int
main(int argc, char *argv[])
{
	if (argc != 2) {
		fprintf(stderr, "usage: unit tests/unit.ini\n");
		return 2;
	}
	test_size();
	test_duration();
	test_cpus_bool();
	test_json();
	test_fixed();
	test_policy(argv[1]);
	test_layers();
	test_sha256();
	test_compact();
	test_allow();
	return 0;
}
