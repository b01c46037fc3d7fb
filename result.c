/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

/*
 * What a run or a step reports: its start and result events, with what
 * the script left in /sbx/out and, in rw mode, what it changed.
 */

void
event_argv(char **argv)
{
	struct jbuf j;

	jb_begin(&j, "argv");
	jb_strv(&j, "argv", argv);
	jb_emit(&j);
}

void
event_start(const struct job *jb)
{
	struct jbuf j;

	jb_begin(&j, "start");
	jb_str(&j, "template", jb->pol.name);
	jb_str(&j, "runtime", jb->ctr.runtime);
	jb_str(&j, "image", jb->image);
	jb_str(&j, "name", jb->ctr.name);
	jb_str(&j, "script", jb->script);
	jb_strv(&j, "args", jb->args);
	jb_str(&j, "dir", jb->dir);
	jb_int(&j, "uid", (long long)jb->uid);
	jb_int(&j, "gid", (long long)jb->gid);
	if (jb->pool) {		/* sbx -P: in a container of it, or cold */
		jb_str(&j, "pool", jb->pool);
		jb_bool(&j, "pooled", jb->pooled);
	}
	policy_json(&j, &jb->pol);
	jb_emit(&j);
}

/* Nothing known yet: no exit code, no usage. */
void
result_init(struct result *r)
{
	memset(r, 0, sizeof(*r));
	r->exit_code = -1;
	r->cpu_us = r->mem_peak = -1;
}

void
event_result(const struct job *jb, const struct result *r)
{
	struct jbuf j;

	jb_begin(&j, "result");
	jb_int(&j, "status", r->status);
	if (r->exit_code >= 0)
		jb_int(&j, "exit_code", r->exit_code);
	else
		jb_null(&j, "exit_code");
	if (r->signal)
		jb_int(&j, "signal", r->signal);
	else
		jb_null(&j, "signal");
	jb_bool(&j, "timed_out", r->timed_out);
	jb_bool(&j, "oom_killed", r->oom_killed);
	jb_bool(&j, "cpu_time_exceeded", r->cpu_exceeded);
	jb_bool(&j, "truncated", r->truncated);
	jb_bool(&j, "disk_exceeded", r->disk_full);
	jb_str(&j, "import_refused", *r->refused ? r->refused : NULL);
	if (r->compiled)
		jb_str(&j, "phase", r->in_compile ? "compile" : "run");
	if (r->value)
		jb_raw(&j, "value", r->value);
	else
		jb_null(&j, "value");
	jb_str(&j, "value_error", r->value_error);
	if (r->interrupted)
		jb_int(&j, "interrupted", r->interrupted);
	else
		jb_null(&j, "interrupted");
	if (r->repl)
		jb_bool(&j, "state_lost", r->state_lost);
	jb_fixed(&j, "duration", (long long)(r->duration * 1000), 3);
	jb_count(&j, "cpu_time", r->cpu_us >= 0 ? r->cpu_us / 1000 : -1, 3);
	jb_count(&j, "memory_peak", r->mem_peak, 0);
	jb_int(&j, "stdout_bytes", (long long)r->out_bytes);
	jb_int(&j, "stderr_bytes", (long long)r->err_bytes);
	jb_str(&j, "error", r->error);
	if (r->changed) {
		jb_obj(&j, "changes");
		jb_int(&j, "added", (long long)r->changes[ADDED]);
		jb_int(&j, "modified", (long long)r->changes[MODIFIED]);
		jb_int(&j, "deleted", (long long)r->changes[DELETED]);
		jb_endobj(&j);
	} else {
		jb_null(&j, "changes");
	}
	if (jb->keep && jb->lay.dir && jb->pol.workspace != WS_NONE)
		jb_str(&j, "shadow", jb->lay.ws);
	if (r->remote) {	/* where a copy transport's time went */
		jb_obj(&j, "remote");
		jb_str(&j, "engine", jb->ctr.remote);
		jb_fixed(&j, "create", (long long)(r->create * 1000), 3);
		jb_fixed(&j, "copy_in", (long long)(r->copy_in * 1000), 3);
		jb_fixed(&j, "copy_out", (long long)(r->copy_out * 1000), 3);
		jb_fixed(&j, "remove", (long long)(r->remove * 1000), 3);
		jb_endobj(&j);
	}
	jb_emit(&j);
}

