/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"

/*
 * sbx gc: what a killed sbx left behind, containers and directories,
 * and never anything sbx did not make.  A container is sbx's only if
 * its sbx.run label names a directory of ours whose "container" file
 * names it (see rundir.c); a directory only if its owner is gone.
 */

/*
 * Whether the container named name, labelled sbx.run=dir, is one sbx
 * made: dir is a run's or a session's directory, private and ours,
 * whose container file names it.  Only sbx writes there, so a label
 * copied or made up proves nothing.
 */
static int
ours(const char *dir, const char *name)
{
	const char *base = strrchr(dir, '/');
	char buf[64];
	struct stat st;

	return *dir == '/' && (strncmp(base + 1, RUNDIR_PREFIX,
	    strlen(RUNDIR_PREFIX)) == 0 || strncmp(base + 1, SESSION_PREFIX,
	    strlen(SESSION_PREFIX)) == 0 || pool_slot(dir)) &&
	    read_mark(dir, "container", buf, sizeof(buf), &st) > 0 &&
	    st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
	    strcmp(buf, name) == 0;
}

/*
 * A container that is ours goes once its sbx is gone or its deadline
 * has passed.  A session outlives the sbx that started it; an owner
 * that cannot be judged (another pid namespace) may still be running:
 * for both, only the deadline counts.
 */
static void
gc_container(const struct container *rt, const struct labels *l)
{
	struct container c = *rt;
	long long deadline;
	int alive;

	if (strncmp(l->name, "sbx-", 4) != 0 ||
	    strlen(l->name) >= sizeof(c.name) ||
	    sscanf(l->deadline, "%lld", &deadline) != 1 ||
	    !ours(l->run, l->name))
		return;
	alive = *l->session ? 1 : owner_alive(l->owner);
	if (alive != 0 && deadline > (long long)time(NULL))
		return;
	snprintf(c.name, sizeof(c.name), "%s", l->name);
	if (backend_remove(&c) == 0)
		event_gc("container", c.runtime, c.name, alive != 0 ?
		    "deadline passed" : "owner gone");
	else
		warn("%s: cannot remove container %s", c.runtime, c.name);
}

/* A run directory's owner file, read as ours but bounded; or NULL. */
static char *
read_owner(const char *dir)
{
	static char buf[128];
	struct stat st;

	return read_mark(dir, "owner", buf, sizeof(buf), &st) > 0 ? buf :
	    NULL;
}

/*
 * A run directory goes once it is not kept and its sbx is known to be
 * gone.  One whose owner cannot be judged (another pid namespace, no
 * owner file yet) stays.
 */
static void
gc_dir(const struct layout *l)
{
	struct stat st;

	if (lstat(l->kept, &st) == 0 || owner_alive(read_owner(l->dir)) != 0)
		return;
	if (rundir_remove(l->dir) == 0)
		event_gc("directory", NULL, l->dir, "owner gone");
	else
		warn("remove %s:", l->dir);
}

/*
 * On every runtime in PATH, or the one named, then in TMPDIR.  A
 * directory is what ties a container to sbx: not one goes while a
 * runtime could not say what it holds.
 */
int
gc(const char *runtime)
{
	static const char *names[] = { "podman", "docker" };
	struct container c;
	size_t i;
	int status = 0;

	for (i = 0; i < LEN(names); i++) {
		if (runtime && strcmp(runtime, names[i]) != 0)
			continue;
		memset(&c, 0, sizeof(c));
		c.runtime = names[i];
		c.remote = backend_remote(names[i]);
		if ((c.path = runtime_find(names[i])) == NULL)
			continue;
		if (backend_ps(&c, gc_container) < 0) {
			event_msg("warning", "%s: cannot list containers",
			    names[i]);
			status = EXIT_FAIL;
		}
		free(c.path);
	}
	if (status == 0) {
		rundir_each(rundir_name, gc_dir);
		session_gc();
		pool_gc(runtime);
	}
	return status;
}
