/* See LICENSE file for copyright and license details. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/*
 * sbx: usage, options, the command table and main; and the run, as the
 * pipeline config -> policy -> shadow copy -> container argv -> child
 * -> events -> result.  Every step lives in the file of its concern;
 * nothing calls into this file.
 */

/* What the command line asked for, before the template is known. */
struct opts {
	const char *config;
	const char *tmpl;
	const char *dir;
	const char *ext;
	const char *override[32][2];	/* policy key, value */
	size_t noverride;
	int opt[32];			/* the option of each override */
	const char *runtime;		/* -r, for gc and -L */
	const char *pool;		/* -P */
	const char *timeout;		/* -T, for -P */
	long size;			/* sbx pool start -n */
	int runopts;			/* an option only a run takes */
	int made;			/* an option a pool's containers fix */
	int dryrun, keep, list, langs, diff;
	int extract, all;		/* -x, --all */
	long block;			/* --block, or 0 */
	int human;			/* --human 1, --json 0, else -1 */
	char *script;
	char **args;
};

static void usage(int status) NORETURN;

static void
usage(int status)
{
	fprintf(stderr, "usage: %s [-DhkLlnuV] [--human | --json] "
	    "[--allow-host host] [-c config]\n           [-d dir] [-e ext] "
	    "[-i image] [-m memory] [-p cpus] [-r runtime]\n           "
	    "[-T timeout] [-t template] [-w mode] script [arg ...]\n"
	    "       %s -x [--all | --block n] [run options] reply "
	    "[arg ...]\n"
	    "       %s start [-Dn] [--repl] [-c config] [-d dir] [-e ext] "
	    "[-i image]\n           [-m memory] [-p cpus] [-r runtime] "
	    "[-T timeout] [-t template] [-w mode]\n"
	    "       %s exec [--human | --json] [-c config] [-e ext] "
	    "[-T timeout] id\n           script [arg ...]\n"
	    "       %s stop id\n       %s ls\n"
	    "       %s diff [-j] target [pattern ...]\n"
	    "       %s apply [-n] target [pattern ...]\n"
	    "       %s -P pool [-ku] [-c config] [-d dir] [-e ext] [-T timeout] "
	    "script\n           [arg ...]\n"
	    "       %s pool start name [-D] [-c config] [-e ext] [-i image] "
	    "[-m memory]\n           [-n size] [-p cpus] [-r runtime] "
	    "[-T timeout] [-t template] [-w mode]\n"
	    "       %s pool ls\n       %s pool stop name\n"
	    "       %s batch [-j jobs] [--input file] [--resume file]\n"
	    "           [--slurm [--slurm-args args]] [run-option ...] script "
	    "dir ...\n"
	    "       %s ps [-r runtime]\n"
	    "       %s [-r runtime] gc\n", argv0, argv0, argv0, argv0, argv0, argv0,
	    argv0, argv0, argv0, argv0, argv0, argv0, argv0, argv0, argv0);
	exit(status);
}

/* --diff reads better in a script than -u; the others have no letter. */
enum { OPT_REPL = 256, OPT_HUMAN, OPT_JSON, OPT_ALL, OPT_BLOCK,
	OPT_ALLOW_HOST };

static const struct option longopts[] = {
	{ "all", no_argument, NULL, OPT_ALL },
	{ "allow-host", required_argument, NULL, OPT_ALLOW_HOST },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "diff", no_argument, NULL, 'u' },
	{ "human", no_argument, NULL, OPT_HUMAN },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "repl", no_argument, NULL, OPT_REPL },
	{ NULL, 0, NULL, 0 }
};

/* An option as the user gave it, for a message. */
static const char *
opt_name(int c)
{
	static char s[3] = "-?";

	if (c == OPT_ALLOW_HOST)
		return "--allow-host";
	s[1] = (char)c;
	return s;
}

