/*
 * util.c's interface for the fuzz targets, written anew: die() returns
 * to the harness with longjmp instead of exiting, so one bad input does
 * not end the fuzzing process.  Nothing else here differs in meaning.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbx.h"
#include "tests/fuzz/fuzz.h"

const char *argv0 = "sbx";
jmp_buf *fuzz_jmp;
char fuzz_msg[1024];
int fuzz_track;

static int verbose = -1;	/* $FUZZ_VERBOSE: print warn and die */

/* fmt, and strerror(errno) if fmt ends with ':', as util.c words it. */
static void
format(char *buf, size_t size, const char *fmt, va_list ap)
{
	int err = errno;
	size_t n;

	vsnprintf(buf, size, fmt, ap);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == ':')
		snprintf(buf + n, size - n, " %s", strerror(err));
	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "%s: %s\n", argv0, buf);
	errno = err;
}

void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(fuzz_msg, sizeof(fuzz_msg), fmt, ap);
	va_end(ap);
	if (fuzz_jmp == NULL)
		fuzz_fail("die() where the harness expects none: %s",
		    fuzz_msg);
	longjmp(*fuzz_jmp, 1);
}

void
warn(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	format(buf, sizeof(buf), fmt, ap);
	va_end(ap);
}

void *
emalloc(size_t n)
{
	void *p = malloc(n > 0 ? n : 1);

	if (p == NULL)
		die("malloc:");
	return p;
}

void *
ecalloc(size_t n, size_t size)
{
	void *p = calloc(n > 0 ? n : 1, size > 0 ? size : 1);

	if (p == NULL)
		die("calloc:");
	return p;
}

void *
erealloc(void *p, size_t n)
{
	void *q = realloc(p, n > 0 ? n : 1);

	if (q == NULL)
		die("realloc:");
	return q;
}

char *
estrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(emalloc(n), s, n);
}

char *
smprintf(const char *fmt, ...)
{
	va_list ap, aq;
	char *s;
	int n;

	va_start(ap, fmt);
	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0) {
		va_end(ap);
		die("vsnprintf:");
	}
	s = emalloc((size_t)n + 1);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* The fields of s between runs of sep bytes, none empty; counted first. */
char **
strv_split(const char *s, const char *sep)
{
	const char *p;
	char **v;
	size_t nf = 0, i = 0, len;

	for (p = s + strspn(s, sep); *p; p += len, p += strspn(p, sep)) {
		len = strcspn(p, sep);
		nf++;
	}
	v = ecalloc(nf + 1, sizeof(*v));
	for (p = s + strspn(s, sep); *p; p += len, p += strspn(p, sep)) {
		len = strcspn(p, sep);
		v[i] = emalloc(len + 1);
		memcpy(v[i], p, len);
		v[i++][len] = '\0';
	}
	v[i] = NULL;
	return v;
}

size_t
strv_len(char **v)
{
	size_t n;

	for (n = 0; v != NULL && v[n] != NULL; n++)
		;
	return n;
}

void
strv_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- fopen and fclose, wrapped by the linker for fuzz_ini ------------ */

FILE *__real_fopen(const char *path, const char *mode);
int __real_fclose(FILE *fp);
FILE *__wrap_fopen(const char *path, const char *mode);
int __wrap_fclose(FILE *fp);

static FILE *tracked[8];

FILE *
__wrap_fopen(const char *path, const char *mode)
{
	FILE *fp = __real_fopen(path, mode);
	size_t i;

	if (fp == NULL || !fuzz_track)
		return fp;
	for (i = 0; i < LEN(tracked); i++)
		if (tracked[i] == NULL) {
			tracked[i] = fp;
			return fp;
		}
	fuzz_fail("more than %zu files open at once", LEN(tracked));
}

int
__wrap_fclose(FILE *fp)
{
	size_t i;

	for (i = 0; i < LEN(tracked); i++)
		if (tracked[i] == fp)
			tracked[i] = NULL;
	return __real_fclose(fp);
}

void
fuzz_close_tracked(void)
{
	size_t i;

	for (i = 0; i < LEN(tracked); i++)
		if (tracked[i] != NULL) {
			__real_fclose(tracked[i]);
			tracked[i] = NULL;
		}
}
