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
 * compact JSON: a flat scan of the top level finds a member.
 */

/* --human (1), --json (0), or neither (-1): a terminal on stdout is a
 * person. */
void
human_choose(int how)
{
	jb_render = how > 0 || (how < 0 && isatty(1)) ? human_line : NULL;
}

/* Past the JSON value at p: a string, an object or array, or a word. */
static const char *
skip_value(const char *p)
{
	int depth = 0, str = 0;

	for (; *p; p++) {
		if (str) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				str = 0;
			if (!str && depth == 0)
				return p + 1;
			continue;
		}
		if (*p == '"')
			str = 1;
		else if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (depth-- == 0)
				return p;
			if (depth == 0)
				return p + 1;
		} else if (*p == ',' && depth == 0)
			return p;
	}
	return p;
}

/* The raw value of the top-level member key of line, or NULL. */
static const char *
member(const char *line, const char *key, size_t *len)
{
	size_t kl = strlen(key);
	const char *p = line + 1, *v;

	while (*p == '"') {
		v = strchr(p + 1, '"');
		if (v == NULL || v[1] != ':')
			return NULL;
		v += 2;
		if ((size_t)(v - p - 3) == kl && strncmp(p + 1, key, kl) == 0) {
			*len = (size_t)(skip_value(v) - v);
			return v;
		}
		p = skip_value(v);
		if (*p == ',')
			p++;
	}
	return NULL;
}

static long
hex4(const char *p)
{
	char h[5];

	memcpy(h, p, 4);
	h[4] = '\0';
	return strtol(h, NULL, 16);
}

/* A string member, unescaped into buf (\u past ASCII as '?'); "" if none. */
static const char *
str(const char *line, const char *key, char *buf, size_t size)
{
	const char *v;
	size_t len = 0, o = 0, i;
	long c;

	if ((v = member(line, key, &len)) == NULL || *v != '"')
		len = 0;
	for (i = 1; i + 1 < len && o + 1 < size; i++) {
		if (v[i] != '\\') {
			buf[o++] = v[i];
			continue;
		}
		switch (v[++i]) {
		case 'n': buf[o++] = '\n'; break;
		case 't': buf[o++] = '\t'; break;
		case 'r': buf[o++] = '\r'; break;
		case 'b': buf[o++] = '\b'; break;
		case 'f': buf[o++] = '\f'; break;
		case 'u':
			c = i + 4 < len ? hex4(v + i + 1) : '?';
			buf[o++] = c > 0 && c < 128 ? (char)c : '?';
			i += 4;
			break;
		default: buf[o++] = v[i]; break;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* A number member, or -1 when it is null or missing. */
static double
number(const char *line, const char *key)
{
	size_t len;
	const char *v = member(line, key, &len);

	return v && (*v == '-' || (*v >= '0' && *v <= '9')) ?
	    strtod(v, NULL) : -1;
}

static int
yes(const char *line, const char *key)
{
	size_t len;
	const char *v = member(line, key, &len);

	return v && strncmp(v, "true", 4) == 0;
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
	double code = number(line, "exit_code"), sig = number(line, "signal");
	const char *c;
	size_t len;
	double v;

	snprintf(out, sizeof(out), "sbx: ");
	if (yes(line, "timed_out"))
		append(out, sizeof(out), "timed out", 0);
	else if (number(line, "interrupted") > 0)
		append(out, sizeof(out), "interrupted by signal %.0f",
		    number(line, "interrupted"));
	else if (yes(line, "truncated"))
		append(out, sizeof(out), "output past max_output, killed", 0);
	else if (sig > 0)
		append(out, sizeof(out), "killed by signal %.0f", sig);
	else if (code >= 0)
		append(out, sizeof(out), "exit %.0f", code);
	else
		append(out, sizeof(out), "status %.0f", number(line, "status"));
	if (yes(line, "oom_killed"))
		append(out, sizeof(out), ", out of memory", 0);
	if (yes(line, "cpu_time_exceeded"))
		append(out, sizeof(out), ", cpu_time limit", 0);
	if (yes(line, "disk_exceeded"))
		append(out, sizeof(out), ", workspace full", 0);
	if (*str(line, "import_refused", s, sizeof(s)))
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
		    ", import of %s refused", s);
	append(out, sizeof(out), ", %.2f s", number(line, "duration"));
	if ((v = number(line, "cpu_time")) >= 0)
		append(out, sizeof(out), ", cpu %.2f s", v);
	if ((v = number(line, "memory_peak")) >= 0)
		append(out, sizeof(out), ", peak %.1f MB", v / 1e6);
	if ((c = member(line, "changes", &len)) != NULL && *c == '{')
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
		    ", %.0f added, %.0f modified, %.0f deleted",
		    number(c, "added"), number(c, "modified"),
		    number(c, "deleted"));
	if (*str(line, "error", s, sizeof(s)))
		snprintf(out + strlen(out), sizeof(out) - strlen(out),
		    "; error: %s", s);
	if (*str(line, "shadow", s, sizeof(s)))
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
	char ev[32], path[512], *patch;
	size_t len;

	str(line, "event", ev, sizeof(ev));
	if (strcmp(ev, "result") == 0) {
		summary(line);
	} else if (strcmp(ev, "warning") == 0 || strcmp(ev, "error") == 0) {
		snprintf(buf, sizeof(buf), "sbx: %s: ", ev);
		str(line, "message", buf + strlen(buf), sizeof(buf) -
		    strlen(buf) - 1);
		strcat(buf, "\n");
		jb_out(2, buf, strlen(buf));
	} else if (strcmp(ev, "diff") == 0) {
		/* A patch is as long as its event allows: no buffer of ours
		 * may cut it. */
		if (member(line, "patch", &len) == NULL)
			len = 0;
		patch = emalloc(len + 1);
		if (*str(line, "patch", patch, len + 1) == '\0') {
			snprintf(buf, sizeof(buf), "sbx: %s: ", str(line,
			    "path", path, sizeof(path)));
			str(line, "omitted", buf + strlen(buf), sizeof(buf) -
			    strlen(buf) - 1);
			strcat(buf, "\n");
			jb_out(1, buf, strlen(buf));
		} else {
			jb_out(1, patch, strlen(patch));
		}
		free(patch);
	}
}
