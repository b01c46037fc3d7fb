/*
 * fuzz_ini: the input as a configuration file, read by config_load()
 * as a user's file and (with -DFUZZ_SYSCONF, see tests/fuzz.sh) as the
 * system file, whose [ceiling] and [system] sections only it may have.
 *
 * A refused file must be refused with die("FILE:LINE: ..."), LINE a line
 * of the input; anything else (a crash, a leak, a die() whose text is
 * not that, a file taken as a user's file but refused as the system's)
 * fails.  A taken file then has every template resolved and checked for
 * sane limits, its JSON listing (policy_json) checked, its languages
 * looked up, config_list() run (stdout is /dev/null), and, for the
 * system file, policy_check() run on every template.  Nothing after a
 * successful load may die(), except policy_check() refusing a template.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx.h"
#include "tests/fuzz/fuzz.h"

#ifdef FUZZ_SYSCONF
#define SYSFILE SYSCONFDIR "/sbx/sbx.ini"
#endif

/* LeakSanitizer's, when it is linked in: weak, so that a build without
 * it (coverage, say) links too. */
#pragma weak __lsan_disable
#pragma weak __lsan_enable
void __lsan_disable(void);
void __lsan_enable(void);

static void
leaks_ignored(int on)
{
	if (on && __lsan_disable)
		__lsan_disable();
	else if (!on && __lsan_enable)
		__lsan_enable();
}

static char dir[4096], userfile[4096 + 16];

/* Written to file c, as static: setjmp must not lose it. */
static struct config cfg;
static struct policy pol;

static void
cleanup(void)
{
	unlink(userfile);
	rmdir(dir);
#ifdef FUZZ_SYSCONF
	unlink(SYSFILE);
	rmdir(SYSCONFDIR "/sbx");
	rmdir(SYSCONFDIR);
#endif
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/sbx-fuzz-ini.XXXXXX",
	    tmp && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		fuzz_fail("mkdtemp %s: %s", dir, strerror(errno));
	snprintf(userfile, sizeof(userfile), "%s/user.ini", dir);
#ifdef FUZZ_SYSCONF
	mkdir(SYSCONFDIR, 0700);
	if (mkdir(SYSCONFDIR "/sbx", 0700) < 0 && errno != EEXIST)
		fuzz_fail("mkdir %s/sbx: %s", SYSCONFDIR, strerror(errno));
#endif
	atexit(cleanup);
	/* config_list() writes JSON lines to stdout. */
	if (freopen("/dev/null", "w", stdout) == NULL)
		fuzz_fail("freopen /dev/null: %s", strerror(errno));
	return 0;
}

static void
put_file(const char *path, const uint8_t *d, size_t n)
{
	ssize_t w;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		fuzz_fail("open %s: %s", path, strerror(errno));
	for (; n > 0; d += w, n -= (size_t)w)
		if ((w = write(fd, d, n)) < 0)
			fuzz_fail("write %s: %s", path, strerror(errno));
	close(fd);
}

/* A refusal names the file and a line of it: "FILE:LINE: what". */
static void
check_refusal(const char *path, const uint8_t *d, size_t n)
{
	size_t plen = strlen(path), lines = 0, i;
	char *end;
	long line;

	for (i = 0; i < n; i++)
		lines += d[i] == '\n';
	if (n > 0 && d[n - 1] != '\n')
		lines++;
	if (strncmp(fuzz_msg, path, plen) != 0 || fuzz_msg[plen] != ':')
		fuzz_fail("refusal does not start with '%s:': %s", path,
		    fuzz_msg);
	line = strtol(fuzz_msg + plen + 1, &end, 10);
	if (end == fuzz_msg + plen + 1 || end[0] != ':' || end[1] != ' ' ||
	    end[2] == '\0')
		fuzz_fail("refusal is not 'FILE:LINE: what': %s", fuzz_msg);
	if (line < 1 || (size_t)line > lines)
		fuzz_fail("refusal names line %ld of a file of %zu lines: %s",
		    line, lines, fuzz_msg);
}

/* policy_check(): 1 if it lets the policy run, 0 if it refused it. */
static int
try_check(const struct config *c, const struct policy *p, const char *img)
{
	jmp_buf jb;

	/* A refusal leaks what policy_check() had allocated: sbx exits
	 * there.  Not counted as a leak. */
	leaks_ignored(1);
	fuzz_jmp = &jb;
	if (setjmp(jb)) {
		fuzz_jmp = NULL;
		leaks_ignored(0);
		return 0;
	}
	policy_check(c, p, img);
	fuzz_jmp = NULL;
	leaks_ignored(0);
	return 1;
}

