/*
 * tar.c driven from the shell, for tests/tar.sh:
 *	tartest c DIR [ro]		DIR's tree as an archive on stdout
 *	tartest x DIR STRIP BYTES FILES	stdin's archive made under DIR
 * x prints "files N bytes N full N" and exits 1 with the reader's error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../sbx.h"

int
main(int argc, char *argv[])
{
	struct tar_owner o = { 1234, 1234, 0 };
	struct tar_bound b;
	struct tar_result r;

	if (argc >= 3 && strcmp(argv[1], "c") == 0) {
		o.ro = argc > 3 && strcmp(argv[3], "ro") == 0;
		memset(&r, 0, sizeof(r));
		return tar_tree(1, argv[2], &o, &r) || tar_end(1);
	}
	if (argc == 6 && strcmp(argv[1], "x") == 0) {
		memset(&b, 0, sizeof(b));
		b.strip = atoi(argv[3]);
		b.bytes = atoll(argv[4]);
		b.files = atol(argv[5]);
		b.chown = geteuid() == 0;
		b.uid = b.gid = 4321;
		if (tar_extract(0, argv[2], &b, &r) < 0) {
			fprintf(stderr, "tartest: %s\n", r.error);
			return 1;
		}
		printf("files %ld bytes %lld full %d\n", r.files, r.bytes,
		    r.full);
		return 0;
	}
	fprintf(stderr, "usage: tartest c DIR [ro] | x DIR STRIP BYTES FILES\n");
	return 2;
}
