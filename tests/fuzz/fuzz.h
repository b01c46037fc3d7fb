/* Shared by the libFuzzer targets in tests/fuzz: see tests/fuzz.sh. */
#include <setjmp.h>
#include <stddef.h>

/*
 * fuzz_util.c replaces util.c.  Its die() formats the message into
 * fuzz_msg and longjmps to *fuzz_jmp; with fuzz_jmp NULL, a die() is a
 * bug the harness did not expect, and it aborts with the message.
 */
extern jmp_buf *fuzz_jmp;
extern char fuzz_msg[1024];

/* Aborts with a message: an invariant failed.  libFuzzer saves the input. */
void fuzz_fail(const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((noreturn, format(printf, 1, 2)))
#endif
    ;

/* fopen and fclose are wrapped at link time (-Wl,--wrap=...): the FILEs
 * opened while fuzz_track is set and not yet closed, closed here, for a
 * die() that longjmps past config_load's fclose. */
extern int fuzz_track;
void fuzz_close_tracked(void);

/* jsoncheck.c: a strict checker, written apart from json.c. */

/*
 * Length of the well-formed UTF-8 sequence at s (Unicode table 3-7), or
 * 0 if there is none.  *part is set when s[0..n) is a proper prefix of
 * a well-formed sequence that more bytes could complete.
 */
size_t u8_seq(const unsigned char *s, size_t n, int *part);

/* 1 if s[0..n) is exactly one JSON value, with optional white space
 * around it; strings must be valid UTF-8 with no lone surrogates. */
int json_valid(const char *s, size_t n);

/*
 * The JSON string at s[0..n): the number of bytes it takes, 0 if it is
 * not one.  Its decoded text goes to out (room for n bytes is enough)
 * and its length to *outlen.
 */
size_t json_string(const char *s, size_t n, char *out, size_t *outlen);
