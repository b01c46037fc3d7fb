/* Times shadow_copy() of a tree: bench/copy SRC DST, prints seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sbx.h"

int
main(int argc, char *argv[])
{
	struct job jb;
	double t;

	if (argc != 3) {
		fprintf(stderr, "usage: copy src dst\n");
		return 2;
	}
	memset(&jb, 0, sizeof(jb));
	jb.dir = argv[1];
	jb.workdir = argv[2];
	jb.pol.max_files = 10000000;
	jb.pol.max_bytes = 1LL << 40;
	jb.pol.workspace = WS_RO;
	jb.uid = 65534;
	jb.gid = 65534;
	t = now();
	shadow_copy(&jb);
	printf("%.6f\n", now() - t);
	return 0;
}
