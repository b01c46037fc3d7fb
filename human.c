/* See LICENSE file for copyright and license details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbx.h"

/*
 * What a person reads instead of JSON lines (--human, or a terminal on
 * stdout): the script's output as it comes, raw, on our stdout and
 * stderr; a diff's patch; sbx's warnings; and at the end one summary
 * line on stderr.  The events are made as always and read back here
 * (jb_emit hands each line to jb_render), so that what a run says has one home
 * and this file only chooses what to show of it.  Our own lines are
 * compact JSON: json.c's jl_ readers find a member.
 */

/* --human (1), --json (0), or neither (-1): a terminal on stdout is a
 * person. */
void
human_choose(int how)
{
	jb_render = how > 0 || (how < 0 && isatty(1)) ? human_line : NULL;
}

static void
append(char *buf, size_t size, const char *fmt, double v)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, fmt, v);
}

/* The one line a run or step ends with. */
static void
summary(const char *line)
{
	char out[1024], s[512];
	double code = jl_number(line, "exit_code");
	double sig = jl_number(line, "signal");
	const char *c;
	size_t len;
	double v;

	snprintf(out, sizeof(out), "sbx: ");
	if (jl_yes(line, "timed_out"))
		append(out, sizeof(out), "timed out", 0);
	else if (jl_number(line, "interrupted") > 0)
		append(out, sizeof(out), "interrupted by signal %.0f",
		    jl_number(line, "interrupted"));
	else if (jl_yes(line, "truncated"))
		append(out, sizeof(out), "output past max_output, killed", 0);
	else if (sig > 0)
		append(out, sizeof(out), "killed by signal %.0f", sig);
	else if (code >= 0)
		append(out, sizeof(out), "exit %.0f", code);
	else
		append(out, sizeof(out), "status %.0f",
		    jl_number(line, "status"));
	if (jl_yes(line, "oom_killed"))
		append(out, sizeof(out), ", out of memory", 0);
	if (jl_yes(line, "cpu_time_exceeded"))
		append(out, sizeof(out), ", cpu_time limit", 0);
	if (jl_yes(line, "disk_exceeded"))
		append(out, sizeof(out), ", workspace full", 0);
	if (*jl_str(line, "import_refused", s, sizeof(s)))
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
		    ", import of %s refused", s);
	append(out, sizeof(out), ", %.2f s", jl_number(line, "duration"));
	if ((v = jl_number(line, "cpu_time")) >= 0)
		append(out, sizeof(out), ", cpu %.2f s", v);
	if ((v = jl_number(line, "memory_peak")) >= 0)
		append(out, sizeof(out), ", peak %.1f MB", v / 1e6);
	if ((c = jl_member(line, "changes", &len)) != NULL && *c == '{')
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
		    ", %.0f added, %.0f modified, %.0f deleted",
		    jl_number(c, "added"), jl_number(c, "modified"),
		    jl_number(c, "deleted"));
	if (*jl_str(line, "error", s, sizeof(s)))
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
		    "; error: %s", s);
	if (*jl_str(line, "shadow", s, sizeof(s)))
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
		    "; kept in %s", s);
	snprintf(out + strlen(out), sizeof(out) - strlen(out), "\n");
	jb_out(2, out, strlen(out));
}

/* One event line of ours, shown as a person wants it, or not at all. */
void
human_line(const char *line)
{
	static char buf[4096];
	char ev[32], path[512], host[256], *patch;
	const char *v;
	size_t len;

	jl_str(line, "event", ev, sizeof(ev));
	if (strcmp(ev, "result") == 0) {
		summary(line);
	} else if (strcmp(ev, "warning") == 0 || strcmp(ev, "error") == 0) {
		snprintf(buf, sizeof(buf), "sbx: %s: ", ev);
		jl_str(line, "message", buf + strlen(buf), sizeof(buf) -
		    strlen(buf) - 1);
		strcat(buf, "\n");
		jb_out(2, buf, strlen(buf));
	} else if (strcmp(ev, "code") == 0) {
		/* What of the reply runs: a person wants to know. */
		snprintf(buf, sizeof(buf), "sbx: running %s ", (v =
		    jl_member(line, "blocks", &len)) && memchr(v, ',', len) ?
		    "blocks" : "block");
		if (v)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			    "%.*s", (int)(len > 2 ? len - 2 : 0), v + 1);
		jl_str(line, "file", path, sizeof(path));
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    " of %s, as ", path);
		jl_str(line, "language", buf + strlen(buf), sizeof(buf) -
		    strlen(buf) - 1);
		strcat(buf, "\n");
		jb_out(2, buf, strlen(buf));
	} else if (strcmp(ev, "net") == 0 && *jl_str(line, "reason", path,
	    sizeof(path)) != '\0') {
		/* A connection the proxy refused or cut: why. */
		snprintf(buf, sizeof(buf), "sbx: net: %s:%lld: %s\n",
		    jl_str(line, "host", host, sizeof(host)),
		    (long long)jl_number(line, "port"), path);
		jb_out(2, buf, strlen(buf));
	} else if (strcmp(ev, "diff") == 0) {
		/* A patch is as long as its event allows: no buffer of ours
		 * may cut it. */
		if (jl_member(line, "patch", &len) == NULL)
			len = 0;
		patch = emalloc(len + 1);
		if (*jl_str(line, "patch", patch, len + 1) == '\0') {
			snprintf(buf, sizeof(buf), "sbx: %s: ", jl_str(line,
			    "path", path, sizeof(path)));
			jl_str(line, "omitted", buf + strlen(buf), sizeof(buf) -
			    strlen(buf) - 1);
			strcat(buf, "\n");
			jb_out(1, buf, strlen(buf));
		} else {
			jb_out(1, patch, strlen(patch));
		}
		free(patch);
	}
}