static void
override(struct opts *o, int c, const char *key, const char *val)
{
	if (o->noverride == LEN(o->override))
		die("%s: too many options", opt_name(c));
	o->opt[o->noverride] = c;
	o->override[o->noverride][0] = key;
	o->override[o->noverride++][1] = val;
}

/* What the options are parsed for: a run, sbx start, sbx pool start. */
enum { FOR_RUN, FOR_START, FOR_POOL };

static void
parse_args(int argc, char *argv[], struct opts *o, int what)
{
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	o->tmpl = "default";
	o->dir = ".";
	o->size = 2;
	o->human = -1;
	/* "+": the script and its arguments are not ours to permute. */
	while ((c = getopt_long(argc, argv, what == FOR_POOL ?
	    "+c:De:hi:m:n:p:r:T:t:w:" : "+c:Dd:e:hi:kLlm:nP:p:r:T:t:uVw:x",
	    longopts, NULL)) != -1) {
		/* "gc" with any of these is a script's name, not ours. */
		o->runopts |= c >= OPT_REPL || strchr("DdeikmnPpTtuwx", c);
		if ((c == OPT_ALLOW_HOST || (c < OPT_REPL &&
		    strchr("Dimnprtw", c) != NULL)) && !o->made)
			o->made = c;
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'D': o->dryrun = 1; break;
		case 'd': o->dir = optarg; break;
		case 'e': o->ext = optarg; break;
		case 'h':
			usage(0);
		case 'i': override(o, c, "image", optarg); break;
		case 'k': o->keep = 1; break;
		case 'L': o->langs = 1; break;
		case 'l': o->list = 1; break;
		case 'm': override(o, c, "memory", optarg); break;
		case 'n':
			if (what != FOR_POOL) {
				override(o, c, "network", "true");
				break;
			}
			o->size = strspn(optarg, "0123456789") ==
			    strlen(optarg) && strlen(optarg) < 4 ?
			    atol(optarg) : 0;
			if (o->size < 1 || o->size > POOL_MAX)
				die("-n %s: not a pool size from 1 to %d",
				    optarg, POOL_MAX);
			break;
		case 'P': o->pool = optarg; break;
		case OPT_HUMAN:
		case OPT_JSON:
			if (what != FOR_RUN)
				die("--%s: for runs and sbx exec only",
				    c == OPT_HUMAN ? "human" : "json");
			o->human = c == OPT_HUMAN;
			break;
		case OPT_REPL:
			if (what != FOR_START)
				die("--repl: for sbx start only");
			override(o, 'R', "repl", "true");
			break;
		case 'p': override(o, c, "cpus", optarg); break;
		case 'r':
			o->runtime = optarg;
			override(o, c, "runtime", optarg);
			break;
		case 'T':
			o->timeout = optarg;
			override(o, c, "timeout", optarg);
			break;
		case 't': o->tmpl = optarg; break;
		case 'u': o->diff = 1; break;
		case 'V':
			printf("sbx %s\n", VERSION);
			exit(0);
		case 'w': override(o, c, "workspace", optarg); break;
		case 'x': o->extract = 1; break;
		case OPT_ALL: o->all = 1; break;
		case OPT_ALLOW_HOST:
			override(o, c, "allow_hosts", optarg);
			break;
		case OPT_BLOCK:
			o->block = strspn(optarg, "0123456789") ==
			    strlen(optarg) && strlen(optarg) < 6 ?
			    atol(optarg) : 0;
			if (o->block < 1)
				die("--block %s: not a block number from 1",
				    optarg);
			break;
		default:
			usage(EXIT_FAIL);
		}
	}
	if ((o->list || o->langs) && what == FOR_RUN)
		return;
	if (o->pool && o->made)
		die("%s: a pool's containers are made already: give it to "
		    "sbx pool start", opt_name(o->made));
	if (what != FOR_RUN) {
		if (optind < argc || o->keep || o->diff || o->list ||
		    o->langs || o->extract || o->all || o->block)
			usage(EXIT_FAIL);
		return;
	}
	if ((o->all || o->block) && !o->extract)
		die("--%s: for -x only", o->all ? "all" : "block");
	if (o->all && o->block)
		die("--all and --block: one or the other");
	if (optind >= argc)
		usage(EXIT_FAIL);
	o->script = argv[optind];
	o->args = argv + optind + 1;
}

