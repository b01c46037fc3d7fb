#!/bin/sh
# The human view, through a real pseudo-terminal (script(1)), on podman
# and docker: with stdout a terminal, or --human, the script's output
# comes raw and one summary line ends the run (status, why it ended,
# duration, CPU time, peak memory, changes); --json keeps JSON lines on
# a terminal, and a pipe gets JSON unless --human; a long shadow copy
# shows its progress on a terminal's stderr; the exit status is the
# same in every view.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtimes_of "$@"
conf=$root/tests/test.ini
export SBX_SUPERVISE=${SBX_SUPERVISE:-$root/sbx-supervise}
command -v script >/dev/null || cannot "no script(1): install bsdutils"
ids=
ON_EXIT='for i in $ids; do "$SBX" stop "$i" >/dev/null 2>&1; done'
suite_base human
t=$BASE
private_tmpdir
mkdir "$t/src"
show() { diag "$(cut -c1-300 "$t/out" | tail -n 8)"; }
cat >"$t/src/h.py" <<'PY'
import sys
print("to stdout")
print("to stderr", file=sys.stderr)
open("new.txt", "w").write("x\n")
sys.exit(3)
PY
printf 'while True:\n    pass\n' >"$t/src/loop.py"
printf 'import time\nfor i in range(100):\n    print("x" * 1000, flush=True)\n    time.sleep(0.02)\n' \
    >"$t/src/flood.py"
# tty CMD...: CMD's output through a pseudo-terminal, \r dropped; its
# status is script's, which -e makes the command's.
tty() {
	script -qec "$*" /dev/null </dev/null >"$t/raw"
	_rc=$?
	tr -d '\r' <"$t/raw" >"$t/out"
	return $_rc
}
for rt in $runtimes; do
	RT=$rt
	run="$SBX -c $conf -r $rt -w rw"
	tty "$run -d $t/src h.py"
	rc=$?
	out=$(cat "$t/out")
	is "a terminal: the exit status is the script's" "$rc" 3
	like "a terminal: stdout raw" "$out" "to stdout$nl" || show
	like "a terminal: stderr raw" "$out" "to stderr$nl"
	grep -q '"event"' "$t/out"
	isnt "a terminal: no JSON" "$?" 0
	grep -Eq '^sbx: exit 3, [0-9.]+ s, cpu [0-9.]+ s, peak [0-9.]+ MB, 1 added, 0 modified, 0 deleted$' "$t/out"
	say $? "a terminal: one summary line: status, duration, cpu, peak, changes"
	tty "$run -u -d $t/src h.py"
	like "-u on a terminal: the patch" "$(cat "$t/out")" "+++ b/new.txt"
	tty "$run --json -d $t/src h.py"
	rc=$?
	is "--json on a terminal: the same status" "$rc" 3
	jq -e 'select(.event == "result") | .exit_code == 3' "$t/out" \
	    >/dev/null
	say $? "--json on a terminal: JSON lines"
	$run -d "$t/src" h.py >"$t/out" 2>/dev/null
	is "a pipe: JSON lines" "$(jq -j 'select(.event == "stdout") |
	    .data' "$t/out")" "to stdout"
	$run --human -d "$t/src" h.py >"$t/out" 2>"$t/err"
	rc=$?
	is "--human on a pipe: stdout is the script's" "$(cat "$t/out")" \
	    "to stdout"
	like "--human on a pipe: the summary on stderr" "$(cat "$t/err")" \
	    "sbx: exit 3, "
	is "--human on a pipe: the same status" "$rc" 3
	{ $run --human -d "$t/src" flood.py 2>"$t/err"; echo $? >"$t/rc"; } |
	    head -c 10 >/dev/null
	is "--human, its reader gone: status 125, as with JSON lines" \
	    "$(cat "$t/rc")" 125
	like "--human, its reader gone: said" "$(cat "$t/err")" \
	    "write error on standard output"
	tty "$run -T 2 -d $t/src loop.py"
	rc=$?
	is "a timeout on a terminal: status 124" "$rc" 124
	like "a timeout on a terminal: said" "$(cat "$t/out")" \
	    "sbx: timed out, "
	tty "$run -d $t/src nosuch.py"
	rc=$?
	is "an error on a terminal: status 125" "$rc" 125
	is "an error on a terminal: said once, on one line" \
	    "$(grep -c 'nosuch.py' "$t/out")" 1

	id=$("$SBX" start -c "$conf" -r "$rt" -w rw -d "$t/src" |
	    jq -r 'select(.event == "session") | .id')
	ids="$ids $id"
	tty "$SBX exec $id $t/src/h.py"
	rc=$?
	is "sbx exec on a terminal: the status" "$rc" 3
	like "sbx exec on a terminal: a summary" "$(cat "$t/out")" \
	    "sbx: exit 3, "
	tty "$SBX exec --json $id $t/src/h.py"
	jq -e 'select(.event == "result")' "$t/out" >/dev/null
	say $? "sbx exec --json on a terminal: JSON lines"
	"$SBX" stop "$id" >/dev/null 2>&1
done

# A copy of more than a second: progress on a terminal, not on a pipe.
RT=
mkdir "$t/big"
(cd "$t/big" && seq 1 40000 | xargs -n 2000 touch)
printf 'echo copied\n' >"$t/big/x.sh"
tty "$SBX -d $t/big --json x.sh"
like "a long copy: progress on a terminal" "$(cat "$t/out")" \
    "sbx: copying $t/big: "
"$SBX" -d "$t/big" x.sh >/dev/null 2>"$t/err"
is "a long copy: no progress on a pipe" "$(cat "$t/err")" ""
exit 0
