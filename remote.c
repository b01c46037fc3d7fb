/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

static int
is_podman(const char *runtime)
{
	return strcmp(runtime, "podman") == 0;
}

/*
 * containers.conf's "remote = true" in [engine], which makes podman a
 * client: the last file that says either way, in podman's order
 * (CONTAINERS_CONF alone if set), or NULL.
 */
static const char *
podman_conf_remote(void)
{
	static char said[PATH_MAX];
	char path[PATH_MAX], line[512], *p, *e;
	const char *v;
	int engine, i, on = 0;
	FILE *f;

	for (i = 0; i < 4; i++) {
		v = getenv("CONTAINERS_CONF");
		if (v && *v) {
			if (i > 0)
				break;
			snprintf(path, sizeof(path), "%s", v);
		} else if (i < 2) {
			snprintf(path, sizeof(path), "%s/containers/"
			    "containers.conf", i ? "/etc" : "/usr/share");
		} else if (i == 2 && (v = getenv("XDG_CONFIG_HOME")) && *v) {
			snprintf(path, sizeof(path), "%s/containers/"
			    "containers.conf", v);
		} else if (i == 3 && (v = getenv("HOME")) && *v) {
			snprintf(path, sizeof(path), "%s/.config/containers/"
			    "containers.conf", v);
		} else {
			continue;
		}
		if ((f = fopen(path, "re")) == NULL)
			continue;
		for (engine = 0; fgets(line, sizeof(line), f); ) {
			p = line + strspn(line, " \t");
			if (*p == '[') {
				engine = strncmp(p, "[engine]", 8) == 0;
				continue;
			}
			if (!engine || strncmp(p, "remote", 6) != 0)
				continue;
			p += 6 + strspn(p + 6, " \t");
			if (*p++ != '=')
				continue;
			p += strspn(p, " \t");
			e = p + strcspn(p, " \t\r\n#");
			on = e - p == 4 && strncmp(p, "true", 4) == 0;
			snprintf(said, sizeof(said), "%s", path);
		}
		fclose(f);
	}
	return on ? said : NULL;
}

/*
 * What makes runtime's client talk to an engine on another host, or
 * NULL: there every bind mount of a run would name the engine's paths,
 * and docker would make an empty one where ours is missing.  podman:
 * CONTAINER_HOST, CONTAINER_CONNECTION or containers.conf's remote =
 * true; docker: a DOCKER_HOST that is
 * not a unix socket, a DOCKER_CONTEXT, or a current context in its
 * config.json other than "default".
 */
const char *
backend_remote(const char *runtime)
{
	static char why[512];
	const char *v, *dir;
	char path[PATH_MAX], buf[4096], *p;
	ssize_t n;
	int fd;

	if (is_podman(runtime)) {
		if ((v = getenv("CONTAINER_HOST")) && *v)
			snprintf(why, sizeof(why), "CONTAINER_HOST=%s", v);
		else if ((v = getenv("CONTAINER_CONNECTION")) && *v)
			snprintf(why, sizeof(why), "CONTAINER_CONNECTION=%s",
			    v);
		else if ((v = podman_conf_remote()) != NULL)
			snprintf(why, sizeof(why), "remote = true (%.400s)", v);
		else
			return NULL;
		return why;
	}
	if ((v = getenv("DOCKER_HOST")) && *v && strncmp(v, "unix://", 7))
		snprintf(why, sizeof(why), "DOCKER_HOST=%s", v);
	else if ((v = getenv("DOCKER_CONTEXT")) && *v &&
	    strcmp(v, "default") != 0)
		snprintf(why, sizeof(why), "DOCKER_CONTEXT=%s", v);
	else {
		/* "currentContext": "name" in DOCKER_CONFIG or ~/.docker */
		dir = getenv("DOCKER_CONFIG");
		if (dir && *dir)
			snprintf(path, sizeof(path), "%s/config.json", dir);
		else
			snprintf(path, sizeof(path), "%s/.docker/config.json",
			    (v = getenv("HOME")) ? v : "/");
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return NULL;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if ((p = strstr(buf, "\"currentContext\"")) == NULL ||
		    (p = strchr(p + 16, '"')) == NULL ||
		    strncmp(p, "\"default\"", 9) == 0)
			return NULL;
		n = (ssize_t)strcspn(p + 1, "\"");
		snprintf(why, sizeof(why), "docker context %.*s (%.300s)",
		    (int)(n < 128 ? n : 128), p + 1, path);
	}
	return why;
}

/*
 * Remote runs: the copy transport.  An engine reached as a client
 * (backend_remote()) has a disk of its own, so nothing is bind-mounted:
 * the container is created with volumes at /workspace and /sbx, the
 * run's files are copied in as archives (tar.c), it is started
 * attached, and what it left in /sbx/out and, rw, in /workspace is
 * copied back before it is removed.  Create, put, attach, get, inspect
 * and delete: the seam a Kubernetes backend would fill in (see
 * doc/kubernetes.md).
 */

