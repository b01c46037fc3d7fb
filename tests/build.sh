#!/bin/sh
# The build, as packagers and users do it: warning-free (-Werror) with
# gcc and with clang under -std=c99 -pedantic, and `make static` giving
# one self-contained file.  Builds in a copy, so the tree is untouched.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
suite_base build
t=$BASE
tar -cf - --exclude=./.git . | tar -xf - -C "$t"
cd "$t" || exit 1

for cc in gcc clang; do
	make -s clean >/dev/null 2>&1
	out=$(make CC=$cc CFLAGS="-O2 -Werror" sbx tests/unit bench/copy 2>&1) &&
	    ./sbx -V >/dev/null
	say $? "$cc -std=c99 -pedantic -Wall -Wextra -Werror" || diag "$out"
done
make -s clean >/dev/null 2>&1
out=$(make CFLAGS="-O2 -Werror" static 2>&1) &&
    file sbx | grep -q 'statically linked' &&
    ./sbx -V | grep -q '^sbx '
say $? "make static gives a statically linked sbx" || diag "$out"

# make install with other paths after a plain make: what is installed
# was compiled for the paths it is installed to.
make -s clean >/dev/null 2>&1
out=$(make 2>&1 && make PREFIX=/opt/sbxtest DESTDIR="$t/dest" install 2>&1) &&
    grep -q /opt/sbxtest/etc/sbx/sbx.ini "$t/dest/opt/sbxtest/bin/sbx" &&
    grep -q /opt/sbxtest/libexec/sbx/sbx-supervise \
    "$t/dest/opt/sbxtest/bin/sbx"
say $? "make install PREFIX=... after make rebuilds for that PREFIX" ||
    diag "$(printf '%s\n' "$out" | tail -5)"