/* Template, then the command line's overrides, each validated. */
static void
make_policy(const struct config *cfg, const struct opts *o, struct policy *p)
{
	const char *e;
	char *names, *list;
	size_t i;

	if (!policy_resolve(cfg, o->tmpl, p)) {
		names = config_names(cfg);
		die("unknown template '%s' in %s (available: %s)", o->tmpl,
		    cfg->path, names);
	}
	for (i = 0; i < o->noverride; i++) {
		/* --allow-host adds to the template's list. */
		if (o->opt[i] == OPT_ALLOW_HOST) {
			names = strv_join(p->allow_hosts, ",");
			list = smprintf("%s%s%s", names, *names ? "," : "",
			    o->override[i][1]);
			free(names);
			e = policy_set(p, "allow_hosts", list);
			free(list);
		} else {
			e = policy_set(p, o->override[i][0],
			    o->override[i][1]);
		}
		if (e)
			die("%s: %s", opt_name(o->opt[i]), e);
	}
}

/* -D: the exact argv, with the temp dir's name left as its pattern. */
static int
dry_run(struct job *jb, char *dir)
{
	char **argv;

	layout_set(&jb->lay, dir);
	event_argv(argv = backend_argv(jb));
	strv_free(argv);
	return 0;
}

/*
 * The run: each step a call, cleanup armed before anything is made.
 * The container's argv is built once the shadow copy and /sbx exist;
 * the result is read from what the container left in /sbx/out and, in
 * rw mode, from the shadow.
 */
static int
run(const struct config *cfg, struct job *jb)
{
	struct compile cp;
	struct result r;
	char **argv, *id = NULL;
	int audit;

	audit = audit_open(system_value(cfg, "audit_log"));
	job_cleanup(jb);
	rundir_make(&jb->lay);
	rundir_marks(&jb->lay, jb->ctr.name);
	make_shadow(jb);
	stage(jb);
	argv = backend_argv(jb);
	if (audit >= 0)
		id = backend_image_id(&jb->ctr, jb->image);
	jb->ctr.net = proxy_start(&jb->pol, jb->lay.sbx, jb->ctr.name, audit);
	event_start(jb);
	audit_write(audit, jb, NULL, id);
	result_init(&r);
	memset(&cp, 0, sizeof(cp));
	cp.key = jb->ctr.key;
	cp.timeout = jb->pol.compile_timeout;
	cp.max = jb->pol.compile_output;
	backend_run(jb, argv, jb->lang->compile ? &cp : NULL, &r);
	proxy_stop(jb->ctr.net);
	jb->ctr.net = NULL;
	free(cp.out[0].s);
	free(cp.out[1].s);
	read_out(jb, &r);
	if (jb->pol.workspace == WS_RW && !sbx_signalled())
		report_changes(jb, &r);
	event_result(jb, &r);
	audit_write(audit, jb, &r, id);
	job_end(jb);
	free(r.value);
	free(id);
	strv_free(argv);
	return r.status;
}

/*
 * sbx -P pool: the run, in a container of the pool that nobody used,
 * as one step of its supervisor (step.c), with what a run's start and
 * result say; then that container ends, and a new one is started for
 * the pool in the background.  No ready container: a cold run.
 */
