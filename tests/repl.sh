#!/bin/sh
# Repl sessions on podman and docker: .py steps share one interpreter,
# so names persist; each step still has its own output, status,
# traceback, stdin, timeout and import guard, exactly as a step of a
# plain session; a step that times out, is OOM-killed or crashes loses
# the state, says so once, and the next starts afresh.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtimes_of "$@"
conf=$root/tests/test.ini
export SBX_SUPERVISE=${SBX_SUPERVISE:-$root/sbx-supervise}
ids=
ON_EXIT='for i in $ids; do "$SBX" stop "$i" >/dev/null 2>&1; done'
suite_base repl
t=$BASE
private_tmpdir
mkdir "$t/src" "$t/s"
show() {
	diag "$(tail -n 6 "$t/out" | cut -c1-300)"
	diag "$(tail -n 3 "$t/err" | cut -c1-300)"
}
res() { jq -c "select(.event == \"result\") | $1" "$t/out"; }
data() { jq -j "select(.event == \"$1\") | .data" "$t/out"; }
step() { printf '%s\n' "$2" >"$t/s/$1"; }
# The events of a step, less what differs between two sessions.
same() {
	jq -c 'del(.t, .duration, .cpu_time, .memory_peak, .session, .name,
	    .step, .state_lost, .stderr_bytes, .script)' "$1" | sed 's|/sbx/steps/[0-9]*/s/|/sbx/steps/N/s/|g' | sort
}

step set.py 'x = 41
import sys
print("set", sys.argv[1:])'
step inc.py 'x += 1
print("x is", x)'
step fail.py 'import json
def f():
    raise ValueError("boom")
print("before")
f()'
step quit.py 'import sys
print("bye", file=sys.stderr)
sys.exit("a message")'
step code.py 'raise SystemExit(7)'
step echo.py 'import sys
data = sys.stdin.read()
print(data.upper(), end="")
print(len(data), file=sys.stderr)'
step deep.py 'import sys
def f(n):
    return f(n + 1) if n < sys.getrecursionlimit() - 20 else n
print(f(0), sys.getrecursionlimit())'
step sleep.py 'import time
print("begin", flush=True)
time.sleep(30)'
step oom.py 'a = bytearray(400 * 1024 * 1024)
print(len(a))'
step crash.py 'import os
os._exit(9)'
step nosock.py 'import socket'
step bg.py 'import subprocess
p = subprocess.Popen(["sleep", "1000"])
kept = "still here"'
step ps.sh 'for p in /proc/[0-9]*; do tr "\0" " " <$p/cmdline 2>/dev/null; echo; done | grep -c "^sleep 1000"'
step kept.py 'print(kept)'
step shell.sh 'echo from sh'
step ticker.py 'import threading, time
def tick():
    n = 0
    while True:
        n += 1
        open("/tmp/ticks", "w").write(str(n))
        time.sleep(0.1)
threading.Thread(target=tick, daemon=True).start()
time.sleep(0.5)'
step ticks.sh 'a=$(cat /tmp/ticks); sleep 1; b=$(cat /tmp/ticks); [ "$a" = "$b" ] && echo still || echo "moved $a $b"'
step getter.py 'def get(name):
    return __import__(name)'
step useget.py 'print(get("socket").__name__)'
step nofd.py 'import os
os.close(4)
print("closed")'
step interrupt.py 'raise KeyboardInterrupt'
step huge.py 'import sys
sys.exit(2 ** 70)'
step cd.py 'import os
print(os.getcwd())
os.chdir("/tmp")'
step devstdin.sh 'cat /dev/stdin; echo "[end]"'
step fds.py 'import os
print(*[os.readlink("/proc/self/fd/%d" % i).split(":")[0] for i in (1, 2)])'
step big.py 'import sys
sys.stdout.write("z" * 3000000)
print("e" * 200000, file=sys.stderr)
x = "big"'
step shut.py 'import os
os.close(1)
os.close(2)
x = "shut"'
step x.py 'print("x is", x)'
step kill.sh 'for p in /proc/[0-9]*; do case $(tr "\0" " " <$p/cmdline 2>/dev/null) in *--repl*) kill -9 ${p#/proc/} ;; esac; done; echo killed'

