/* See LICENSE file for copyright and license details. */
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __GNUC__
#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NORETURN
#define PRINTF(f, a)
#endif

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Exit statuses of sbx itself, as timeout(1) and env(1) use them. */
enum {
	EXIT_TIMEOUT = 124,	/* the wall-clock timeout stopped the run */
	EXIT_FAIL = 125,	/* sbx or the container runtime failed */
	EXIT_CANNOT = 126,	/* the interpreter cannot be executed */
	EXIT_NOTFOUND = 127,	/* the interpreter was not found */
	EXIT_USAGE = -1		/* a command's: main prints usage, 125 */
};

enum workspace { WS_RO, WS_RW, WS_NONE };

/*
 * user = auto: the ids a run draws its own uid (and gid) from.  A rootful
 * engine's are the host's: AUTO_SPAN from AUTO_UID (0x70000000), above
 * the accounts and subordinate ranges a host allots.  Rootless podman
 * maps the container's 1-65536 only: AUTO_LOW to AUTO_HIGH there.
 */
#define AUTO_UID 1879048192UL
#define AUTO_SPAN 16777216UL
#define AUTO_LOW 10000UL
#define AUTO_HIGH 65000UL

/* /sbx/out, a tmpfs when sbx may mount: $SBX_RESULT's 1 MiB and room
 * to say it is larger; a few files. */
#define OUT_SIZE "2m"
#define OUT_INODES 64

/* A language: what runs a script with this file extension, and where. */
struct lang {
	char *ext;		/* "py", without the dot */
	char **command;		/* interpreter argv, NULL-terminated; or,
				 * with compile, the program's */
	char **compile;		/* compiler argv, to which the script is
				 * added; NULL: none */
	char *image;
	const char *file;	/* of its last section: one of config's files */
	int line;		/* of that section, for errors */
	struct lang *next;
};

/* A resolved template: every limit of one run, validated. */
struct policy {
	char *name;
	char *description;
	char *runtime;		/* "auto", "podman" or "docker" */
	char *image;		/* NULL: the language's image */
	long long memory;	/* bytes; swap is set equal */
	long cpus;		/* thousandths of a CPU */
	long pids;
	long timeout;		/* wall clock, seconds */
	long compile_timeout;	/* the same, of a compile step */
	long compile_cpu;	/* its cpu_time, 0: none */
	long long compile_output;	/* its max_output */
	long idle_timeout;	/* a session's, seconds */
	long max_lifetime;	/* a session's, seconds */
	long cpu_time;		/* RLIMIT_CPU seconds, 0 for none */
	int repl;		/* a session's .py steps share one python */
	int network;
	enum workspace workspace;
	long long ws_size;	/* rw, none: bytes it may grow by, 0 for any */
	long ws_files;		/* and files; 0 for any */
	int read_only;		/* root file system */
	char *user;		/* "uid:gid" */
	long long tmpfs;	/* bytes of /tmp */
	long nofile;
	long nproc;
	long long fsize;	/* RLIMIT_FSIZE bytes, 0 for none */
	long long max_output;	/* stdout + stderr bytes kept */
	char *oci_runtime;	/* --runtime, NULL for the default */
	char **oci_flags;	/* its flags, "name=value" without "--" */
	char **allow_hosts;	/* HOST[:PORT][=ADDR]: see proxy.c */
	long net_conns;		/* through the proxy at once */
	long long net_bytes;	/* through it, both ways, in all */
	long max_files;		/* shadow copy guard */
	long long max_bytes;	/* shadow copy guard */
	char **imports;		/* authorized_imports, NULL-terminated */
};

struct tmpl;

/*
 * Everything read from the configuration's layers: the system file or
 * the built-in copy, then the user's file, then -c or $SBX_CONFIG.
 */
struct config {
	char **files;		/* the layers read, base first; "(built-in)" */
	const char *path;	/* the last of them */
	struct tmpl *tmpls;
	struct lang *langs;
	struct tmpl *ceiling;	/* of the system file, or NULL */
	struct tmpl *system;	/* of the system file, or NULL */
};

