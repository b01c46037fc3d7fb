/* See LICENSE file for copyright and license details. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
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
	EXIT_NOTFOUND = 127	/* the interpreter was not found */
};

enum workspace { WS_RO, WS_RW, WS_NONE };

/* A language: what runs a script with this file extension, and where. */
struct lang {
	char *ext;		/* "py", without the dot */
	char **command;		/* interpreter argv, NULL-terminated */
	char *image;
	int line;		/* of its section, for errors */
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
	long cpu_time;		/* RLIMIT_CPU seconds, 0 for none */
	int network;
	enum workspace workspace;
	int read_only;		/* root file system */
	char *user;		/* "uid:gid" */
	long long tmpfs;	/* bytes of /tmp */
	long nofile;
	long nproc;
	long long fsize;	/* RLIMIT_FSIZE bytes, 0 for none */
	long long max_output;	/* stdout + stderr bytes kept */
	char *oci_runtime;	/* --runtime, NULL for the default */
	long max_files;		/* shadow copy guard */
	long long max_bytes;	/* shadow copy guard */
	char **imports;		/* authorized_imports, NULL-terminated */
};

struct tmpl;

/* Everything read from one configuration file. */
struct config {
	char *path;		/* the file read, or "(built-in)" */
	struct tmpl *tmpls;
	struct lang *langs;
	struct tmpl *ceiling;	/* of the system file, or NULL */
	struct tmpl *system;	/* of the system file, or NULL */
};

/* One run: the policy, where things are, and what happened. */
struct job {
	struct policy pol;
	const char *runtime;	/* "podman" or "docker" */
	char *runtime_path;	/* absolute path found in PATH */
	const char *dir;	/* the user's source tree */
	const char *script;	/* relative to dir, or "-" */
	const char *script_orig;	/* as given */
	char *script_ctr;	/* the script's path in the container */
	char **args;		/* passed to the script */
	const struct lang *lang;
	const char *image;
	char name[64];		/* container name */
	char *rundir;		/* private temp dir, NULL until made */
	char *workdir;		/* rundir/ws: the shadow copy */
	char *scriptdir;	/* rundir/sbx: script outside the workspace */
	char *outdir;		/* rundir/out: the guard's report, or NULL */
	int guard;		/* run .py through the import guard */
	uid_t uid;		/* container user */
	gid_t gid;
	int keep;		/* -k: keep rundir */
	int started;		/* a container may exist */
	pid_t client;		/* the runtime client, 0 once reaped */
	double t0;		/* monotonic start, seconds */
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
	char refused[64];	/* the import the guard refused, or "" */
	char *value;		/* the script's JSON result, compact */
	const char *value_error;	/* why it was refused */
	int interrupted;	/* signal that sbx received, 0 if none */
	const char *error;	/* sbx or runtime failure, NULL if none */
	double duration;
	unsigned long long out_bytes;
	unsigned long long err_bytes;
};

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
size_t strv_len(char **v);
void strv_free(char **v);
double now(void);
int sbx_alive(long pid);

/* json.c */
struct jbuf {
	char *s;
	size_t len, cap;
	int first;		/* no member yet at this level */
};
void jb_put(struct jbuf *j, const char *s, size_t n);
void jb_begin(struct jbuf *j, const char *event);
void jb_str(struct jbuf *j, const char *key, const char *s);
void jb_mem(struct jbuf *j, const char *key, const char *s, size_t n);
void jb_int(struct jbuf *j, const char *key, long long v);
void jb_null(struct jbuf *j, const char *key);
void jb_bool(struct jbuf *j, const char *key, int v);
void jb_fixed(struct jbuf *j, const char *key, long long v, int scale);
void jb_strv(struct jbuf *j, const char *key, char **v);
void jb_obj(struct jbuf *j, const char *key);
void jb_endobj(struct jbuf *j);
void jb_emit(struct jbuf *j);	/* writes one line to stdout, frees */
int jb_failed(void);		/* did a line fail to reach stdout? */
int jb_write(struct jbuf *j, int fd);	/* one write(2), frees */
void jb_escape(struct jbuf *j, const char *s, size_t n);
size_t utf8_tail(const char *s, size_t n);
int json_compact(const char *s, size_t n, struct jbuf *out);
void jb_raw(struct jbuf *j, const char *key, const char *json);
void event_msg(const char *event, const char *fmt, ...) PRINTF(2, 3);
void event_gc(const char *kind, const char *runtime, const char *name,
    const char *reason);

/* policy.c */
int parse_size(const char *s, long long *v);
int parse_duration(const char *s, long *v);
int parse_cpus(const char *s, long *v);
int parse_bool(const char *s, int *v);
void config_load(struct config *c, const char *path);
void config_builtin(struct config *c);
int config_find(struct config *c, const char *opt);
void config_free(struct config *c);
const char *policy_set(struct policy *p, const char *key, const char *val);
char *config_names(const struct config *c);	/* caller frees */
int policy_resolve(const struct config *c, const char *name, struct policy *p);
void policy_free(struct policy *p);
void policy_check(const struct config *c, const struct policy *p,
    const char *image);
const char *system_value(const struct config *c, const char *key);
void policy_json(struct jbuf *j, const struct policy *p);
void config_list(const struct config *c);
const struct lang *lang_find(const struct config *c, const char *ext);
const char *workspace_name(enum workspace w);

/* shadow.c */
void shadow_copy(struct job *jb);
int shadow_remove(const char *path);

/* audit.c */
int sha256_file(const char *path, char out[65]);
int audit_open(const char *path);
void audit_write(int fd, const struct job *jb, const struct result *r,
    const char *image_id);

/* backend_cli.c */
char *runtime_find(const char *name);	/* caller frees */
const char *runtime_auto(void);
char **backend_argv(const struct job *jb);	/* caller frees with strv_free */
void backend_run(struct job *jb, char **argv, struct result *r);
void backend_stop(struct job *jb);
void backend_signals(void);
char *backend_image_id(const struct job *jb);	/* caller frees */
int backend_gc(struct job *jb);
