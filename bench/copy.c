/*
 * Times shadow_copy() of a tree: bench/copy SRC RUNDIR [rw], prints
 * seconds.  The copy lands in RUNDIR/ws, as a run's does; with rw it
 * also writes the manifest of a rw run into RUNDIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sbx.h"

int
main(int argc, char *argv[])
{
	struct policy p;
	struct layout l;
	double t;

	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "rw"))) {
		fprintf(stderr, "usage: copy src rundir [rw]\n");
		return 2;
	}
	memset(&p, 0, sizeof(p));
	p.max_files = 10000000;
	p.max_bytes = 1LL << 40;
	p.workspace = argc == 4 ? WS_RW : WS_RO;
	layout_set(&l, estrdup(argv[2]));
	t = now();
	shadow_copy(argv[1], &l, &p, 65534, 65534);
	printf("%.6f\n", now() - t);
	layout_free(&l);
	return 0;
}
