/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

/*
 * A job: what one run or session is made of, from the command line and
 * the configuration, before anything is made on disk (the tree, the
 * script, its language and image, the runtime, the container user), and
 * its cleanup once something is.
 */

/* The run or new session that cleanup must undo if sbx dies. */
static struct job *opt_job;

static void name_container(struct job *jb);
static void cleanup(void);

static void
pick_runtime(struct job *jb, int dryrun)
{
	const char *rt = jb->pol.runtime;

	if (strcmp(rt, "auto") == 0 && (rt = runtime_auto()) == NULL)
		die("no container runtime: install podman or docker");
	jb->ctr.runtime = rt;
	if ((jb->ctr.path = runtime_find(rt)) == NULL && !dryrun)
		die("%s: not found in PATH", rt);
	/* Its own disk: the copy transport, not bind mounts. */
	jb->ctr.remote = backend_remote(rt);
	/* Rootless podman on cgroup v1 warns and runs without memory,
	 * CPU or pids limits: better no run than an unlimited one. */
	if (strcmp(rt, "podman") == 0 && geteuid() != 0 && !dryrun &&
	    access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0)
		die("rootless podman cannot enforce memory, cpus or pids "
		    "limits on cgroup v1; refusing to run (use cgroup v2, "
		    "or run as root)");
}

/*
 * The script as a clean path relative to the source tree.  Anything
 * that leaves the tree, or is not a plain file in it, is refused.
 */
static char *
script_path(const char *dir, const char *script)
{
	size_t dl = strlen(dir), n;
	const char *p = script, *base;
	char *rel = ecalloc(1, strlen(script) + 1), *q = rel, *abs = NULL;
	char real[PATH_MAX];

	if (*p == '/') {
		/* Compare real paths: dir is one, and the script's own
		 * directory may be reached through a link. */
		base = strrchr(p, '/');
		abs = smprintf("%.*s", (int)(base - p) + 1, p);
		if (realpath(abs, real) == NULL)
			die("%s:", script);
		free(abs);
		abs = smprintf("%s/%s", real, base + 1);
		if (strncmp(abs, dir, dl) != 0 || (abs[dl] != '/' && dl > 1))
			die("%s: script is outside %s", script, dir);
		p = abs + dl;
	}
	while (*p) {
		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 2 && strncmp(p, "..", 2) == 0)
			die("%s: script is outside %s", script, dir);
		if (n > 0 && !(n == 1 && *p == '.')) {
			if (q != rel)
				*q++ = '/';
			memcpy(q, p, n);
			q += n;
		}
		p += n;
	}
	if (*rel == '\0')
		die("%s: not a script", script);
	free(abs);
	return rel;
}

/*
 * The script, found in the tree as the copy will find it: no link
 * followed on the way, so a directory of its path that is a link to
 * outside the tree does not lead there.
 */
static void
check_script(const char *dir, const char *rel, const char *script)
{
	struct stat st;
	int root = open_source(dir);

	if (lstat_at(root, rel, &st) < 0)
		die(errno == ELOOP || errno == ENOTDIR ? "%s: script is not "
		    "a file of %s: a directory on its way is a link or not a "
		    "directory" : "%s:", script, dir);
	close(root);
	if (!S_ISREG(st.st_mode))
		die("%s: script is not a regular file", script);
	if (st.st_size == 0)
		die("%s: script is empty", script);
}

const char *
extension(const char *script)
{
	const char *base = strrchr(script, '/'), *dot;

	base = base ? base + 1 : script;
	dot = strrchr(base, '.');
	return dot && dot != base ? dot + 1 : "";
}

/* A copy into the tree being copied would never end. */
static void
check_tmpdir(const char *dir)
{
	const char *t = tmpdir();
	size_t dl = strlen(dir);

	if (strncmp(t, dir, dl) == 0 && (t[dl] == '/' || t[dl] == '\0' ||
	    dl == 1))
		die("%s: holds the temporary directory %s; set TMPDIR "
		    "elsewhere", dir, t);
}

/*
 * user = auto: a uid of the run's own, the gid the same, so that what
 * the kernel counts per user (RLIMIT_NPROC, inotify instances, epoll
 * watches, queued signals, message queue bytes) is the run's alone and
 * no run can starve another.  Drawn at random from AUTO_SPAN ids, or for
 * rootless podman (and rootless docker, whose socket is the user's)
 * from AUTO_LOW to AUTO_HIGH: n runs at once share one
 * with a chance of about n*n/2 over the ids there, and then only share
 * those counts, not files or processes (each run has its own mounts and
 * pid namespace).
 */
