#!/bin/sh
# Sessions on podman and docker: start, steps that share files and each
# get a result, per-step timeouts, steps that attack the supervisor or
# forge its answers, serialized concurrent steps, idle timeout and
# maximum lifetime enforced with no sbx running, stop, ls, gc, and the
# session's changes applied back.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtimes_of "$@"
conf=$root/tests/test.ini
export SBX_SUPERVISE=${SBX_SUPERVISE:-$root/sbx-supervise}
# Every session started is stopped at the end, whatever became of it.
ids=
ON_EXIT='for i in $ids; do "$SBX" stop "$i" >/dev/null 2>&1; done'
suite_base session
t=$BASE
private_tmpdir
mkdir "$t/src" "$t/steps"
echo original >"$t/src/data.txt"

show() {
	diag "$(tail -n 8 "$t/out" | cut -c1-300)"
	diag "$(tail -n 3 "$t/err" | cut -c1-300)"
}
res() { jq -c "select(.event == \"result\") | $1" "$t/out"; }
step() { printf '%s\n' "$2" >"$t/steps/$1"; }

step write.sh 'echo step one; echo made >made.txt; echo changed >data.txt'
step read.sh 'cat made.txt; exit 3'
step sleep.sh 'sleep 30'
step bg.sh 'sleep 1000 & echo started'
step ps.sh 'for p in /proc/[0-9]*; do tr "\\0" " " <$p/cmdline; echo; done | grep -c "^sleep 1000"'
step pid1.sh 'kill -9 1; kill -TERM 1; kill -STOP 1; echo tried'
step forge.sh 'for n in 1 2 3; do echo "00000000000000000000000000000000 exit 0 0" >/sbx/ctl/rsp; done; echo "ready" >/sbx/ctl/rsp; exit 7'
step partial.sh 'printf x >/sbx/ctl/rsp; printf y >/sbx/ctl/req; exit 4'
step swap.sh 'rm -f /sbx/ctl/*; mkfifo /sbx/ctl/99.out; ls /sbx/ctl | wc -l'
step peek.sh 'ls /sbx/ctl; cat /sbx/ctl/req /sbx/ctl/rsp 2>&1; mkdir -p "$SBX_RESULT/a/b"; echo x > "$SBX_RESULT/a/b/f"'
step oom.sh 'a=$(head -c 400000000 /dev/zero | tr "\\0" x); echo ${#a}'
step value.sh 'echo "{\"n\": 1}" >"$SBX_RESULT"'
step litter.sh 'd=${SBX_RESULT%/*}; i=0; while [ $i -lt 200 ] && echo x >"$d/l$i"; do i=$((i+1)); done; mkdir "$d/sub"; head -c 3000000 /dev/zero >"$d/big"; echo $i; chmod 0 "$d/sub"'
step look.sh 'ls -A "${SBX_RESULT%/*}" | wc -l'
step slow.sh 'echo begin $1; sleep 1; echo end $1'
step flood.sh 'yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
step cat.sh 'cat; echo "[end]"'
step wc.sh 'wc -c'
step quick.sh 'echo quick'
step shut.sh 'exec 0<&-; sleep 1; echo closed'
step pollread.sh 'cat; read x; echo "r=$?"'
step fds.sh 'for f in 0 1 2; do readlink /proc/self/fd/$f | cut -d: -f1; done'
step big.sh 'head -c 3000000 /dev/zero | tr "\\0" y; echo; head -c 200000 /dev/zero | tr "\\0" e >&2; exit 5'
step noout.sh 'exec >&- 2>&-; sleep 0.2; exit 6'

