/* Unit tests for the pure parts: parsers, JSON encoding, templates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
	check(escapes("\xe2\x82", 2, "\"\\ufffd\\ufffd\""),
	    "json cut sequence replaced");
	check(escapes("\x7f", 1, "\"\x7f\""), "json DEL kept");
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
	check(sha256_file(path, out) && strcmp(out, "ba7816bf8f01cfea4141"
	    "40de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
	    "sha256 of 'abc' (FIPS 180-2 example)");
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
	test_sha256();
	test_compact();
	return 0;
}
