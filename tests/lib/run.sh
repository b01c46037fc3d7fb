#!/bin/sh
# Runs each test program given, echoes its output, and sums its
# "ok - ..." and "not ok - ..." lines into one final line that CI reads:
# "N passed, N failed".  Exits 1 if anything failed or a program died.
set -u
pass=0 fail=0
for t in "$@"; do
	printf '# %s\n' "$t"
	out=$(mktemp) || exit 1
	"$t" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $t exited with status $rc"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	rm -f "$out"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