/* rundir.c: the private directory of a run, a session or a dry run. */
struct layout {
	char *dir;		/* TMPDIR/sbx.PID.XXXXXX, or sbx-session.ID */
	char *ws;		/* the shadow copy, at /workspace */
	char *sbx;		/* read-only at /sbx: script, guard, init */
	char *out;		/* at /sbx/out: $SBX_RESULT, the guard's word */
	char *ctl;		/* a session's FIFOs, at /sbx/ctl */
	char *owner;		/* who made it, for sbx gc */
	char *container;	/* the name of its container, for sbx gc */
	char *kept;		/* -k: the user's now, gc leaves it */
	char *manifest;		/* rw: the original as the copy saw it */
	char *oom;		/* conmon's marker: the client runs in dir */
	char *state;		/* a session's: what sbx start recorded */
	char *req, *rsp;	/* a session's channel, out of steps' sight */
	char *inflight;		/* a session's step in flight */
	char *seq;		/* a session's last step number */
};

/* backend_cli.c: a container runtime, and one container of a run. */
struct container {
	const char *runtime;	/* "podman" or "docker" */
	char *path;		/* its client, found in PATH; NULL if none */
	char name[64];
	const struct layout *lay;	/* its run's: the client runs in dir;
					 * NULL for gc's and -L's, which only
					 * list, remove and inspect */
	const char *image;	/* for saying why it never ran */
	const char *oci;	/* its oci_runtime, or NULL; the same */
	char key[33];		/* a run's, for its init's count: NONCE_LEN */
	pid_t client;		/* a run's client, 0 once reaped */
	int started;		/* the container may exist */
	struct proxy *net;	/* allow_hosts' proxy, or NULL */
	const char *remote;	/* what makes its engine another host's
				 * (backend_remote()), or NULL: a remote
				 * run copies, never bind-mounts */
};

/* One run or step: the policy, where things are, what to run. */
struct job {
	struct policy pol;
	struct container ctr;
	struct layout lay;
	const char *dir;	/* the user's source tree */
	const char *script;	/* relative to dir, or "-" */
	const char *script_orig;	/* as given */
	char *script_ctr;	/* the script's path in the container */
	char **args;		/* passed to the script */
	const struct lang *lang;
	const char *image;
	const char *session;	/* a session's id, or NULL */
	const char *pool;	/* -P, or the pool a slot is of */
	int pooled;		/* runs in a pool's container */
	int guard;		/* run .py through the import guard */
	uid_t uid;		/* container user */
	gid_t gid;
	char *code;		/* -x: the script's text, for "-" */
	int code_stdin;		/* -x -: the reply was stdin */
	int keep;		/* -k: keep rundir */
	int diff;		/* -u: a diff event per changed file */
};

/*
 * One entry of a tree: of the original as the copy saw it, with its
 * shadow twin's inode, ctime and mode (the manifest), or of the shadow
 * as it is now (path, mode, size, ino and ctime only).
 */
struct entry {
	char *path;		/* relative to the tree */
	mode_t mode;		/* whole st_mode */
	off_t size;
	struct timespec mtime, ctime;
	dev_t dev;
	ino_t ino;
	ino_t sino;		/* the shadow copy's, as the copy left it */
	struct timespec sctime;
	mode_t smode;
};

struct entries {
	struct entry *v;
	size_t n, cap;
};

enum change_kind { ADDED, MODIFIED, DELETED };

struct change {
	enum change_kind kind;
	const char *path;
	const struct entry *old;	/* NULL if added */
	const struct entry *now;	/* NULL if deleted */
	int selected;		/* by the patterns given */
	int failed;		/* not applied */
	int done;		/* applied */
	int blocks;		/* a refused replacement of a directory */
};