/*
 * A few bytes of a file in /sbx/out, read as the hostile input it is:
 * no link followed, a regular file.  Its length, or -1.
 */
static ssize_t
read_small_out(const struct job *jb, const char *name, char *buf,
    size_t size)
{
	char *path = smprintf("%s/%s", jb->lay.out, name);
	struct stat st;
	ssize_t n = -1;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (n = read(fd, buf, size - 1)) >= 0)
		buf[n] = '\0';
	close(fd);
	return n;
}

/* What the guard reported: a few bytes of a module name or nothing. */
static void
read_refused(const struct job *jb, struct result *r)
{
	char buf[sizeof(r->refused)];
	ssize_t n;

	/* Only the guard writes it; any script could, so it counts only
	 * when the guard ran. */
	if (!jb->guard)
		return;
	if ((n = read_small_out(jb, OUT_REFUSED, buf, sizeof(buf))) > 0) {
		if (buf[strspn(buf, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")] == '\0') {
			memcpy(r->refused, buf, (size_t)n + 1);
			/* A script may catch the ImportError and go on. */
			event_msg(r->exit_code == 0 ? "warning" : "error",
			    "import of '%s' refused by template '%s'",
			    r->refused, jb->pol.name);
		}
	}
}

/*
 * A run's usage as its init counted it (see proto.h): only a line that
 * starts with the run's key is the init's; then the file goes, not to
 * be taken for the script's in a kept run.
 */
static void
read_usage(const struct job *jb, struct result *r)
{
	char buf[128], key[40], *path;
	long long cpu, peak, oom;

	if (read_small_out(jb, OUT_USAGE, buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%39s %lld %lld %lld", key, &cpu, &peak, &oom) == 4 &&
	    strcmp(key, jb->ctr.key) == 0 && cpu >= 0) {
		/* A compiled language's run: its program's alone. */
		r->cpu_us = cpu > r->compile_us ? cpu - r->compile_us : 0;
		r->mem_peak = peak >= 0 ? peak : -1;
		/* The cgroup's own count: what a remote podman, whose
		 * conmon marks it on its host, cannot tell us. */
		if (oom > 0)
			r->oom_killed = 1;
	}
	path = smprintf("%s/" OUT_USAGE, jb->lay.out);
	unlink(path);
	free(path);
}

#define MAXVALUE (1 << 20)

/*
 * $SBX_RESULT, read like the guard's report: no link followed, a
 * regular file, at most MAXVALUE bytes, and valid JSON, which goes into
 * the result compacted to one line.  Anything else is a value_error.
 */
static void
read_value(const struct job *jb, struct result *r)
{
	char *path = smprintf("%s/" OUT_RESULT, jb->lay.out), *buf;
	struct jbuf out = { NULL, 0, 0, 0 };
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	free(path);
	if (fd < 0) {
		if (errno != ENOENT)
			r->value_error = errno == ELOOP ? "a symbolic link" :
			    "cannot be opened";
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r->value_error = "not a regular file";
		close(fd);
		return;
	}
	buf = emalloc(MAXVALUE + 1);
	while (len <= MAXVALUE &&
	    (n = read(fd, buf + len, MAXVALUE + 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (len > MAXVALUE)
		r->value_error = "larger than 1 MiB";
	else if (!json_compact(buf, len, &out))
		r->value_error = "not valid JSON";
	else
		r->value = out.s;
	if (r->value_error)
		free(out.s);
	free(buf);
}

/*
 * What the run left in /sbx/out: $SBX_RESULT, the guard's word, and a
 * run's usage (a step's comes with its answer); and whether it filled
 * its workspace.
 */
void
read_out(const struct job *jb, struct result *r)
{
	read_refused(jb, r);
	read_value(jb, r);
	if (!jb->session && !jb->pooled)
		read_usage(jb, r);
	r->disk_full = r->disk_full || ws_full(jb);
}

/* rw: what the script changed in the shadow, against the manifest. */
void
report_changes(const struct job *jb, struct result *r)
{
	struct tree t;

	tree_open(&t, jb->lay.dir);
	event_changes(&t);
	if (jb->diff)
		tree_diffs(&t, event_diff, NULL);
	r->changed = 1;
	memcpy(r->changes, t.count, sizeof(r->changes));
	tree_close(&t);
}
