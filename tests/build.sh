#!/bin/sh
# The build, as packagers and users do it: warning-free (-Werror) with
# gcc and with clang under -std=c99 -pedantic, and `make static` giving
# one self-contained file.  Builds in a copy, so the tree is untouched.
set -u
cd "$(dirname "$0")/.." || exit 1
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
tar -cf - --exclude=./.git . | tar -xf - -C "$t"
cd "$t" || exit 1

for cc in gcc clang; do
	make -s clean >/dev/null 2>&1
	if out=$(make CC=$cc CFLAGS="-O2 -Werror" sbx tests/unit bench/copy \
	    2>&1) && ./sbx -V >/dev/null; then
		echo "ok - build: $cc -std=c99 -pedantic -Wall -Wextra -Werror"
	else
		echo "not ok - build: $cc -std=c99 -pedantic -Wall -Wextra -Werror"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
make -s clean >/dev/null 2>&1
if out=$(make CFLAGS="-O2 -Werror" static 2>&1) &&
    file sbx | grep -q 'statically linked' &&
    ./sbx -V | grep -q '^sbx '; then
	echo "ok - build: make static gives a statically linked sbx"
else
	echo "not ok - build: make static gives a statically linked sbx"
	printf '%s\n' "$out" | sed 's/^/# /'
fi

# make install with other paths after a plain make: what is installed
# was compiled for the paths it is installed to.
make -s clean >/dev/null 2>&1
if out=$(make 2>&1 && make PREFIX=/opt/sbxtest DESTDIR="$t/dest" install 2>&1) &&
    grep -q /opt/sbxtest/etc/sbx/sbx.ini "$t/dest/opt/sbxtest/bin/sbx" &&
    grep -q /opt/sbxtest/libexec/sbx/sbx-supervise \
    "$t/dest/opt/sbxtest/bin/sbx"; then
	echo "ok - build: make install PREFIX=... after make rebuilds for that PREFIX"
else
	echo "not ok - build: make install PREFIX=... after make rebuilds for that PREFIX"
	printf '%s\n' "$out" | tail -5 | sed 's/^/# /'
fi