/* A shadow copy against the manifest of its original. */
struct tree {
	struct layout lay;	/* of its run or session directory */
	char *dir;		/* the original */
	int ofd, sfd;		/* open on each */
	mode_t extra;		/* mode bits the copy added */
	struct entries old, now;
	struct change *changes;	/* in path order */
	size_t nchanges;
	size_t count[3];	/* by kind */
	const char *incomplete;	/* why the shadow was not read whole */
	size_t pathbytes;	/* of the shadow's names, bounded */
};

/* What the container did. */
struct result {
	int status;		/* sbx's own exit status */
	int exit_code;		/* the script's, -1 if none */
	int signal;		/* that ended the script, 0 if none */
	int timed_out;
	int oom_killed;
	int cpu_exceeded;	/* RLIMIT_CPU hit */
	int truncated;		/* output passed max_output */
	int disk_full;		/* the bounded workspace filled up */
	int compiled;		/* its language compiles: a phase to say */
	int in_compile;		/* it ended before its program ran */
	long long compile_us;	/* the compile's CPU time, not the run's */
	char refused[64];	/* the import the guard refused, or "" */
	char *value;		/* the script's JSON result, compact */
	const char *value_error;	/* why it was refused */
	int interrupted;	/* signal that sbx received, 0 if none */
	const char *error;	/* sbx or runtime failure, NULL if none */
	int repl;		/* a step in a repl session's python */
	int state_lost;		/* it did not run in, or leave, its state */
	int changed;		/* the counts below are known */
	size_t changes[3];	/* added, modified, deleted */
	double duration;
	long long cpu_us;	/* CPU time the kernel counted, -1: unknown */
	long long mem_peak;	/* bytes, -1: unknown */
	unsigned long long out_bytes;
	unsigned long long err_bytes;
	int remote;		/* by the copy transport: its phases */
	double create, copy_in, copy_out, remove;	/* seconds */
};

/* sbx.c: main, called by nobody */

/* job.c */
void job_run(const struct config *cfg, struct job *jb, const char *dir,
    const char *script, const char *ext, int dryrun);	/* pol is set */
void job_session(const struct config *cfg, struct job *jb, const char *dir,
    const char *ext, int dryrun);			/* pol is set */
void job_lang(const struct config *cfg, struct job *jb, const char *ext,
    const char *what);
const char *extension(const char *script);
void job_cleanup(struct job *jb);	/* arms (jb) or disarms (NULL) */
void job_end(struct job *jb);
void job_free(struct job *jb);
int langs_list(const struct config *cfg, const char *runtime);

/* rundir.c */
#define RUNDIR_PREFIX "sbx."		/* TMPDIR/sbx.PID.XXXXXX */
#define SESSION_PREFIX "sbx-session."	/* TMPDIR/sbx-session.ID */
#define MARK_OWNER "owner"		/* the files sbx gc reads */
#define MARK_CONTAINER "container"
#define MARK_PARTIAL "partial"		/* ws/ came back in part: remote */
#define MARK_FAILED "failed"		/* MARK_PARTIAL's: not a bound */
const char *tmpdir(void);
char *rundir_pattern(void);		/* caller frees */
int rundir_name(const char *name);
void layout_set(struct layout *l, char *dir);	/* takes dir */
void layout_free(struct layout *l);
void rundir_make(struct layout *l);
int rundir_reserved(const char *name);
void write_mark(const char *path, const char *text);
void rundir_marks(const struct layout *l, const char *name);
void make_shadow(struct job *jb);
void ws_fit(const struct job *jb);
int ws_full(const struct job *jb);
void stage(struct job *jb);
void stage_script(struct job *jb);
void stage_claimed(struct job *jb);
int rundir_remove(const char *dir);
void rundir_keep(const struct layout *l, int mark);
void rundir_each(int (*match)(const char *name),
    void (*fn)(const struct layout *));

/* result.c */
void event_argv(char **argv);
void event_start(const struct job *jb);
void result_init(struct result *r);
void event_result(const struct job *jb, const struct result *r);
void read_out(const struct job *jb, struct result *r);
void report_changes(const struct job *jb, struct result *r);

