/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"

/*
 * sbx ps: the runs, sessions and pool containers alive on this
 * machine, one "ps" line each, with what they use now: the CPU time
 * and memory of the container's cgroup, read on the host through its
 * pid 1's /proc/PID/cgroup, and, for a session with a step in flight,
 * which step and since when.
 */

/* The first number in a file of /sys or /proc, or -1. */
static long long
number_in(const char *path, const char *after)
{
	char buf[4096], *p;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = after ? strstr(buf, after) : buf;
	if (p == NULL)
		return -1;
	p += after ? strlen(after) : 0;
	return *p >= '0' && *p <= '9' ? strtoll(p, NULL, 10) : -1;
}

/* Is word one of the comma-separated list? */
static int
in_list(const char *list, const char *word)
{
	size_t n = strlen(word), len;

	for (; *list; list += len + (list[len] == ',')) {
		len = strcspn(list, ",");
		if (len == n && strncmp(list, word, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * The cgroup of pid for a v1 controller, or v2's for "", from its
 * /proc/PID/cgroup: "ID:CONTROLLERS:PATH" lines.  Caller frees.
 */
static char *
cgroup_of(long pid, const char *controller)
{
	char path[64], line[4096], *c, *p, *found = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/cgroup", pid);
	if ((f = fopen(path, "r")) == NULL)
		return NULL;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if ((c = strchr(line, ':')) == NULL ||
		    (p = strchr(++c, ':')) == NULL)
			continue;
		*p++ = '\0';
		if (*controller ? in_list(c, controller) : *c == '\0')
			found = estrdup(p);
	}
	fclose(f);
	return found;
}

/* CPU microseconds and memory bytes of pid's cgroup now, or -1. */
static void
usage_now(long pid, long long *cpu_us, long long *mem)
{
	char *g, *path;

	*cpu_us = *mem = -1;
	if ((g = cgroup_of(pid, "cpuacct")) != NULL) {
		path = smprintf("/sys/fs/cgroup/cpuacct%s/cpuacct.usage", g);
		if ((*cpu_us = number_in(path, NULL)) >= 0)
			*cpu_us /= 1000;
		free(path);
		free(g);
	}
	if ((g = cgroup_of(pid, "memory")) != NULL) {
		path = smprintf("/sys/fs/cgroup/memory%s/"
		    "memory.usage_in_bytes", g);
		*mem = number_in(path, NULL);
		free(path);
		free(g);
	}
	if ((g = cgroup_of(pid, "")) != NULL) {
		if (*cpu_us < 0) {
			path = smprintf("/sys/fs/cgroup%s/cpu.stat", g);
			*cpu_us = number_in(path, "usage_usec ");
			free(path);
		}
		if (*mem < 0) {
			path = smprintf("/sys/fs/cgroup%s/memory.current", g);
			*mem = number_in(path, NULL);
			free(path);
		}
		free(g);
	}
}

/* Seconds since pid started: field 22 of /proc/PID/stat, in ticks. */
static double
age(long pid)
{
	char path[64], buf[1024], *p;
	double up, hz = (double)sysconf(_SC_CLK_TCK);
	long long start;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (p == NULL || (p = strrchr(buf, ')')) == NULL)
		return -1;
	for (i = 2; i < 22 && p; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%lld", &start) != 1 ||
	    (f = fopen("/proc/uptime", "r")) == NULL)
		return -1;
	i = fscanf(f, "%lf", &up);
	fclose(f);
	return i == 1 ? up - start / hz : -1;
}

/* A session's step in flight: its number and its age, if ours. */
static long
step_in_flight(const char *run, double *since)
{
	struct layout l;
	struct timespec t;
	struct stat st;
	long n = 0;
	FILE *f;

	if (*run != '/')
		return 0;
	layout_set(&l, estrdup(run));
	if (lstat(l.dir, &st) == 0 && st.st_uid == geteuid() &&
	    (f = fopen(l.inflight, "r")) != NULL) {
		if (fscanf(f, "%ld", &n) != 1 || fstat(fileno(f), &st) < 0 ||
		    clock_gettime(CLOCK_REALTIME, &t) < 0)
			n = 0;
		else	/* written as the step was sent */
			*since = (double)(t.tv_sec - st.st_mtim.tv_sec) +
			    (t.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
		fclose(f);
	}
	layout_free(&l);
	return n;
}

static void
ps_one(const struct container *rt, const struct labels *lb)
{
	struct container c = *rt;
	long long cpu, mem;
	double since = 0;
	struct jbuf j;
	long pid, step = 0;

	if (strncmp(lb->name, "sbx-", 4) != 0 ||
	    strlen(lb->name) >= sizeof(c.name))
		return;
	snprintf(c.name, sizeof(c.name), "%s", lb->name);
	if ((pid = backend_pid(&c)) < 0)
		return;		/* made, or ending: not running */
	usage_now(pid, &cpu, &mem);
	if (*lb->session)
		step = step_in_flight(lb->run, &since);
	jb_begin(&j, "ps");
	jb_str(&j, "name", lb->name);
	jb_str(&j, "kind", *lb->pool ? "pool" : *lb->session ? "session" :
	    "run");
	jb_str(&j, "template", *lb->tmpl ? lb->tmpl : NULL);
	jb_str(&j, "runtime", c.runtime);
	jb_str(&j, "session", *lb->session ? lb->session : NULL);
	jb_str(&j, "pool", *lb->pool ? lb->pool : NULL);
	jb_count(&j, "step", step > 0 ? step : -1, 0);
	jb_count(&j, "elapsed", (long long)((step > 0 ? since : age(pid)) *
	    1000), 3);
	jb_count(&j, "cpu_time", cpu >= 0 ? cpu / 1000 : -1, 3);
	jb_count(&j, "memory", mem, 0);
	jb_str(&j, "dir", *lb->run ? lb->run : NULL);
	jb_emit(&j);
}

/* sbx ps [-r runtime] */
int
cmd_ps(int argc, char *argv[])
{
	static const char *names[] = { "podman", "docker" };
	const char *runtime = NULL;
	struct container c;
	size_t i;
	int ch, status = 0;

	while ((ch = getopt(argc, argv, "r:")) != -1) {
		if (ch != 'r')
			return EXIT_USAGE;
		runtime = optarg;
	}
	if (optind < argc || (runtime && strcmp(runtime, "podman") != 0 &&
	    strcmp(runtime, "docker") != 0))
		return EXIT_USAGE;
	for (i = 0; i < LEN(names); i++) {
		if (runtime && strcmp(runtime, names[i]) != 0)
			continue;
		memset(&c, 0, sizeof(c));
		c.runtime = names[i];
		if ((c.path = runtime_find(names[i])) == NULL)
			continue;
		if (backend_ps(&c, ps_one) < 0) {
			event_msg("warning", "%s: cannot list containers",
			    names[i]);
			status = EXIT_FAIL;
		}
		free(c.path);
	}
	return status;
}
