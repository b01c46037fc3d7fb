/*
 * fuzz_tar: tar.c's reader, tar_extract(), on a hostile archive.  The
 * input is the archive and one byte of options after it: its two low
 * bits the strip (0, 1, else -1: as many as the first entry has), its
 * bit 2 tight bounds (4 entries, 1000 bytes) for the usual 200 and
 * 1 MiB, its bit 3 the checksums as they are; else each block of the
 * archive with "ustar" for a magic gets a right one first, so that a
 * header mutated is read, not refused.  The archive is read from a
 * file rewritten for each input (a pipe would block past 64 KiB) into
 * B/p/x, made anew each time; B, made once in $TMPDIR, holds p, s and
 * nothing else, s an empty directory that the seeds aim links at
 * (../s, ../../s), so that a link followed shows.  As root, entries go
 * to uid:gid 4321:4321.
 *
 * After it: B holds p and s only, p holds x only, s is empty: nothing
 * was made outside x.  Under x, only directories, regular files,
 * links and FIFOs; no set-uid or set-gid bit; no regular file with a
 * second name (hard links are made as copies); as root, each entry
 * owned as told.  What x holds is within the bounds and within what
 * res counts (at most b.files entries, b.bytes bytes of files); res
 * counts past them by one entry at most, and then only with res->full
 * (the entry that stopped it, not made).  -1 exactly with res->error,
 * else 0.  No descriptor left open.  Then x, entries of mode 000
 * included, is removed, no link followed, one descriptor held at a
 * time (a name can be 2000 deep), and must be gone.
 *
 * fuzz_util.c is not linked in: tar.c wants util.c's open_parent,
 * open_file and copy_fd, which are part of what is under test, so the
 * target has util.c and json.c, as tests/tartest does, and
 * fuzz_fail.c.  Nothing of tar.c dies but on a failed malloc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sbx.h"
#include "tests/fuzz/fuzz.h"

#define OWNER	4321

static char base[4096], pdir[4096 + 8], xdir[4096 + 16], sdir[4096 + 8];
static int in = -1;		/* the archive's file, unlinked */
static int root;		/* are we */

static void
cleanup(void)
{
	rmdir(xdir);
	rmdir(pdir);
	rmdir(sdir);
	rmdir(base);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096 + 8];

	(void)argc;
	(void)argv;
	snprintf(base, sizeof(base), "%s/sbx-fuzz-tar.XXXXXX",
	    tmp && *tmp == '/' ? tmp : "/tmp");
	if (mkdtemp(base) == NULL)
		fuzz_fail("mkdtemp %s: %s", base, strerror(errno));
	snprintf(pdir, sizeof(pdir), "%s/p", base);
	snprintf(sdir, sizeof(sdir), "%s/s", base);
	snprintf(xdir, sizeof(xdir), "%s/x", pdir);
	snprintf(path, sizeof(path), "%s/in", base);
	if (mkdir(pdir, 0700) < 0 || mkdir(sdir, 0700) < 0)
		fuzz_fail("mkdir in %s: %s", base, strerror(errno));
	if ((in = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) < 0 || unlink(path) < 0)
		fuzz_fail("%s: %s", path, strerror(errno));
	root = geteuid() == 0;
	atexit(cleanup);
	return 0;
}

/* Headers' checksums made right: see the top. */
static void
checksums(unsigned char *p, size_t n)
{
	unsigned sum;
	size_t o, i;

	for (o = 0; o + 512 <= n; o += 512) {
		if (memcmp(p + o + 257, "ustar", 5) != 0)
			continue;
		memset(p + o + 148, ' ', 8);
		for (sum = 0, i = 0; i < 512; i++)
			sum += p[o + i];
		snprintf((char *)p + o + 148, 8, "%06o", sum & 0777777);
	}
}

/* The lowest descriptor free. */
static int
lowest_free(void)
{
	int fd = dup(0);

	if (fd < 0)
		fuzz_fail("dup: %s", strerror(errno));
	close(fd);
	return fd;
}

/* dir's entries but "." and "..", which must be want (NULL-ended). */
static void
holds(const char *dir, const char **want)
{
	struct dirent *e;
	size_t n = 0, i;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		fuzz_fail("opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		for (i = 0; want[i] && strcmp(want[i], e->d_name) != 0; i++)
			;
		if (want[i] == NULL)
			fuzz_fail("%s/%s made, outside the directory", dir,
			    e->d_name);
		n++;
	}
	closedir(d);
	for (i = 0; want[i]; i++)
		;
	if (n != i)
		fuzz_fail("%s holds %zu entries, not %zu", dir, n, i);
}

/* One entry of x's tree, met on the way: what it may be. */
static void
entry(const char *path, const struct stat *st)
{
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) &&
	    !S_ISLNK(st->st_mode) && !S_ISFIFO(st->st_mode))
		fuzz_fail("%s: made as mode %o", path, (unsigned)st->st_mode);
	if (st->st_mode & (S_ISUID | S_ISGID))
		fuzz_fail("%s: a set-id bit, mode %o", path,
		    (unsigned)st->st_mode);
	if (S_ISREG(st->st_mode) && st->st_nlink != 1)
		fuzz_fail("%s: %lu links to one file", path,
		    (unsigned long)st->st_nlink);
	if (root && (st->st_uid != OWNER || st->st_gid != OWNER))
		fuzz_fail("%s: owned by %lu:%lu", path,
		    (unsigned long)st->st_uid, (unsigned long)st->st_gid);
}

/*
 * x's tree checked and removed, no link followed, one descriptor held:
 * the directory it is in is read again from the start each time, its
 * entries before the one at hand gone; ".." goes back up.  The
 * entries and the bytes of regular files to *files, *bytes.
 */