/* What the container sees of a file no run may write: not its user's. */
static struct tar_owner
not_users(const struct job *jb)
{
	struct tar_owner o = { 0, 0, 1 };

	o.uid = jb->uid == 0 ? 65534 : 0;
	o.gid = jb->gid;
	return o;
}

/* /sbx: sbx's files and the init, not the user's; out/ the user's. */
static int
put_sbx(int fd, const struct job *jb, struct tar_result *n)
{
	struct tar_owner o = not_users(jb), user = { 0, 0, 0 };

	user.uid = jb->uid;
	user.gid = jb->gid;
	return tar_tree(fd, jb->lay.sbx, &o, n) || tar_dir(fd, "out", &user,
	    0700) || tar_file(fd, supervisor(), NAME_INIT, &o, 0755) ||
	    tar_end(fd) ? -1 : 0;
}

/* /workspace: the shadow, the user's unless it is read-only. */
static int
put_ws(int fd, const struct job *jb, struct tar_result *n)
{
	struct tar_owner o = not_users(jb);

	if (jb->pol.workspace != WS_RO) {
		o.uid = jb->uid;
		o.ro = 0;
	}
	return tar_tree(fd, jb->lay.ws, &o, n) || tar_end(fd) ? -1 : 0;
}

/*
 * Starts "runtime cp" between the container's dir and a pipe, whose
 * other end goes to *fd: in, the archive it reads; else the one it
 * writes.  podman's remote client keeps a copy of what it reads in
 * TMPDIR, and leaves it: its TMPDIR is the run's directory's.
 */
static pid_t
cp_start(const struct job *jb, const char *dir, int in, int *fd)
{
	const struct container *c = &jb->ctr;
	char *target = smprintf("%s:%s", c->name, dir);
	char *tmp = smprintf("%s/tmp", jb->lay.dir);
	char *argv[6];
	int p[2], null;
	size_t i = 0;
	pid_t pid;

	argv[i++] = (char *)c->runtime;
	argv[i++] = "cp";
	/* podman's default chowns to the container's user: keep ours */
	if (in && is_podman(c->runtime))
		argv[i++] = "--archive=false";
	argv[i++] = in ? "-" : target;
	argv[i++] = in ? target : "-";
	argv[i] = NULL;
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		die("mkdir %s:", tmp);
	if (pipe(p) < 0)
		die("pipe:");
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) < 0)
		die("fork:");
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		dup2(in ? p[0] : null, 0);
		dup2(in ? null : p[1], 1);
		dup2(null, 2);
		signal(SIGPIPE, SIG_DFL);
		setenv("TMPDIR", tmp, 1);
		execv(c->path, argv);
		_exit(EXIT_CANNOT);
	}
	close(in ? p[0] : p[1]);
	*fd = in ? p[1] : p[0];
	free(target);
	free(tmp);
	return pid;
}

/* What /sbx/out may bring back: its tmpfs's, were it local. */
static void
out_bound(const struct job *jb, struct tar_bound *b)
{
	memset(b, 0, sizeof(*b));
	b->strip = -1;		/* podman's "/", docker's "out/" */
	b->chown = geteuid() == 0;
	b->uid = jb->uid;
	b->gid = jb->gid;
	b->bytes = 2 << 20;	/* OUT_SIZE */
	b->files = OUT_INODES;
}

/*
 * The small copy, /sbx in or /sbx/out back, beside the workspace's: its
 * archive written, or read into out/, by a child of ours, *side, who
 * says only whether it could.  It never dies: what it would do at exit
 * is ours.  Returns the client.
 */
static pid_t
cp_side(const struct job *jb, int in, pid_t *side)
{
	struct tar_result res;
	struct tar_bound b;
	pid_t client;
	int fd;

	client = cp_start(jb, in ? CTR_SBX : CTR_OUT, in, &fd);
	if ((*side = fork()) < 0)
		die("fork:");
	if (*side == 0) {
		memset(&res, 0, sizeof(res));
		out_bound(jb, &b);
		if ((in ? put_sbx(fd, jb, &res) : tar_extract(fd,
		    jb->lay.out, &b, &res)) < 0)
			_exit(1);
		_exit(res.full ? 2 : 0);
	}
	close(fd);
	return client;
}

/*
 * A copy's end: its client's status, then its side's; 0 if both did,
 * or if the side stopped at its bound (2), which cut the client off.
 */
static int
cp_end(pid_t client, pid_t side, const char *dir, const char **why)
{
	static char msg[256];
	int code = backend_wait(client);
	int sc = side < 0 ? 0 : backend_wait(side), ok = sc == 0;

	if (sc == 2)
		return 0;
	if (code != 0) {
		snprintf(msg, sizeof(msg), "cp %s: exit status %d", dir, code);
		*why = msg;
		return -1;
	}
	if (!ok) {
		*why = "its archive could not be made";
		return -1;
	}
	return 0;
}

/* A command of the runtime's, argv, to its end; its stderr's last line
 * in *why. */