for RT in $runtimes; do
	ex() { timeout 120 "$SBX" exec -c "$conf" "$@" >"$t/out" \
	    2>"$t/err" </dev/null; }
	begin() {
		timeout 120 "$SBX" start -c "$conf" -r "$RT" -d "$t/src" \
		    "$@" >"$t/out" 2>"$t/err" </dev/null
		id=$(jq -r 'select(.event == "session") | .id' "$t/out")
		ids="$ids $id"
	}
	begin -t test --repl -m 256m
	r=$id
	begin -t test -m 256m
	plain=$id
	[ ${#r} = 12 ] && [ ${#plain} = 12 ]
	say $? "a repl session and a plain one start"

	ex "$r" "$t/s/set.py" a b
	ex "$r" "$t/s/inc.py"
	[ $? = 0 ] && [ "$(data stdout)" = "x is 42" ] &&
	    [ "$(res .state_lost)" = false ]
	say $? "a name set in one step is there in the next"
	ex "$r" "$t/s/inc.py"
	[ "$(data stdout)" = "x is 43" ]
	say $? "and keeps what each step does to it"

	# Each of these, step for step, as a plain session's step.
	for s in fail.py quit.py code.py deep.py huge.py cd.py cd.py; do
		ex "$r" "$t/s/$s"
		rc=$?
		cp "$t/out" "$t/repl.out"
		ex "$plain" "$t/s/$s"
		[ $rc = $? ] && [ "$(same "$t/repl.out")" = "$(same "$t/out")" ]
		say $? "$s: output, traceback and status as a plain step's" ||
		    diag "$(diff "$t/repl.out" "$t/out")"
	done
	printf 'some input\n' | timeout 60 "$SBX" exec -c "$conf" "$r" \
	    "$t/s/echo.py" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(data stdout)" = "SOME INPUT" ] &&
	    [ "$(data stderr)" = 11 ]
	say $? "a repl step reads its own stdin"
	ex "$r" "$t/s/echo.py"
	[ $? = 0 ] && [ "$(data stderr)" = 0 ]
	say $? "and the next step's stdin is its own (empty)"
	ex "$r" "$t/s/inc.py"
	[ "$(data stdout)" = "x is 44" ]
	say $? "failures, exits and input leave the state alone"
	# KeyboardInterrupt: python dies of SIGINT, and so does the state.
	ex "$r" "$t/s/interrupt.py"
	rc=$?
	cp "$t/out" "$t/repl.out"
	ex "$plain" "$t/s/interrupt.py"
	[ $rc = $? ] && [ $rc = 130 ] &&
	    [ "$(same "$t/repl.out")" = "$(same "$t/out")" ] &&
	    [ "$(jq -c 'select(.event == "result") | .state_lost' \
	    "$t/repl.out")" = true ]
	say $? "KeyboardInterrupt: as a plain step's, and the state is lost"
	ex "$r" "$t/s/set.py"

	# test has no authorized_imports: no guard, the import works.
	ex "$r" "$t/s/nosock.py"
	[ $? = 0 ] && [ "$(res .import_refused)" = null ]
	say $? "no guard where the template has none"

	ex "$r" "$t/s/bg.py"
	ex "$r" "$t/s/ps.sh"
	[ "$(data stdout)" = 0 ]
	say $? "a step's child processes do not outlive it"
	ex "$r" "$t/s/kept.py"
	[ "$(data stdout)" = "still here" ]
	say $? "the interpreter does, across a shell step"
	ex "$r" "$t/s/shell.sh"
	[ $? = 0 ] && [ "$(data stdout)" = "from sh" ] &&
	    [ "$(res .state_lost)" = null ]
	say $? "a non-Python step runs as in any session, no state_lost"

	# Between steps the interpreter is stopped: a thread of it does
	# nothing while a shell step (or sbx diff) looks.
	ex "$r" "$t/s/ticker.py"
	ex "$r" "$t/s/ticks.sh"
	[ "$(data stdout)" = still ]
	say $? "a repl thread does nothing between Python steps" ||
	    diag "$(data stdout)"
	# A shell step may open stdin again by path: it is a pipe.
	printf 'piped\n' | timeout 60 "$SBX" exec -c "$conf" "$r" \
	    "$t/s/devstdin.sh" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(data stdout)" = "piped${nl}[end]" ]
	say $? "cat /dev/stdin in a step"
	# Its stdout and stderr are the supervisor's pipes, as a plain
	# step's: all of a big write arrives, and a step that closes them
	# closes them for itself alone.
	ex "$r" "$t/s/fds.py"
	[ "$(data stdout)" = "pipe pipe" ]
	say $? "a repl step's stdout and stderr are pipes" || show
	ex "$r" "$t/s/big.py"
	[ $? = 0 ] && [ "$(data stdout | wc -c)" = 3000000 ] &&
	    [ "$(data stderr | wc -c)" = 200001 ]
	say $? "3 MB of stdout and 200 kB of stderr from a repl step: all of it"
	timeout 60 "$SBX" exec -c "$conf" "$r" "$t/s/big.py" </dev/null \
	    2>"$t/err" | { sleep 4; cat; } >"$t/out"
	[ "$(data stdout | wc -c)" = 3000000 ] && [ "$(res .status)" = 0 ]
	say $? "a slow reader of a repl step: all 3 MB, then its status"
	ex "$r" "$t/s/shut.py"
	rc=$?
	ex "$r" "$t/s/x.py"
	[ $rc = 0 ] && [ "$(data stdout)" = "x is shut" ]
	say $? "a repl step that closes its stdout and stderr: the next has its own"
	ex "$r" "$t/s/nofd.py"
	rc=$?
	ex "$r" "$t/s/shell.sh"
	[ $rc != 0 ] && [ "$(data stdout)" = "from sh" ]
	say $? "a step that closes the interpreter's pipe ends it, nothing hangs"

	ex -T 1 "$r" "$t/s/sleep.py"
	[ $? = 124 ] && [ "$(res '[.timed_out, .state_lost]')" = '[true,true]' ]
	say $? "a step that times out loses the state, and says so"
	ex "$r" "$t/s/inc.py"
	[ $? = 1 ] && grep -q "NameError: name 'x' is not defined" "$t/out" &&
	    [ "$(res .state_lost)" = false ]
	say $? "the next starts afresh, and does not say it again"
	ex "$r" "$t/s/set.py"
	ex "$r" "$t/s/oom.py"
	[ "$(res '[.oom_killed, .state_lost]')" = '[true,true]' ]
	say $? "OOM: reported, and the state is lost"
	ex "$r" "$t/s/set.py"
	ex "$r" "$t/s/crash.py"
	[ $? = 9 ] && [ "$(res .state_lost)" = true ]
	say $? "a step that ends the interpreter: its status, state lost"
	ex "$r" "$t/s/set.py"
	ex "$r" "$t/s/kill.sh"
	ex "$r" "$t/s/inc.py"
	[ $? = 1 ] && [ "$(res .state_lost)" = true ]
	say $? "an interpreter killed between steps: the next step says so"

	begin -t repl
	ex "$id" "$t/s/set.py"
	ex "$id" "$t/s/inc.py"
	[ "$(data stdout)" = "x is 42" ]
	say $? "the template key repl = true"
	begin -t replguard
	ex "$id" "$t/s/set.py"
	ex "$id" "$t/s/nosock.py"
	[ $? = 1 ] && [ "$(res .import_refused)" = '"socket"' ] &&
	    grep -q "ModuleNotFoundError: import of 'socket' refused" "$t/out"
	say $? "the import guard judges each repl step"
	ex "$id" "$t/s/inc.py"
	[ "$(data stdout)" = "x is 42" ]
	say $? "and a refused import leaves the state alone"
	ex "$id" "$t/s/getter.py"
	ex "$id" "$t/s/useget.py"
	[ $? = 1 ] && [ "$(res .import_refused)" = '"socket"' ]
	say $? "a function of an earlier step imports under the guard too"
	begin -t test
	ex "$id" "$t/s/set.py"
	ex "$id" "$t/s/inc.py"
	[ $? = 1 ] && [ "$(res .state_lost)" = null ]
	say $? "without it, each step is a python of its own"
done
exit $FAILED
