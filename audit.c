/* See LICENSE file for copyright and license details. */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbx.h"
#include "proto.h"

/* SHA-256 (FIPS 180-4), for the script's fingerprint in the audit log. */
struct sha256 {
	uint32_t h[8];
	uint64_t len;
	unsigned char buf[64];
	size_t n;
};

static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
	0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
	0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
	0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
	0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
	0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
	0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
	0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void
sha_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
		    (w[i - 15] >> 3)) + w[i - 7] + (ROR(w[i - 2], 17) ^
		    ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		    ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

static void
sha_init(struct sha256 *s)
{
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19
	};

	memcpy(s->h, h0, sizeof(h0));
	s->len = 0;
	s->n = 0;
}

static void
sha_update(struct sha256 *s, const unsigned char *p, size_t n)
{
	s->len += n;
	while (n > 0) {
		size_t k = 64 - s->n < n ? 64 - s->n : n;
		memcpy(s->buf + s->n, p, k);
		s->n += k;
		p += k;
		n -= k;
		if (s->n == 64) {
			sha_block(s, s->buf);
			s->n = 0;
		}
	}
}

static void
sha_hex(struct sha256 *s, char out[65])
{
	unsigned char pad[72] = { 0x80 };
	uint64_t bits = s->len * 8;
	size_t padlen = (s->n < 56 ? 56 : 120) - s->n;
	int i;

	for (i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha_update(s, pad, padlen + 8);
	for (i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08lx", (unsigned long)s->h[i]);
}

/*
 * The SHA-256 of rel under the directory dir, found as the copy finds
 * files: no link followed on the way, a regular file; 0 on failure.
 */
int
sha256_file(const char *dir, const char *rel, char out[65])
{
	unsigned char buf[65536];
	struct sha256 s;
	struct stat st;
	ssize_t n;
	int root, fd;

	if ((root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return 0;
	fd = open_file(root, rel, &st);
	close(root);
	if (fd < 0)
		return 0;
	sha_init(&s);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha_update(&s, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return 0;
	sha_hex(&s, out);
	return 1;
}

/*
 * Opened before the run: an audit log that cannot be written stops the
 * run instead of letting it go unrecorded.
 */
int
audit_open(const char *path)
{
	int fd;

	if (path == NULL)
		return -1;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0640);
	if (fd < 0)
		die("audit_log %s:", path);
	return fd;
}

/*
 * The hash of the script as the container will run it, the copy sbx
 * staged: in the shadow at /workspace, or in rundir/sbx at /sbx.  Not
 * the original, which its owner can change at any moment.
 */
static int
staged_sha256(const struct job *jb, char out[65])
{
	size_t n = strlen(CTR_WORKSPACE "/");

	if (strncmp(jb->script_ctr, CTR_WORKSPACE "/", n) == 0)
		return sha256_file(jb->lay.ws, jb->script_ctr + n, out);
	return sha256_file(jb->lay.sbx, jb->script_ctr + strlen(CTR_SBX "/"),
	    out);
}

/* An audit line's first members: its phase, when, and whose. */
void
audit_begin(struct jbuf *j, const char *phase)
{
	struct passwd *pw = getpwuid(getuid());
	char when[32];
	time_t t = time(NULL);

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	jb_begin(j, "audit");
	jb_str(j, "phase", phase);
	jb_str(j, "time", when);
	jb_str(j, "user", pw ? pw->pw_name : NULL);
	jb_int(j, "uid", (long long)getuid());
}

/*
 * One line, one write(2) on an O_APPEND descriptor: concurrent runs
 * append whole lines and never interleave.  Two lines a run or step:
 * phase "start" just before its container starts, or its step is sent,
 * with the staged script's hash; phase "end" with the same and how it
 * ended (r).  A run that never ends, its sbx killed, still has its
 * first.  One run or step a process: the hash is kept for the end.
 */
void
audit_write(int fd, const struct job *jb, const struct result *r,
    const char *image_id)
{
	static char sha[65] = "unreadable";
	struct jbuf j;

	if (fd < 0)
		return;
	if (r == NULL && !staged_sha256(jb, sha))
		strcpy(sha, "unreadable");
	audit_begin(&j, r ? "end" : "start");
	jb_str(&j, "template", jb->pol.name);
	policy_json(&j, &jb->pol);
	jb_str(&j, "runtime", jb->ctr.runtime);
	jb_str(&j, "image", jb->image);
	jb_str(&j, "image_id", image_id);
	jb_str(&j, "name", jb->ctr.name);
	jb_str(&j, "dir", jb->dir);
	jb_str(&j, "script", jb->script);
	jb_str(&j, "script_sha256", sha);
	if (r) {
		jb_int(&j, "status", r->status);
		jb_bool(&j, "timed_out", r->timed_out);
		jb_bool(&j, "oom_killed", r->oom_killed);
		jb_bool(&j, "truncated", r->truncated);
		jb_fixed(&j, "duration", (long long)(r->duration * 1000), 3);
		jb_count(&j, "cpu_time", r->cpu_us >= 0 ? r->cpu_us / 1000 :
		    -1, 3);
		jb_count(&j, "memory_peak", r->mem_peak, 0);
		jb_str(&j, "error", r->error);
	}
	if (jb_write(&j, fd) < 0)
		warn("audit_log: write:");
}