/* session.c */
struct state {			/* a state file, "key value" lines */
	char *path;
	char *text;		/* NUL-terminated */
};
void state_read(struct state *st, const struct layout *l);
char *state_find(const struct state *st, const char *key, int need);
char *state_get(const struct state *st, const char *key);
long state_num(const struct state *st, const char *key);
void state_policy(const struct state *st, struct policy *p);
void state_free(struct state *st);
void session_boot(const struct config *cfg, struct job *jb, char *dir);
int session_id_ok(const char *id);
char *session_dir(const char *id);	/* caller frees */
char *session_find(const char *id);	/* ours, or die; caller frees */
int session_lock(const char *dir, int nowait);
int session_start(const struct config *cfg, struct job *jb);
int cmd_exec(int argc, char *argv[]);
int cmd_stop(int argc, char *argv[]);
int cmd_ls(int argc, char *argv[]);
void session_gc(void);

struct compile;		/* relay.c */

/* step.c: a session's step in flight, its FIFOs and its answer */
#define READY_WAIT 60	/* seconds for a new supervisor to say "ready" */
struct step {
	long n;			/* its number */
	int req, rsp;		/* to and from the supervisor */
	int out, err;		/* the step's output */
	int in;			/* its input, -1 once closed */
	int keep;		/* its input's reader that holds what is written */
	int opened;		/* the step has its stdin open: "open" came */
	int eof;		/* our stdin ended before that */
	char nonce[33];		/* in the status that is ours: NONCE_LEN */
	char line[256];		/* of rsp, so far */
	size_t len;
	int junk;		/* dropping an overlong line */
	int alone;		/* its container's one step: a pool's */
};
int channel_make(const struct layout *l, uid_t uid, gid_t gid);
int channel_ready(const struct layout *l, int rsp);
int channel_alive(const struct layout *l);
void step_settle(const struct layout *l);
int step_open(struct step *sp, const struct layout *l);
void step_write(struct step *sp, struct job *jb, const char *base,
    long timeout);
int step_compile(const struct container *c, struct step *sp, struct job *jb,
    const char *base, long timeout, struct result *r);
void step_send(struct step *sp, const struct layout *l);
void step_wait(const struct container *c, struct step *sp, long timeout,
    long long max_output, struct compile *cp, struct result *r);
void step_go(struct job *jb, struct step *sp, long timeout, int audit,
    struct result *r);
void step_close(struct step *sp, const struct layout *l);
int channel_stop(const struct layout *l);
int step_repl(const struct job *jb);

/* pool.c */
#define POOL_PREFIX "sbx-pool."		/* TMPDIR/sbx-pool.NAME */
#define POOL_MAX 64			/* containers in one pool */
int pool_name_ok(const char *name);
int pool_start(const struct config *cfg, struct job *jb, const char *ext,
    long size);
void pool_job(const struct config *cfg, struct job *jb, const char *name,
    const char *timeout, const char *conf);
int pool_claim(struct job *jb, struct step *sp, char **image_id);
void pool_keep(struct job *jb);
void pool_leave(struct job *jb);
void pool_done(int lock);
int pool_slot(const char *dir);
int pool_command(int argc, char *argv[]);
void pool_gc(const char *runtime);

/* gc.c */
int gc(const char *runtime);

/* extract.c */
char *extract(const struct config *cfg, const char *path, long long max,
    const char *ext, long which, int all, const char **lang);

/* batch.c */
int cmd_batch(int argc, char *argv[]);
int cmd_batch_task(int argc, char *argv[]);

/* ps.c */
int cmd_ps(int argc, char *argv[]);

/* sig.c */
extern volatile sig_atomic_t opt_alarm;
extern volatile sig_atomic_t opt_signal;
void sig_init(void);
int sbx_signalled(void);	/* the signal that asked us to stop, or 0 */