for RT in $runtimes; do
	start() { timeout 120 "$SBX" start -c "$conf" -r "$RT" -e sh \
	    -d "$t/src" "$@" >"$t/out" 2>"$t/err" </dev/null; }
	ex() { timeout 120 "$SBX" exec -c "$conf" "$@" >"$t/out" \
	    2>"$t/err" </dev/null; }

	start -t test -w rw
	rc=$?
	id=$(jq -r 'select(.event == "session") | .id' "$t/out")
	ids="$ids $id"
	[ $rc = 0 ] && [ ${#id} = 12 ] &&
	    [ "$("$RT" ps --filter "name=sbx-session-$id" --format '{{.Names}}')" = \
	    "sbx-session-$id" ]
	say $? "start prints the session and leaves its container running"

	ex "$id" "$t/steps/write.sh"
	[ $? = 0 ] && [ "$(res '[.status, .exit_code]')" = '[0,0]' ] &&
	    [ "$(jq -r 'select(.event == "stdout") | .data' "$t/out" |
	    tr -d '\n')" = "step one" ] &&
	    [ "$(jq -c 'select(.event == "start") | .step' "$t/out")" = 1 ]
	say $? "a step runs, with its output and result"
	ex "$id" "$t/steps/read.sh"
	[ $? = 3 ] && [ "$(res .exit_code)" = 3 ] &&
	    grep -q '"data":"made' "$t/out"
	say $? "the next step sees its files; its exit status passes"
	[ "$(cat "$t/src/data.txt")" = original ]
	say $? "the original is untouched"

	printf 'echo from stdin\n' | timeout 60 "$SBX" exec -c "$conf" -e sh \
	    "$id" - >"$t/out" 2>"$t/err"
	[ $? = 0 ] && grep -q '"data":"from stdin' "$t/out"
	say $? "a step from standard input"

	# A step's stdin is sbx exec's, as a run's is: what a pipe gives,
	# whole, even to a first read that comes late; EOF when it ends.
	printf 'line one\nline two\n' | timeout 60 "$SBX" exec -c "$conf" \
	    "$id" "$t/steps/cat.sh" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "line one${nl}line two${nl}[end]" ]
	say $? "a step reads sbx exec's standard input, then EOF"
	head -c 300000 /dev/zero | tr '\0' x | timeout 60 "$SBX" exec \
	    -c "$conf" "$id" "$t/steps/wc.sh" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out" | tr -d ' ')" = "300000" ]
	say $? "300 kB of standard input reach a step whole"
	ex "$id" "$t/steps/cat.sh"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "[end]" ]
	say $? "a step's stdin from /dev/null is empty"
	printf 'from a file\n' >"$t/input"
	timeout 60 "$SBX" exec -c "$conf" "$id" "$t/steps/cat.sh" \
	    <"$t/input" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "from a file${nl}[end]" ]
	say $? "a step's stdin from a file: the file, then EOF"
	# The end of an input that ends before the step opens it: a read
	# that polls (busybox's, node's) must see it too.
	printf a | timeout 20 "$SBX" exec -c "$conf" "$id" "$t/steps/pollread.sh" \
	    >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "ar=1" ]
	say $? "a stdin that ends at once: EOF, even for a read that polls"
	timeout 20 "$SBX" exec -c "$conf" "$id" "$t/steps/pollread.sh" \
	    </dev/null >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "r=1" ]
	say $? "stdin from /dev/null: EOF for a read that polls"
	# A step that never reads ends when it ends: sbx does not wait
	# for its own stdin, which here stays open as long as sleep runs.
	rm -f "$t/in"
	mkfifo "$t/in"
	sleep 60 >"$t/in" &
	w=$!
	timeout 10 "$SBX" exec -c "$conf" "$id" "$t/steps/quick.sh" \
	    <"$t/in" >"$t/out" 2>"$t/err"
	rc=$?
	kill "$w"
	[ $rc = 0 ] && grep -q '"data":"quick' "$t/out"
	say $? "a step that ignores stdin does not wait for its EOF"
	head -c 1000000 /dev/zero | timeout 60 "$SBX" exec -c "$conf" "$id" \
	    "$t/steps/shut.sh" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && grep -q '"data":"closed' "$t/out"
	say $? "a step that closes its stdin while sbx writes: no harm"

	# Its stdout and stderr are pipes the supervisor relays into the
	# host's FIFOs, as its stdin; all it wrote arrives, though it has
	# ended before the relay is done.
	echo x | timeout 60 "$SBX" exec -c "$conf" "$id" "$t/steps/fds.sh" \
	    >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "pipe${nl}pipe${nl}pipe" ]
	say $? "a step's stdin, stdout and stderr are pipes, as a run's"
	ex "$id" "$t/steps/big.sh"
	[ $? = 5 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out" | tr -d y)" = "" ] &&
	    [ "$(jq -j 'select(.event == "stdout") | .data' "$t/out" |
	    wc -c)" = 3000001 ] &&
	    [ "$(jq -j 'select(.event == "stderr") | .data' "$t/out" |
	    wc -c)" = 200000 ] && [ "$(res .stdout_bytes)" = 3000001 ]
	say $? "3 MB of stdout and 200 kB of stderr, then exit 5: all of it"
	# A reader of sbx exec that takes its time: the step has long
	# ended, and all of its output still comes, then its status.
	timeout 60 "$SBX" exec -c "$conf" "$id" "$t/steps/big.sh" </dev/null \
	    2>"$t/err" | { sleep 4; cat; } >"$t/out"
	[ "$(jq -j 'select(.event == "stdout") | .data' "$t/out" | wc -c)" = \
	    3000001 ] && [ "$(res '[.status, .exit_code]')" = '[5,5]' ]
	say $? "a slow reader of sbx exec: all 3 MB, then exit 5" ||
	    diag "$(res .)"
	ex "$id" "$t/steps/noout.sh"
	[ $? = 6 ] && ! grep -q '"event":"std' "$t/out"
	say $? "a step that closes its stdout and stderr: its status, no output"

	ex -T 1 "$id" "$t/steps/sleep.sh"
	[ $? = 124 ] && [ "$(res '[.timed_out, .status]')" = '[true,124]' ]
	say $? "a step's own timeout stops it: status 124"
	ex -T 99 "$id" "$t/steps/sleep.sh"
	[ $? = 125 ] && grep -q "more than the session's timeout" "$t/err"
	say $? "-T above the template's timeout is refused"

	ex "$id" "$t/steps/bg.sh"
	ex "$id" "$t/steps/ps.sh"
	[ "$(jq -r 'select(.event == "stdout") | .data' "$t/out")" = 0 ]
	say $? "a step's background processes do not outlive it"

	ex "$id" "$t/steps/pid1.sh"
	ex "$id" "$t/steps/read.sh"
	[ $? = 3 ]
	say $? "the supervisor survives kill -9 1 from a step"

	ex "$id" "$t/steps/forge.sh"
	[ $? = 7 ] && [ "$(res .exit_code)" = 7 ]
	say $? "status lines forged by a step are ignored"

	ex "$id" "$t/steps/partial.sh"
	[ $? = 4 ]
	say $? "partial lines a step leaves in the FIFOs do no harm"
	ex "$id" "$t/steps/swap.sh"
	ex "$id" "$t/steps/read.sh"
	[ $? = 3 ] && [ -p "$TMPDIR/sbx-session.$id/req" ] &&
	    [ ! -e "$TMPDIR/sbx-session.$id/ctl/99.out" ]
	say $? "a step cannot swap or plant the session's FIFOs"
	ex "$id" "$t/steps/peek.sh"
	n=$(jq 'select(.event == "start") | .step' "$t/out")
	[ "$(jq -r 'select(.event == "stdout") | .data' "$t/out" | head -3 |
	    tr '\n' ' ')" = "$n.err $n.in $n.out " ] &&
	    grep -q 'No such file' "$t/out"
	say $? "the supervisor's FIFOs are out of a step's sight"
	ex "$id" "$t/steps/read.sh"
	[ $? = 3 ] && [ "$(res .value_error)" = null ]
	say $? "a result.json tree from the last step is moved aside"
	ex "$id" "$t/steps/litter.sh"
	n=$(jq -r 'select(.event == "stdout") | .data' "$t/out")
	ex "$id" "$t/steps/look.sh"
	[ "$n" -lt 100 ] && [ "$(jq -r 'select(.event == "stdout") | .data' \
	    "$t/out")" = 0 ]
	say $? "/sbx/out holds a few files (here $n), emptied per step"

	ex "$id" "$t/steps/oom.sh"
	[ "$(res .oom_killed)" = true ]
	say $? "a step the OOM killer ends is oom_killed"
	ex "$id" "$t/steps/read.sh"
	[ $? = 3 ] && [ "$(res .oom_killed)" = false ]
	say $? "the next step is not"

	ex "$id" "$t/steps/value.sh"
	[ "$(res .value)" = '{"n":1}' ]
	ok=$?
	ex "$id" "$t/steps/read.sh"
	[ $ok = 0 ] && [ "$(res .value)" = null ]
	say $? "\$SBX_RESULT per step"

	ex "$id" "$t/steps/flood.sh" 
	[ "$(res '[.truncated, .status, .exit_code, .signal]')" = \
	    '[true,137,137,9]' ]
	say $? "max_output ends a flooding step"

	# A step named like the protocol's own files.
	cp "$t/steps/read.sh" "$t/steps/req"
	ex -e sh "$id" "$t/steps/req"
	[ "$(res '[.status, .exit_code]')" = '[3,3]' ]
	say $? "a step named req runs like any other"

	# Two steps at once: serialized, never interleaved.
	timeout 60 "$SBX" exec -c "$conf" "$id" "$t/steps/slow.sh" A \
	    >"$t/a" 2>&1 &
	timeout 60 "$SBX" exec -c "$conf" "$id" "$t/steps/slow.sh" B \
	    >"$t/b" 2>&1
	wait $!
	ok=0
	for x in a b; do
		X=$(echo $x | tr ab AB)
		[ "$(jq -r 'select(.event == "stdout") | .data' "$t/$x" |
		    tr -d '\n')" = "begin ${X}end $X" ] || ok=1
		[ "$(jq -c 'select(.event == "result") | .status' "$t/$x")" = 0 ] ||
		    ok=1
	done
	[ $ok = 0 ] && [ "$(jq -s '[.[] | select(.event == "start") | .step] |
	    sort | .[1] - .[0]' "$t/a" "$t/b")" = 1 ]
	say $? "concurrent steps are serialized, each whole"

	# SIGINT to sbx exec ends the step, not the session.
	timeout 60 "$SBX" exec -c "$conf" "$id" "$t/steps/sleep.sh" \
	    >"$t/out" 2>"$t/err" &
	pid=$!
	sleep 1
	kill -INT $pid
	wait $pid
	rc=$?
	[ $rc = 130 ] && [ "$(res .interrupted)" = 2 ]
	say $? "SIGINT ends the step with status 130"
	ex "$id" "$t/steps/read.sh"
	[ $? = 3 ]
	say $? "the session takes steps after an interrupted one"

	# An sbx exec killed outright leaves its step running: the next
	# exec ends it first instead of waiting out its timeout.
	"$SBX" exec -c "$conf" "$id" "$t/steps/sleep.sh" >/dev/null 2>&1 &
	pid=$!
	sleep 1
	kill -KILL $pid
	{ wait $pid; } 2>/dev/null
	# Without that, the supervisor would drop the step, the exec
	# time out and the session be lost: status 125.
	ex "$id" "$t/steps/read.sh"
	[ $? = 3 ]
	say $? "a step orphaned by a killed sbx exec is ended by the next"

	"$SBX" ls >"$t/out" 2>"$t/err"
	[ "$(jq -c "select(.id == \"$id\") | .running" "$t/out")" = true ]
	say $? "ls lists the running session"

	"$SBX" apply "$id" made.txt >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(cat "$t/src/made.txt")" = made ] &&
	    [ "$(cat "$t/src/data.txt")" = original ]
	say $? "apply takes a session's file back, only the one named"
	rm -f "$t/src/made.txt"

	"$SBX" gc >"$t/out" 2>"$t/err"
	! grep -q "$id" "$t/out" && ex "$id" "$t/steps/read.sh"
	[ $? = 3 ]
	say $? "gc leaves a live session alone"

	"$SBX" stop "$id" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ ! -e "$TMPDIR/sbx-session.$id" ] &&
	    [ -z "$("$RT" ps -a --filter "name=sbx-session-$id" --format '{{.Names}}')" ]
	say $? "stop removes the container and the directory"
	ex "$id" "$t/steps/read.sh"
	[ $? = 125 ] && grep -q 'no such session' "$t/err"
	say $? "a stopped session takes no steps: status 125"

	# prlimit(2) on PID 1 is open to a step: the supervisor notices
	# and ends the session rather than run steps under those limits.
	start -t test -e py
	id=$(jq -r 'select(.event == "session") | .id' "$t/out")
	ids="$ids $id"
	printf 'import resource as r\nh = r.getrlimit(r.RLIMIT_MEMLOCK)[1]\nr.prlimit(1, r.RLIMIT_MEMLOCK, (0, h))\n' \
	    >"$t/steps/soft.py"
	printf 'import resource as r\nl = r.getrlimit(r.RLIMIT_MEMLOCK)\nprint(l[0] == l[1])\n' \
	    >"$t/steps/check.py"
	ex "$id" "$t/steps/soft.py"
	ex "$id" "$t/steps/check.py"
	grep -q '"data":"True' "$t/out"
	say $? "a soft limit a step lowered on PID 1 is restored"
	printf 'import resource\nresource.prlimit(1, resource.RLIMIT_NOFILE, (3, 3))\n' \
	    >"$t/steps/prlimit.py"
	ex "$id" "$t/steps/prlimit.py"
	printf 'print(1)\n' | timeout 60 "$SBX" exec -c "$conf" "$id" - \
	    >"$t/out" 2>"$t/err"
	[ $? = 125 ] && grep -q "changed its supervisor's limits" "$t/out"
	say $? "a step that lowers PID 1's limits ends the session"
	"$SBX" stop "$id" >/dev/null 2>&1

	# The clocks run in the container, with no sbx around.
	start -t brief
	id=$(jq -r 'select(.event == "session") | .id' "$t/out")
	ids="$ids $id"
	sleep 4
	ex "$id" "$t/steps/read.sh"
	[ $? = 125 ] && grep -q 'not running' "$t/err" &&
	    [ -z "$("$RT" ps -a --filter "name=sbx-session-$id" --format '{{.Names}}')" ]
	say $? "an idle session ends on its own; its container is gone"
	"$SBX" ls >"$t/out"
	[ "$(jq -c "select(.id == \"$id\") | .running" "$t/out")" = false ]
	say $? "ls shows it ended"
	"$SBX" stop "$id" >/dev/null 2>&1

	start -t shortlived
	id=$(jq -r 'select(.event == "session") | .id' "$t/out")
	ids="$ids $id"
	ex "$id" "$t/steps/sleep.sh"
	[ $? = 124 ] && grep -q 'max_lifetime' "$t/out"
	say $? "max_lifetime ends a step and the session"
	sleep 1
	"$SBX" gc >"$t/out" 2>"$t/err"
	grep -q "sbx-session.$id\"" "$t/out" &&
	    [ ! -e "$TMPDIR/sbx-session.$id" ]
	say $? "gc removes a session past its lifetime"

	"$SBX" -L -c "$conf" -r "$RT" >"$t/out" 2>"$t/err"
	[ "$(jq -c -s 'map([.ext, .image, .runtime, .present])' "$t/out")" = \
	    "[[\"py\",\"sbx-python\",\"$RT\",true],[\"sh\",\"sbx-sh\",\"$RT\",true],[\"js\",\"sbx-node\",\"$RT\",true],[\"c\",\"sbx-c\",\"$RT\",true],[\"cpp\",\"sbx-c\",\"$RT\",true],[\"go\",\"sbx-go\",\"$RT\",true],[\"noexec\",\"sbx-sh\",\"$RT\",true],[\"shc\",\"sbx-sh\",\"$RT\",true]]" ]
	say $? "-L lists the languages, images present"
	printf '[default]\n[language rb]\ncommand = ruby\nimage = sbx-no-such-image\n' \
	    >"$t/rb.ini"
	"$SBX" -L -c "$t/rb.ini" -r "$RT" >"$t/out" 2>"$t/err"
	[ "$(jq -c 'select(.ext == "rb") | [.ext, .present]' "$t/out")" = \
	    '["rb",false]' ]
	say $? "-L says when a language's image is missing"

	left=
	for i in $ids; do
		left="$left$("$RT" ps -a --filter "name=sbx-session-$i" \
		    --format '{{.Names}}')"
	done
	[ -z "$left" ] && [ -z "$(ls -A "$TMPDIR")" ]
	say $? "no session container or directory is left"
done
RT=

"$SBX" exec nothex "$t/steps/read.sh" >"$t/out" 2>"$t/err"
[ $? = 125 ] && grep -q 'not a session id' "$t/err"
say $? "exec with a malformed id: status 125"
"$SBX" stop 0123456789ab >"$t/out" 2>"$t/err"
[ $? = 125 ] && grep -q 'no such session' "$t/err"
say $? "stop of an unknown session: status 125"
mkdir -m 0755 "$TMPDIR/sbx-session.aaaaaaaaaaaa"
"$SBX" apply aaaaaaaaaaaa >"$t/out" 2>"$t/err"
[ $? = 125 ] && grep -q 'not a session directory of this user' "$t/err"
say $? "a planted session directory open to others is refused"
rmdir "$TMPDIR/sbx-session.aaaaaaaaaaaa"
"$SBX" start -k >"$t/out" 2>"$t/err"
[ $? = 125 ]
say $? "start with a run's -k: status 125"

# Without SBX_SUPERVISE: the supervisor beside the sbx binary, as in a
# build tree, when none is installed; both places named when neither is.
libexec=$(strings "$SBX" | grep -m 1 "/sbx-supervise$" || true)
if [ -e "$libexec" ]; then
	echo "# $libexec is installed: the build-tree lookup is not reached"
fi
mkdir "$t/bin" "$t/lone"
cp "$SBX" "$t/bin/sbx"
cp "$(dirname "$SBX")/sbx-supervise" "$t/bin/sbx-supervise"
cp "$SBX" "$t/lone/sbx"
(
	unset SBX_SUPERVISE
	"$t/bin/sbx" start -c "$conf" -r podman -t test -e sh -d "$t/src" \
	    >"$t/out" 2>"$t/err" </dev/null
	rc=$?
	id=$(jq -r 'select(.event == "session") | .id' "$t/out")
	[ -n "$id" ] && "$t/bin/sbx" stop "$id" >/dev/null 2>&1
	[ $rc = 0 ] && [ ${#id} = 12 ]
	say $? "without SBX_SUPERVISE, the supervisor beside sbx serves"
	"$t/lone/sbx" start -c "$conf" -r podman -t test -e sh -d "$t/src" \
	    >"$t/out" 2>"$t/err" </dev/null
	[ $? = 125 ] && grep -q "neither .*/sbx-supervise nor $t/lone/sbx-supervise" \
	    "$t/err" && [ -z "$(ls -A "$TMPDIR")" ]
	say $? "no supervisor anywhere: status 125, both places named, nothing left"
)
exit 0