static int
run_argv(const struct container *c, char **argv, const char **why)
{
	static char said[512];
	char buf[4096], *p;
	size_t len = 0;
	ssize_t n;
	int fd[2], null;
	pid_t pid;

	if (pipe(fd) < 0)
		die("pipe:");
	fcntl(fd[0], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) < 0)
		die("fork:");
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		backend_exec(c, argv, null, fd[1]);
	}
	close(fd[1]);
	/* The last of it: a line that the buffer cuts is the one kept. */
	while ((n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1) {
			memmove(buf, buf + len / 2, len - len / 2);
			len -= len / 2;
		}
	}
	close(fd[0]);
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	p = strrchr(buf, '\n');
	snprintf(said, sizeof(said), "%.511s", p ? p + 1 : buf);
	*why = said;
	return backend_wait(pid);
}

/* What the copy in put in /workspace: the copy back's bounds' base. */
static struct tar_result copied;

/* A remote run that cannot go on: its container goes. */
static int
remote_fail(struct container *c, struct result *r, const char *why)
{
	r->error = why;
	r->status = EXIT_FAIL;
	r->exit_code = -1;
	backend_remove(c);
	c->started = 0;
	return -1;
}

/*
 * The image asked for on the engine, the container created, then the
 * copy in: /sbx, and /workspace unless it is none.
 */
int
remote_create(struct job *jb, char **argv, struct result *r)
{
	static char msg[768];
	struct container *c = &jb->ctr;
	const char *why = NULL, *bad;
	double t = now();
	pid_t client, side, ws;
	int fd, ok = 1;

	r->remote = 1;
	c->started = 1;
	/* The image is asked for once the create fails: a round trip
	 * less for every run that has it. */
	if (run_argv(c, argv, &why) != 0) {
		if ((bad = backend_diagnose(c)) != NULL)
			return remote_fail(c, r, bad);
		snprintf(msg, sizeof(msg), "%s: the container was not "
		    "created: %s", c->runtime, why);
		return remote_fail(c, r, msg);
	}
	r->create = now() - t;
	t = now();
	/* /sbx and /workspace at once: each copy costs the client's
	 * start and a round trip. */
	memset(&copied, 0, sizeof(copied));
	client = cp_side(jb, 1, &side);
	if (jb->pol.workspace != WS_NONE) {
		ws = cp_start(jb, CTR_WORKSPACE, 1, &fd);
		ok = put_ws(fd, jb, &copied) == 0;
		close(fd);
		if (cp_end(ws, -1, CTR_WORKSPACE, &why) < 0 || !ok)
			ok = 0;
	}
	if (cp_end(client, side, CTR_SBX, &why) < 0 || !ok) {
		snprintf(msg, sizeof(msg), "%s: copy into the container: %s",
		    c->runtime, why ? why : "the archive could not be made");
		return remote_fail(c, r, msg);
	}
	r->copy_in = now() - t;
	return 0;
}

/*
 * What the run left comes back: /sbx/out into out/, and, rw, the
 * workspace into ws/, emptied first, within workspace_size and
 * workspace_files past the copy.  One that stops there marks the run's
 * directory partial: the change report says it is incomplete, and
 * sbx apply applies none of it.  Returns what failed, or NULL.
 */
const char *
remote_get(struct job *jb, struct result *r)
{
	static char msg[768];
	const struct policy *p = &jb->pol;
	struct tar_result res;
	struct tar_bound b;
	const char *why = NULL, *said;
	char *mark;
	double t = now();
	pid_t client, side, ws;
	int fd, ok = 1;

	/* /sbx/out and /workspace at once, as they went in. */
	client = cp_side(jb, 0, &side);
	if (p->workspace == WS_RW) {
		out_bound(jb, &b);
		b.bytes = p->ws_size > 0 ? copied.bytes + p->ws_size :
		    LLONG_MAX;
		b.files = p->ws_files > 0 ? copied.files + p->ws_files :
		    LONG_MAX;
		if (shadow_empty(jb->lay.ws) < 0)
			die("empty %s:", jb->lay.ws);
		ws = cp_start(jb, CTR_WORKSPACE, 0, &fd);
		if (tar_extract(fd, jb->lay.ws, &b, &res) < 0) {
			why = res.error;
			ok = 0;
		}
		close(fd);	/* past a bound: the client is cut off */
		if (cp_end(ws, -1, CTR_WORKSPACE, &said) < 0 && !res.full &&
		    ok) {
			why = said;
			ok = 0;
		}
		r->disk_full = res.full;
	}
	if (cp_end(client, side, CTR_OUT, &said) < 0)
		why = ok ? said : why;
	else if (ok)
		why = NULL;
	r->copy_out = now() - t;
	/* Not all of it back, or none: not the script's deletions, nor
	 * its changes none, and nothing for sbx apply to make. */
	if (p->workspace == WS_RW && (why || res.full)) {
		mark = smprintf("%s/" MARK_PARTIAL, jb->lay.dir);
		write_mark(mark, why ? MARK_FAILED : "");
		free(mark);
	}
	if (why == NULL)
		return NULL;
	snprintf(msg, sizeof(msg), "%s: copy out of the container: %s",
	    jb->ctr.runtime, why);
	return msg;
}