/* util.c */
extern const char *argv0;
void die(const char *fmt, ...) NORETURN PRINTF(1, 2);
void warn(const char *fmt, ...) PRINTF(1, 2);
void *emalloc(size_t n);
void *ecalloc(size_t n, size_t size);
void *erealloc(void *p, size_t n);
char *estrdup(const char *s);
char *smprintf(const char *fmt, ...) PRINTF(1, 2);	/* caller frees */
char *vsmprintf(const char *fmt, va_list ap);		/* caller frees */
char **strv_split(const char *s, const char *sep);	/* caller frees */
char *strv_join(char **v, const char *sep);		/* caller frees */
size_t strv_len(char **v);
void strv_free(char **v);
double now(void);
int copy_fd(int in, int out);
void copy_into(int in, const char *src, const char *dst, mode_t mode);
int open_source(const char *dir);		/* or die */
int self_path(char *buf, size_t size);
const char *supervisor(void);
void random_bytes(void *buf, size_t n);
void random_hex(char *out, size_t nbytes);
ssize_t read_mark(const char *dir, const char *name, char *buf, size_t size,
    struct stat *dst);
/* A tree walked by descriptor, no link followed on the way. */
int open_parent(int root, const char *rel, const char **name);
int open_file(int root, const char *rel, struct stat *st);
int lstat_at(int root, const char *rel, struct stat *st);
const char *owner_self(void);
int owner_alive(const char *owner);	/* 1, 0, or -1: cannot judge */

/* json.c */
struct jbuf {
	char *s;
	size_t len, cap;
	int first;		/* no member yet at this level */
};
void jb_put(struct jbuf *j, const char *s, size_t n);
int jb_read(struct jbuf *j, int fd, long long max);	/* all of fd */
void jb_begin(struct jbuf *j, const char *event);
void jb_str(struct jbuf *j, const char *key, const char *s);
void jb_mem(struct jbuf *j, const char *key, const char *s, size_t n);
void jb_int(struct jbuf *j, const char *key, long long v);
void jb_null(struct jbuf *j, const char *key);
void jb_bool(struct jbuf *j, const char *key, int v);
void jb_fixed(struct jbuf *j, const char *key, long long v, int scale);
void jb_count(struct jbuf *j, const char *key, long long v, int scale);
void jb_strv(struct jbuf *j, const char *key, char **v);
void jb_obj(struct jbuf *j, const char *key);
void jb_endobj(struct jbuf *j);
void jb_emit(struct jbuf *j);	/* writes one line to stdout, frees */
void jb_out(int fd, const char *buf, size_t n);	/* raw, to 1 or 2 */
int jb_failed(void);		/* did a line fail to reach stdout? */
extern void (*jb_blocked)(void);	/* a signal while stdout is full */
extern void (*jb_render)(const char *line);	/* not JSON: a person's */
int jb_write(struct jbuf *j, int fd);	/* one write(2), frees */
void jb_escape(struct jbuf *j, const char *s, size_t n);
size_t utf8_tail(const char *s, size_t n);
int json_compact(const char *s, size_t n, struct jbuf *out);
void jb_raw(struct jbuf *j, const char *key, const char *json);
/* Our own lines read back: a member's raw value points into line;
 * jl_str unescapes into buf and returns it, "" if none. */
const char *jl_member(const char *line, const char *key, size_t *len);
const char *jl_str(const char *line, const char *key, char *buf, size_t size);
double jl_number(const char *line, const char *key);	/* -1 if none */
int jl_yes(const char *line, const char *key);
void event_msg(const char *event, const char *fmt, ...) PRINTF(2, 3);
void event_gc(const char *kind, const char *runtime, const char *name,
    const char *reason);

