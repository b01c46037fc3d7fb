#!/bin/sh
# Builds nothing: runs the unit test program make built.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
if [ ! -x tests/unit ]; then
	notok "tests/unit not built (make tests/unit)"
	exit 1
fi
exec tests/unit tests/unit.ini