static void
auto_user(struct job *jb)
{
	const char *host;
	uint32_t r;

	random_bytes(&r, sizeof(r));
	if (geteuid() != 0 && (strcmp(jb->ctr.runtime, "podman") == 0 ||
	    ((host = getenv("DOCKER_HOST")) && strstr(host, "/run/user/"))))
		jb->uid = (uid_t)(AUTO_LOW + r % (AUTO_HIGH - AUTO_LOW));
	else
		jb->uid = (uid_t)(AUTO_UID + r % AUTO_SPAN);
	jb->gid = (gid_t)jb->uid;
}

/*
 * The language of extension ext (what): its interpreter, and whether
 * the import guard runs.  An empty list of imports means no restriction,
 * and no guard.
 */
void
job_lang(const struct config *cfg, struct job *jb, const char *ext,
    const char *what)
{
	if ((jb->lang = lang_find(cfg, ext)) == NULL)
		die("%s: no language for extension '%s' (add a [language %s] "
		    "section to %s)", what, ext, ext, cfg->path);
	jb->guard = strcmp(jb->lang->ext, "py") == 0 && jb->pol.imports[0];
}

/*
 * What a run and a session share: the tree, the language and image,
 * the checks against the system's ceilings, the runtime, the user.
 * jb->pol is set.
 */
static void
job_common(const struct config *cfg, struct job *jb, const char *ext,
    const char *what, int dryrun)
{
	const char *colon;

	job_lang(cfg, jb, ext, what);
	jb->image = jb->ctr.image = jb->pol.image ? jb->pol.image :
	    jb->lang->image;
	jb->ctr.lay = &jb->lay;
	jb->ctr.oci = jb->pol.oci_runtime;
	policy_check(cfg, &jb->pol, jb->image);
	if (jb->dir)
		check_tmpdir(jb->dir);
	pick_runtime(jb, dryrun);
	/* podman's --runtime is its local client's alone; what the
	 * service runs is its own choice, which sbx cannot see. */
	if (jb->ctr.remote && jb->pol.oci_runtime &&
	    strcmp(jb->ctr.runtime, "podman") == 0)
		die("oci_runtime %s: a remote podman (%s) takes no --runtime "
		    "from its client; use docker, or a local podman",
		    jb->pol.oci_runtime, jb->ctr.remote);
	if (!dryrun)
		backend_runtime_check(&jb->ctr, jb->pol.oci_runtime,
		    jb->pol.oci_flags);
	if (strcmp(jb->pol.user, "auto") == 0) {
		auto_user(jb);
		return;
	}
	jb->uid = (uid_t)strtoll(jb->pol.user, NULL, 10);
	colon = strchr(jb->pol.user, ':');
	jb->gid = colon ? (gid_t)strtoll(colon + 1, NULL, 10) : jb->uid;
}

static void
set_dir(struct job *jb, const char *dir)
{
	char real[PATH_MAX];

	if (realpath(dir, real) == NULL)
		die("-d %s:", dir);
	jb->dir = estrdup(real);
}

/* Everything about a run that needs no file system changes. */
void
job_run(const struct config *cfg, struct job *jb, const char *dir,
    const char *script, const char *ext, int dryrun)
{
	const char *slash;
	char *rel;

	set_dir(jb, dir);
	jb->script = jb->script_orig = script;
	if (strcmp(script, "-") == 0) {
		ext = ext ? ext : "py";
		jb->script_ctr = smprintf(CTR_SBX "/main.%s", ext);
	} else {
		rel = script_path(jb->dir, script);
		check_script(jb->dir, rel, script);
		ext = ext ? ext : extension(rel);
		slash = strrchr(rel, '/');
		/* /sbx holds sbx's own files beside a staged script. */
		if (jb->pol.workspace == WS_NONE &&
		    rundir_reserved(slash ? slash + 1 : rel))
			die("%s: name reserved in /sbx with workspace none",
			    script);
		jb->script_ctr = jb->pol.workspace == WS_NONE ?
		    smprintf(CTR_SBX "/%s", slash ? slash + 1 : rel) :
		    smprintf(CTR_WORKSPACE "/%s", rel);
		jb->script = rel;
	}
	job_common(cfg, jb, ext, script, dryrun);
	if (jb->ctr.remote && jb->pol.allow_hosts[0])
		die("allow_hosts: %s: the proxy's socket cannot reach another "
		    "host's container (see Remote engines in sbx(1))",
		    jb->ctr.remote);
	name_container(jb);
}