/* policy.c */
/* An allow_hosts entry, HOST[:PORT][=ADDR]. */
struct allow {
	char host[256];		/* lower case; "*.example.org" for any
				 * name under example.org */
	int port;		/* 0: 80 and 443 */
	char addr[64];		/* ADDR, or the host if it is an address;
				 * "": resolve the host */
};
int allow_entry(const char *s, struct allow *a);	/* 0: not one */
int allow_match(const struct allow *a, const char *host, int port);
int parse_size(const char *s, long long *v);
int parse_duration(const char *s, long *v);
int parse_cpus(const char *s, long *v);
int parse_bool(const char *s, int *v);
void config_load(struct config *c, const char *path);	/* that file alone */
void config_builtin(struct config *c);
int config_find(struct config *c, const char *opt);	/* every layer */
void config_free(struct config *c);
const char *policy_set(struct policy *p, const char *key, const char *val);
char *config_names(const struct config *c);	/* caller frees */
char *config_files(const struct config *c);	/* caller frees */
int policy_resolve(const struct config *c, const char *name, struct policy *p);
void policy_lists(struct policy *p);
void policy_free(struct policy *p);
void policy_check(const struct config *c, const struct policy *p,
    const char *image);
const char *system_value(const struct config *c, const char *key);
void policy_json(struct jbuf *j, const struct policy *p);
void policy_write(FILE *f, const char *prefix, const struct policy *p);
void config_list(const struct config *c);
const struct lang *lang_find(const struct config *c, const char *ext);
const char *workspace_name(enum workspace w);

/* shadow.c */
void shadow_copy(const char *dir, const struct layout *l,
    const struct policy *p, uid_t uid, gid_t gid);
void shadow_keep(const char *src, const char *dst, uid_t uid, gid_t gid);
int shadow_remove(const char *path);
int shadow_empty(const char *path);

/* tar.c: the copy transport's archives */
struct tar_owner {		/* what the container sees its files as */
	uid_t uid;
	gid_t gid;
	int ro;			/* not the user's to write: owner bits
				 * given to the group, no w anywhere */
};
struct tar_bound {		/* what an extraction may make */
	long long bytes;
	long files;
	int strip;		/* leading components taken off names; -1:
				 * as many as the first entry has */
	int chown;		/* to uid:gid (we are root) */
	uid_t uid;
	gid_t gid;
};
struct tar_result {
	long long bytes;
	long files;
	int full;		/* a bound stopped it */
	const char *error;
};
int tar_tree(int fd, const char *dir, const struct tar_owner *o,
    struct tar_result *n);
int tar_file(int fd, const char *path, const char *name,
    const struct tar_owner *o, mode_t mode);
int tar_dir(int fd, const char *name, const struct tar_owner *o,
    mode_t mode);
int tar_end(int fd);
int tar_extract(int in, const char *dir, const struct tar_bound *b,
    struct tar_result *res);

/* changes.c */
void entries_add(struct entries *es, const struct entry *e);
void entries_copy(struct entries *es, const struct entry *e);
void entries_free(struct entries *es);
void manifest_add(struct entries *es, const char *rel, const struct stat *orig,
    const struct stat *shadow, mode_t smode);	/* copies rel */
void manifest_write(const char *path, const char *dir, mode_t extra,
    struct entries *es);
void tree_open(struct tree *t, const char *rundir);
void tree_compare(struct tree *t);
void tree_select(struct tree *t, char **patterns);
struct change *tree_find(struct tree *t, const char *path);
void tree_diffs(const struct tree *t, void (*fn)(const struct change *,
    const char *patch, const char *why, void *), void *arg);
void tree_close(struct tree *t);
void event_changes(const struct tree *t);
void event_diff(const struct change *c, const char *patch, const char *why,
    void *arg);
int orig_unchanged(const struct tree *t, const struct entry *e);
const char *type_name(mode_t m);

/* apply.c */
int tree_apply(struct tree *t, int dry);
int cmd_diff(int argc, char *argv[]);
int cmd_apply(int argc, char *argv[]);

/* diff.c */
int diff_hunks(struct jbuf *out, const char *a, size_t an, const char *b,
    size_t bn);

/* audit.c */
int sha256_file(const char *dir, const char *rel, char out[65]);
int audit_open(const char *path);
void audit_begin(struct jbuf *j, const char *phase);
void audit_write(int fd, const struct job *jb, const struct result *r,
    const char *image_id);