static void
check_policy(const struct config *c, const struct policy *p,
    const char *name, int sys)
{
	struct jbuf j;
	const char *img;

	if (p->name == NULL || strcmp(p->name, name) != 0)
		fuzz_fail("template %s resolved as %s", name,
		    p->name ? p->name : "(null)");
	if (p->memory <= 0 || p->cpus <= 0 || p->pids <= 0 ||
	    p->timeout <= 0 || p->cpu_time < 0 || p->tmpfs <= 0 ||
	    p->nofile <= 0 || p->nproc <= 0 || p->fsize < 0 ||
	    p->max_output <= 0 || p->max_files <= 0 || p->max_bytes < 0 ||
	    p->memory > 1LL << 40 || p->tmpfs > 1LL << 40 ||
	    p->fsize > 1LL << 40 || p->max_output > 1LL << 40 ||
	    p->max_bytes > 1LL << 40)
		fuzz_fail("template %s: a limit out of range", name);
	if (p->runtime == NULL || (strcmp(p->runtime, "auto") != 0 &&
	    strcmp(p->runtime, "podman") != 0 &&
	    strcmp(p->runtime, "docker") != 0))
		fuzz_fail("template %s: runtime %s", name,
		    p->runtime ? p->runtime : "(null)");
	if (p->user == NULL || p->imports == NULL ||
	    (p->network != 0 && p->network != 1) ||
	    (p->read_only != 0 && p->read_only != 1) ||
	    (p->workspace != WS_RO && p->workspace != WS_RW &&
	    p->workspace != WS_NONE))
		fuzz_fail("template %s: a field unset or out of range", name);

	jb_begin(&j, "template");
	jb_str(&j, "name", p->name);
	jb_str(&j, "description", p->description);
	policy_json(&j, p);
	j.s = erealloc(j.s, j.len + 2);
	memcpy(j.s + j.len, "}", 2);
	j.len++;
	if (!json_valid(j.s, j.len))
		fuzz_fail("template %s: not valid JSON: %.400s", name, j.s);
	free(j.s);

	img = p->image ? p->image : c->langs ? c->langs->image : "sbx-python";
	if (!try_check(c, p, img)) {
		if (!sys)
			fuzz_fail("template %s: policy_check refused it with "
			    "no system file: %s", name, fuzz_msg);
		if (strchr(fuzz_msg, '\n') != NULL ||
		    fuzz_msg[strlen(fuzz_msg) - 1] != ')')
			fuzz_fail("policy_check refusal does not end with "
			    "'(FILE:LINE)': %s", fuzz_msg);
	}
}

/* A taken configuration: everything sbx may do with it, no die(). */
static void
use_config(struct config *c, int sys)
{
	const struct lang *l;
	char *names, **v, **t;
	const char *s;

	if (!sys && (c->ceiling != NULL || c->system != NULL))
		fuzz_fail("a user's file with [ceiling] or [system] taken");
	names = config_names(c);
	v = strv_split(names, ", ");
	free(names);
	for (t = v; *t; t++) {
		if (!policy_resolve(c, *t, &pol))
			fuzz_fail("config_names lists %s, policy_resolve "
			    "finds no such template", *t);
		check_policy(c, &pol, *t, sys);
		policy_free(&pol);
	}
	strv_free(v);
	if (policy_resolve(c, "no such template", &pol))
		fuzz_fail("policy_resolve found 'no such template'");
	for (l = c->langs; l; l = l->next) {
		if (l->command == NULL || l->command[0] == NULL ||
		    l->image == NULL || l->line < 1)
			fuzz_fail("[language %s] taken without command, "
			    "image or line", l->ext);
		if (lang_find(c, l->ext) != l)
			fuzz_fail("lang_find(%s) finds another", l->ext);
	}
	if ((s = system_value(c, "audit_log")) != NULL && *s != '/')
		fuzz_fail("audit_log '%s' taken, not an absolute path", s);
	system_value(c, "allowed_images");
	config_list(c);
	fflush(stdout);
}

/* 1 if the configuration was taken, 0 if refused as it should be. */
static int
load(const char *path, const uint8_t *d, size_t n, int sys)
{
	jmp_buf jb;

	fuzz_jmp = &jb;
	if (setjmp(jb)) {
		fuzz_jmp = NULL;
		fuzz_track = 0;
		fuzz_close_tracked();
		check_refusal(path, d, n);
		config_free(&cfg);
		return 0;
	}
	fuzz_track = 1;
	config_load(&cfg, path);
	fuzz_track = 0;
	fuzz_jmp = NULL;	/* from here, a die() is a bug */
	use_config(&cfg, sys);
	config_free(&cfg);
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int user;

	put_file(userfile, data, size);
	user = load(userfile, data, size, 0);
#ifdef FUZZ_SYSCONF
	put_file(SYSFILE, data, size);
	if (!load(SYSFILE, data, size, 1) && user)
		fuzz_fail("taken as a user's file, refused as the system "
		    "file: %s", fuzz_msg);
#else
	(void)user;
#endif
	return 0;
}