static int
pooled(const struct config *cfg, struct job *jb)
{
	struct result r;
	struct step sp;
	char *id = NULL;
	int audit, lock;

	if ((lock = pool_claim(jb, &sp, &id)) < 0) {
		r.status = run(cfg, jb);
		pool_done(-1);
		return r.status;
	}
	audit = audit_open(system_value(cfg, "audit_log"));
	job_cleanup(jb);
	stage_claimed(jb);
	/* Asked at the slot's start, as for a session's step; again only
	 * if the audit log came since. */
	if (audit >= 0 && id == NULL)
		id = backend_image_id(&jb->ctr, jb->image);
	event_start(jb);
	audit_write(audit, jb, NULL, id);
	result_init(&r);
	sp.alone = 1;
	step_write(&sp, jb, NULL, jb->pol.timeout);
	if (step_compile(&jb->ctr, &sp, jb, NULL, jb->pol.timeout, &r) == 0)
		step_go(jb, &sp, jb->pol.timeout, audit, &r);
	/* Used once: its supervisor ends, and --rm takes the container. */
	if (channel_stop(&jb->lay) == 0)
		jb->ctr.started = 0;
	read_out(jb, &r);
	if (jb->pol.workspace == WS_RW && !sbx_signalled())
		report_changes(jb, &r);
	if (jb->keep)
		pool_keep(jb);
	event_result(jb, &r);
	audit_write(audit, jb, &r, id);
	if (jb->ctr.started || jb->keep)
		job_end(jb);
	else
		pool_leave(jb);	/* the refill removes its directory */
	pool_done(lock);
	free(r.value);
	free(id);
	return r.status;
}

/*
 * -x: the script is the code of a model's reply (extract.c), staged as
 * a script on stdin is, in its language; the reply read from stdin
 * leaves the script none.
 */
static void
reply_code(const struct config *cfg, struct opts *o, struct job *jb)
{
	if (!o->extract)
		return;
	jb->code = extract(cfg, o->script, jb->pol.max_bytes, o->ext,
	    o->block, o->all, &o->ext);
	jb->code_stdin = strcmp(o->script, "-") == 0;
	o->script = "-";
}

/*
 * sbx [options] script [arg ...], and the forms that share its options:
 * -l, -L, and "[-r runtime] gc", sbx gc as sbx(1) has always spelt it.
 */
static int
cmd_run(int argc, char *argv[])
{
	struct opts o;
	struct config cfg;
	struct job jb;
	int status;

	parse_args(argc, argv, &o, FOR_RUN);
	config_find(&cfg, o.config);
	memset(&jb, 0, sizeof(jb));
	if (o.list) {
		config_list(&cfg);
		status = 0;
	} else if (o.langs) {
		status = langs_list(&cfg, o.runtime);
	} else if (strcmp(o.script, "gc") == 0 && *o.args == NULL &&
	    !o.runopts) {
		status = gc(o.runtime);
	} else if (o.pool) {
		human_choose(o.human);
		pool_job(&cfg, &jb, o.pool, o.timeout, o.config);
		reply_code(&cfg, &o, &jb);
		job_run(&cfg, &jb, o.dir, o.script, o.ext, 0);
		jb.args = o.args;
		jb.keep = o.keep;
		jb.diff = o.diff;
		status = pooled(&cfg, &jb);
	} else {
		human_choose(o.dryrun ? 0 : o.human);
		make_policy(&cfg, &o, &jb.pol);
		reply_code(&cfg, &o, &jb);
		job_run(&cfg, &jb, o.dir, o.script, o.ext, o.dryrun);
		jb.args = o.args;
		jb.keep = o.keep;
		jb.diff = o.diff;
		if (jb.diff && jb.pol.workspace != WS_RW)
			event_msg("warning", "-u: the workspace is %s, not rw: "
			    "no changes to show",
			    workspace_name(jb.pol.workspace));
		status = o.dryrun ? dry_run(&jb, rundir_pattern()) :
		    run(&cfg, &jb);
	}
	job_free(&jb);
	config_free(&cfg);
	return status;
}

