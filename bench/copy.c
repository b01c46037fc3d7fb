/*
 * Times shadow_copy() of a tree: bench/copy SRC DST [rw], prints
 * seconds.  With rw the copy also writes the manifest of a rw run, into
 * DST's parent directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sbx.h"

int
main(int argc, char *argv[])
{
	struct job jb;
	double t;

	char *slash;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "rw"))) {
		fprintf(stderr, "usage: copy src dst [rw]\n");
		return 2;
	}
	memset(&jb, 0, sizeof(jb));
	jb.dir = argv[1];
	jb.workdir = argv[2];
	jb.pol.max_files = 10000000;
	jb.pol.max_bytes = 1LL << 40;
	jb.pol.workspace = argc == 4 ? WS_RW : WS_RO;
	jb.rundir = estrdup(argv[2]);
	if ((slash = strrchr(jb.rundir, '/')) != NULL)
		*slash = '\0';
	jb.uid = 65534;
	jb.gid = 65534;
	t = now();
	shadow_copy(&jb);
	printf("%.6f\n", now() - t);
	return 0;
}
