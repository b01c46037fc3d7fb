#!/bin/sh
# Runs the diff test program that make built (make tests/difftest).  Run
# by hand before that, it builds the program itself, from diff.c and
# the json.o and util.o of a plain make.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
if [ ! -x tests/difftest ]; then
	if [ ! -f json.o ] || [ ! -f util.o ]; then
		notok "json.o and util.o not built (run make)"
		exit 1
	fi
	${CC:-cc} -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -std=c99 -pedantic \
	    -Wall -Wextra -O2 -o tests/difftest tests/difftest.c diff.c \
	    json.o util.o || { notok "cc tests/difftest"; exit 1; }
fi
exec tests/difftest