/* proxy.c: allow_hosts' proxy on the host */
struct proxy;
struct proxy *proxy_start(const struct policy *p, const char *sbxdir,
    const char *name, int audit);	/* NULL: no allow_hosts */
int proxy_fd(const struct proxy *px);
int proxy_read(struct proxy *px);	/* 0 at the end */
void proxy_stop(struct proxy *px);	/* and frees px */

/* relay.c: one of the script's output streams, relayed as events */
/*
 * A compiled language's first phase, as the host sees it: what the
 * compiler writes, up to max, until the init's line on each stream
 * (COMPILED_SAYS KEY CODE CPU_US) ends it there; then the compile event.
 */
struct compile {
	const char *key;	/* the run's, as the init's line says it;
				 * NULL: a step of its own, all of whose
				 * output is the compiler's */
	long timeout;		/* compile_timeout, s */
	long long max;		/* compile_max_output, both streams */
	struct jbuf out[2];	/* what it wrote on stdout, stderr */
	size_t match[2];	/* how much of the line's start came */
	char line[2][64];	/* then its words */
	size_t llen[2];
	int done[2];		/* the line came on stdout, stderr */
	int said;		/* both: the compile event is out */
	int code;		/* the compiler's exit code, or 128 + sig */
	long long cpu_us;
	int truncated;		/* it wrote past max */
	double t0, t1;		/* its start and end */
};

struct stream {
	int fd;
	const char *event;
	int k;			/* 0 stdout, 1 stderr */
	struct compile *cp;	/* the phase before the run's, or NULL */
	char buf[65536 + 4];
	size_t held;		/* bytes not yet emitted */
	double first, last;	/* when the held bytes began, and ended */
	char tail[512];		/* the stream's last bytes, for errors */
	size_t tlen;
	unsigned long long *count;
	struct result *r;	/* the other stream's count, truncated */
	double t0;		/* the run's start, for each event's "t" */
	long long max;		/* max_output, of both streams */
};
void streams_init(struct stream *s, int out, int err, struct result *r,
    double t0, long long max);	/* s[0] and s[1] */
void compile_event(struct compile *cp, const struct result *r);
int stream_read(struct stream *s);
void stream_flush(struct stream *s, int end);
int streams_due(struct stream *s, size_t ns);	/* ms poll may wait */
void stream_drain(struct stream *s);
const char *stream_last_line(const struct stream *s);

/* human.c: events for a person instead of JSON lines */
void human_choose(int how);
void human_line(const char *line);

/* dockerapi.c */
int docker_api(const char *method, const char *path_query, char *buf,
    size_t size);

/* backend_cli.c */
void backend_runtime_check(const struct container *c, const char *oci,
    char **flags);
struct labels {			/* of a container, as sbx set them */
	const char *name, *deadline, *owner, *session, *run, *tmpl, *pool;
};
char *runtime_find(const char *name);	/* caller frees */
const char *runtime_auto(void);
char **backend_argv(const struct job *jb);	/* caller frees with strv_free */
void backend_run(struct job *jb, char **argv, struct compile *cp,
    struct result *r);
int backend_detach(struct container *c, char **argv);
int backend_stop(struct container *c);
int backend_remove(const struct container *c);
char *backend_image_id(const struct container *c, const char *image);
int backend_ps(const struct container *c, void (*fn)(const struct container *,
    const struct labels *));
long backend_pid(const struct container *c);
/* What remote.c shares of it. */
int backend_wait(pid_t pid);	/* its exit status, -1 if signalled */
void backend_exec(const struct container *c, char **argv, int out,
    int err) NORETURN;
const char *backend_diagnose(const struct container *c);

/* remote.c: the copy transport, for an engine on another host */
const char *backend_remote(const char *runtime);	/* NULL: local */
int remote_create(struct job *jb, char **argv, struct result *r);
const char *remote_get(struct job *jb, struct result *r);