/* A session's, before sbx start makes it; a pool's has no tree (dir). */
void
job_session(const struct config *cfg, struct job *jb, const char *dir,
    const char *ext, int dryrun)
{
	if (dir)
		set_dir(jb, dir);
	job_common(cfg, jb, ext ? ext : "py", "-e", dryrun);
	if (jb->ctr.remote)
		die("%s: sessions and pools talk to their supervisor through "
		    "FIFOs in sbx's run directory, which another host's "
		    "container cannot reach (see Remote engines in sbx(1))",
		    jb->ctr.remote);
}

static void
name_container(struct job *jb)
{
	char hex[13];

	random_hex(hex, 6);
	snprintf(jb->ctr.name, sizeof(jb->ctr.name), "sbx-%ld-%s",
	    (long)getpid(), hex);
	random_hex(jb->ctr.key, NONCE_LEN / 2);
}

/*
 * Arms (jb) or disarms (NULL) the cleanup of a run or a new session:
 * from here on, die() stops its container and removes its directory.
 */
void
job_cleanup(struct job *jb)
{
	static int armed;

	opt_job = jb;
	if (jb && !armed)
		atexit(cleanup);
	armed = 1;
}

/*
 * The run is over, or sbx dies: its container is stopped if it may be
 * there, its directory removed, or kept (-k).  If the container could
 * not be removed the directory stays too: it is what lets sbx gc know
 * the container for ours.
 */
void
job_end(struct job *jb)
{
	if (opt_job == jb)
		opt_job = NULL;
	if (backend_stop(&jb->ctr) < 0 && jb->lay.dir) {
		warn("%s: container %s not removed; sbx gc will",
		    jb->ctr.runtime, jb->ctr.name);
		rundir_keep(&jb->lay, 0);
		return;
	}
	if (jb->lay.dir && jb->keep)
		rundir_keep(&jb->lay, 1);
	else if (jb->lay.dir && rundir_remove(jb->lay.dir) < 0)
		warn("remove %s:", jb->lay.dir);
}

static void
cleanup(void)
{
	if (opt_job)
		job_end(opt_job);
}

void
job_free(struct job *jb)
{
	free(jb->ctr.path);
	free((char *)jb->dir);
	if (jb->script != jb->script_orig)
		free((char *)jb->script);
	free(jb->script_ctr);
	free(jb->code);
	layout_free(&jb->lay);
	policy_free(&jb->pol);
}

/*
 * sbx -L: each language, its image and interpreter, and whether the
 * runtime has the image (null when there is no runtime to ask).
 */
int
langs_list(const struct config *cfg, const char *runtime)
{
	const struct lang *l, *last = NULL;
	struct container c;
	struct jbuf j;
	char *id;

	memset(&c, 0, sizeof(c));
	if (runtime && strcmp(runtime, "podman") != 0 &&
	    strcmp(runtime, "docker") != 0 && strcmp(runtime, "auto") != 0)
		die("-r %s: not podman, docker or auto", runtime);
	c.runtime = runtime && strcmp(runtime, "auto") != 0 ? runtime :
	    runtime_auto();
	if (c.runtime)
		c.path = runtime_find(c.runtime);
	/* The list is built backwards: walk it by file order. */
	while (last != cfg->langs) {
		for (l = cfg->langs; l->next != last; l = l->next)
			;
		last = l;
		jb_begin(&j, "language");
		jb_str(&j, "ext", l->ext);
		jb_str(&j, "image", l->image);
		jb_strv(&j, "command", l->command);
		if (l->compile)
			jb_strv(&j, "compile", l->compile);
		else
			jb_null(&j, "compile");
		jb_str(&j, "runtime", c.path ? c.runtime : NULL);
		if (c.path) {
			id = backend_image_id(&c, l->image);
			jb_bool(&j, "present", id != NULL);
			free(id);
		} else {
			jb_null(&j, "present");
		}
		jb_emit(&j);
	}
	free(c.path);
	return 0;
}