/* sbx start [options]: a run's options, less the script. */
static int
cmd_start(int argc, char *argv[])
{
	struct opts o;
	struct config cfg;
	struct job jb;
	int status = 0;

	parse_args(argc, argv, &o, FOR_START);
	config_find(&cfg, o.config);
	memset(&jb, 0, sizeof(jb));
	make_policy(&cfg, &o, &jb.pol);
	job_session(&cfg, &jb, o.dir, o.ext, o.dryrun);
	if (o.dryrun) {
		jb.session = "XXXXXXXXXXXX";
		snprintf(jb.ctr.name, sizeof(jb.ctr.name), "sbx-session-%s",
		    jb.session);
		status = dry_run(&jb, session_dir(jb.session));
		jb.session = NULL;
	} else {
		status = session_start(&cfg, &jb);
	}
	job_free(&jb);
	config_free(&cfg);
	return status;
}

/* sbx pool start NAME [options]: sbx start's options, -n its size. */
static int
cmd_pool_start(int argc, char *argv[])
{
	struct opts o;
	struct config cfg;
	struct job jb;
	const char *name;
	int status = 0;

	if (argc < 2)
		return EXIT_USAGE;
	if (!pool_name_ok(name = argv[1]))
		die("%s: not a pool name (1 to 32 letters, digits, '_', '-' "
		    "or '.', a letter or digit first)", name);
	argv[1] = (char *)argv0;	/* what getopt's messages name */
	parse_args(argc - 1, argv + 1, &o, FOR_POOL);
	config_find(&cfg, o.config);
	memset(&jb, 0, sizeof(jb));
	make_policy(&cfg, &o, &jb.pol);
	jb.pool = name;
	job_session(&cfg, &jb, NULL, o.ext, o.dryrun);
	if (o.dryrun) {
		jb.session = "XXXXXXXXXXXX";
		snprintf(jb.ctr.name, sizeof(jb.ctr.name), "sbx-pool-%s-%s",
		    jb.pool, jb.session);
		status = dry_run(&jb, smprintf("%s/" POOL_PREFIX "%s/%s",
		    tmpdir(), jb.pool, jb.session));
		jb.session = NULL;
	} else {
		status = pool_start(&cfg, &jb, o.ext, o.size);
	}
	job_free(&jb);
	config_free(&cfg);
	return status;
}

/* sbx pool start|ls|stop|fill */
static int
cmd_pool(int argc, char *argv[])
{
	if (argc < 2)
		return EXIT_USAGE;
	if (strcmp(argv[1], "start") == 0)
		return cmd_pool_start(argc - 1, argv + 1);
	return pool_command(argc - 1, argv + 1);	/* pool.c */
}

/* sbx gc; with more words, "gc" is a script's name, as it always was. */
static int
cmd_gc(int argc, char *argv[])
{
	return argc == 1 ? gc(NULL) : cmd_run(argc + 1, argv - 1);
}

/* fds 0-2 must be open, or our own files would land on them. */
static void
std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

/* A full disk or a closed pipe on stdout is a failure, not a success. */
static int
finish(int status)
{
	if (status == EXIT_USAGE)
		usage(EXIT_FAIL);
	if (jb_failed() || fflush(stdout) == EOF || ferror(stdout) ||
	    fclose(stdout) == EOF) {
		warn("write error on standard output");
		return EXIT_FAIL;
	}
	return status;
}

/* The commands that name themselves first: sbx apply ..., sbx exec ... */
static const struct {
	const char *name;
	int (*fn)(int, char **);
} cmds[] = {
	{ "apply", cmd_apply },		/* apply.c */
	{ "batch", cmd_batch },		/* batch.c */
	{ "batch-task", cmd_batch_task },	/* batch.c: a Slurm task */
	{ "diff", cmd_diff },		/* apply.c */
	{ "exec", cmd_exec },		/* session.c */
	{ "gc", cmd_gc },
	{ "ls", cmd_ls },		/* session.c */
	{ "pool", cmd_pool },
	{ "ps", cmd_ps },		/* ps.c */
	{ "start", cmd_start },
	{ "stop", cmd_stop },		/* session.c */
};

int
main(int argc, char *argv[])
{
	size_t i;

	std_fds();
	sig_init();
	for (i = 0; argc > 1 && i < LEN(cmds); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return finish(cmds[i].fn(argc - 1, argv + 1));
	return finish(cmd_run(argc, argv));
}