static void
clear(long *files, long long *bytes)
{
	char path[2 * PATH_MAX] = "", *slash;
	struct dirent *e;
	struct stat st;
	size_t len = 0, l;
	DIR *d;
	int fd, sub;

	if ((fd = open(xdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		fuzz_fail("open %s: %s", xdir, strerror(errno));
	for (;;) {
		if ((sub = openat(fd, ".", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC)) < 0 || (d = fdopendir(sub)) == NULL)
			fuzz_fail("x/%s: cannot read it: %s", path,
			    strerror(errno));
		while ((e = readdir(d)) != NULL && (strcmp(e->d_name,
		    ".") == 0 || strcmp(e->d_name, "..") == 0))
			;
		if (e == NULL) {
			closedir(d);
			if (len == 0)
				break;
			/* Done with it: up, and it removed. */
			if ((sub = openat(fd, "..", O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC)) < 0)
				fuzz_fail("x/%s/..: %s", path,
				    strerror(errno));
			close(fd);
			fd = sub;
			slash = strrchr(path, '/');
			if (unlinkat(fd, slash ? slash + 1 : path,
			    AT_REMOVEDIR) < 0)
				fuzz_fail("rmdir x/%s: %s", path,
				    strerror(errno));
			len = slash ? (size_t)(slash - path) : 0;
			path[len] = '\0';
			continue;
		}
		l = strlen(e->d_name);
		if (len + l + 2 > sizeof(path))
			fuzz_fail("x/%s/%s: a path too long", path, e->d_name);
		if (len)
			path[len++] = '/';
		memcpy(path + len, e->d_name, l + 1);
		closedir(d);
		if (fstatat(fd, path + len, &st, AT_SYMLINK_NOFOLLOW) < 0)
			fuzz_fail("lstat x/%s: %s", path, strerror(errno));
		entry(path, &st);
		++*files;
		if (S_ISREG(st.st_mode))
			*bytes += st.st_size;
		if (S_ISDIR(st.st_mode)) {
			/* Mode 000 for all we know: made ours first. */
			if (fchmodat(fd, path + len, 0700, 0) < 0 ||
			    (sub = openat(fd, path + len, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				fuzz_fail("x/%s: cannot open it: %s", path,
				    strerror(errno));
			close(fd);
			fd = sub;
			len += l;
			continue;
		}
		if (unlinkat(fd, path + len, 0) < 0)
			fuzz_fail("rm x/%s: %s", path, strerror(errno));
		len = len ? len - 1 : 0;
		path[len] = '\0';
	}
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *in_base[] = { "p", "s", NULL };
	static const char *in_p[] = { "x", NULL };
	static const char *none[] = { NULL };
	static const int strips[] = { 0, 1, -1, -1 };
	struct tar_result res;
	struct tar_bound b;
	long files = 0;
	long long bytes = 0;
	unsigned char *copy;
	int rc, fd0;
	uint8_t opt;

	if (size < 1)
		return 0;
	opt = data[--size];
	memset(&b, 0, sizeof(b));
	b.strip = strips[opt & 3];
	b.files = opt & 4 ? 4 : 200;
	b.bytes = opt & 4 ? 1000 : 1 << 20;
	b.chown = root;
	b.uid = b.gid = OWNER;
	copy = memcpy(malloc(size + 1), data, size);
	if (!(opt & 8))
		checksums(copy, size);
	if (ftruncate(in, 0) < 0 || (size > 0 &&
	    pwrite(in, copy, size, 0) != (ssize_t)size) ||
	    lseek(in, 0, SEEK_SET) < 0)
		fuzz_fail("the archive's file: %s", strerror(errno));
	free(copy);
	if (mkdir(xdir, 0700) < 0)
		fuzz_fail("mkdir %s: %s", xdir, strerror(errno));

	fd0 = lowest_free();
	memset(&res, 0x5a, sizeof(res));
	rc = tar_extract(in, xdir, &b, &res);
	if (lowest_free() != fd0)
		fuzz_fail("a descriptor left open: %d", fd0);
	if (rc != 0 && rc != -1)
		fuzz_fail("tar_extract returned %d", rc);
	if ((rc < 0) != (res.error != NULL))
		fuzz_fail("returned %d with error %s", rc,
		    res.error ? res.error : "NULL");
	if (res.full != 0 && res.full != 1)
		fuzz_fail("full is %d", res.full);
	if (res.full && rc < 0)
		fuzz_fail("full, and an error: %s", res.error);
	if (res.files < 0 || res.bytes < 0)
		fuzz_fail("counted %ld entries, %lld bytes", res.files,
		    res.bytes);
	if (res.files > b.files + 1)
		fuzz_fail("counted %ld entries, bound %ld", res.files,
		    b.files);
	if (!res.full && (res.files > b.files || res.bytes > b.bytes))
		fuzz_fail("counted %ld entries, %lld bytes, bounds %ld, %lld,"
		    " and not full", res.files, res.bytes, b.files, b.bytes);

	holds(base, in_base);
	holds(pdir, in_p);
	holds(sdir, none);
	clear(&files, &bytes);
	if (rmdir(xdir) < 0)
		fuzz_fail("rmdir %s: %s", xdir, strerror(errno));
	if (files > b.files || files > res.files)
		fuzz_fail("%ld entries made: bound %ld, counted %ld", files,
		    b.files, res.files);
	if (bytes > b.bytes || bytes > res.bytes)
		fuzz_fail("%lld bytes made: bound %lld, counted %lld", bytes,
		    b.bytes, res.bytes);
	return 0;
}
