#!/bin/sh
# What a run used, in every result: cpu_time (the kernel's count of
# every process of the run, reaped by the container's init or a
# session's supervisor) and memory_peak (the container's memory cgroup
# peak for a run, pooled or not; a session step's largest process),
# on podman and docker.  A 1 s CPU spin shows about 1 s, a sleep almost
# none, a 200 MB allocation at least 200 MB and below the limit; a run
# stopped by its timeout still counts; a script cannot forge the count
# nor see the key that tells the init's from its own.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtime_suite usage "$@"
mkdir "$t/src"
res() { jq -r "select(.event == \"result\") | $1" "$t/out"; }
data() { jq -j "select(.event == \"$1\") | .data" "$t/out"; }
cat >"$t/src/spin.py" <<'PY'
import time
t = time.process_time()
while time.process_time() - t < 1:
    pass
print("spun")
PY
cat >"$t/src/fork.sh" <<'SH'
# CPU in children and an orphan: all of it is the run's.
for i in 1 2; do (i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done) & done
wait
(sh -c 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done' &)
sleep 0.2
echo forked
SH
printf 'import time\ntime.sleep(1)\nprint("slept")\n' >"$t/src/sleep.py"
cat >"$t/src/mem.py" <<'PY'
b = bytearray(200 * 1024 * 1024)
for i in range(0, len(b), 4096):
    b[i] = 1
print(len(b))
PY
printf 'while True:\n    pass\n' >"$t/src/loop.py"
printf 'import time\ntime.sleep(3)\n' >"$t/src/sleep3.py"
cat >"$t/src/ign.py" <<'PY'
# Children the kernel reaps itself pass their time to nobody: the
# cgroup counts it still.
import os, signal, time
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
if os.fork() == 0:
    t = time.process_time()
    while time.process_time() - t < 1:
        pass
    os._exit(0)
time.sleep(1.5)
print("spun")
PY
cat >"$t/src/forge.py" <<'PY'
import os
print("SBX_INIT_KEY" in os.environ)
try:
    open("/proc/1/environ", "rb").read()
    print("environ read")
except OSError as e:
    print("environ", e.errno)
# A count of its own, with a key of its own: the init writes the real one.
open("/sbx/out/usage", "w").write("0" * 32 + " 7 7\n")
PY
cat >"$t/src/block.py" <<'PY'
# Keeps the init from writing its count: no count, not a forged one.
import os
os.mkdir("/sbx/out/usage")
open("/sbx/out/usage/x", "w").write("ffffffffffffffffffffffffffffffff 7 7\n")
PY

run() {
	"$SBX" -c "$conf" -r "$rt" "$@" >"$t/out" 2>"$t/err"
}
# usage WHAT: the checks every result must pass, of any of the kinds.
usage() {
	num "$1: spin: cpu_time is about 1 s" "$(res .cpu_time)" '>=' 0.8 &&
	    num "$1: spin: cpu_time is not 2 s" "$(res .cpu_time)" '<' 1.8
}
for rt in $runtimes; do
	RT=$rt
	# A run.
	run -t usage -d "$t/src" spin.py
	is "run: spin: status 0" "$(res .status)" 0 || show
	usage run
	run -t usage -d "$t/src" ign.py
	usage "run: SIGCHLD ignored"
	run -t usage -d "$t/src" sleep.py
	num "run: sleep: cpu_time near zero" "$(res .cpu_time)" '<' 0.3
	num "run: sleep: memory_peak counted" "$(res .memory_peak)" '>' 0
	run -t usage -d "$t/src" mem.py
	is "run: mem: status 0" "$(res .status)" 0 || show
	num "run: mem: memory_peak at least 200 MB" "$(res .memory_peak)" \
	    '>=' 209715200
	num "run: mem: memory_peak below the limit" "$(res .memory_peak)" \
	    '<' 536870912
	run -t usage -d "$t/src" fork.sh
	is "run: children and orphans: output" "$(data stdout)" forked
	num "run: children and orphans: their CPU counts" \
	    "$(res .cpu_time)" '>=' 0.2
	run -t usage-short -d "$t/src" loop.py
	is "run: timeout: timed out" "$(res .timed_out)" true || show
	num "run: timeout: the CPU until then counts" "$(res .cpu_time)" \
	    '>=' 1.5
	run -t usage -d "$t/src" forge.py
	is "run: the key is not the script's" "$(data stdout)" \
	    "False${nl}environ 13"
	num "run: a forged count is not taken" "$(res .cpu_time)" '<' 7
	isnt "run: a forged count is not taken: memory" \
	    "$(res .memory_peak)" 7
	run -t usage -d "$t/src" block.py
	is "run: a blocked count: status 0" "$(res .status)" 0 || show
	is "run: a blocked count is unknown, not forged" \
	    "$(res '[.cpu_time, .memory_peak] | @json')" '[null,null]'

	# Session steps: the step's own, not the session's.
	id=$("$SBX" start -c "$conf" -r "$rt" -t usage -d "$t/src" |
	    jq -r 'select(.event == "session") | .id')
	ids="$ids $id"
	for s in mem.py spin.py sleep.py ign.py; do
		"$SBX" exec "$id" "$t/src/$s" >"$t/out" 2>"$t/err"
		cp "$t/out" "$t/$s.out"
	done
	cp "$t/spin.py.out" "$t/out"
	usage step
	cp "$t/ign.py.out" "$t/out"
	usage "step: SIGCHLD ignored"
	cp "$t/mem.py.out" "$t/out"
	num "step: mem: memory_peak at least 200 MB" "$(res .memory_peak)" \
	    '>=' 209715200
	cp "$t/sleep.py.out" "$t/out"
	num "step: sleep after mem: cpu_time near zero" "$(res .cpu_time)" \
	    '<' 0.3
	num "step: sleep after mem: its own peak, not the session's" \
	    "$(res .memory_peak)" '<' 104857600
	"$SBX" stop "$id" >/dev/null 2>&1

	# A repl session's steps: the interpreter's time in the step.
	id=$("$SBX" start -c "$conf" -r "$rt" -t usage --repl -d "$t/src" |
	    jq -r 'select(.event == "session") | .id')
	ids="$ids $id"
	"$SBX" exec "$id" "$t/src/spin.py" >"$t/out" 2>"$t/err"
	usage repl
	"$SBX" exec "$id" "$t/src/sleep.py" >"$t/out" 2>"$t/err"
	num "repl: sleep after spin: cpu_time near zero" "$(res .cpu_time)" \
	    '<' 0.3
	"$SBX" stop "$id" >/dev/null 2>&1

	# A pooled run: the container's peak, as a cold run's.
	p=usage-$rt-$$
	pools="$pools $p"
	"$SBX" pool start "$p" -c "$conf" -r "$rt" -t usage -n 1 \
	    >/dev/null 2>"$t/err" || { notok "pool start"; show; }
	"$SBX" -c "$conf" -P "$p" -d "$t/src" mem.py >"$t/out" 2>"$t/err"
	is "pooled: pooled" "$(jq -r 'select(.event == "start") | .pooled' \
	    "$t/out")" true
	num "pooled: mem: memory_peak at least 200 MB" "$(res .memory_peak)" \
	    '>=' 209715200
	num "pooled: mem: memory_peak below the limit" "$(res .memory_peak)" \
	    '<' 536870912
	num "pooled: mem: cpu_time counted" "$(res .cpu_time)" '>' 0

	# sbx ps: a run, a session in a step and a pool's container, with
	# their usage now; then none of them.
	"$SBX" -c "$conf" -r "$rt" -t usage-short -d "$t/src" loop.py \
	    >/dev/null 2>&1 &
	run_pid=$!
	id=$("$SBX" start -c "$conf" -r "$rt" -t usage -d "$t/src" |
	    jq -r 'select(.event == "session") | .id')
	ids="$ids $id"
	"$SBX" exec "$id" "$t/src/sleep3.py" >/dev/null 2>&1 &
	exec_pid=$!
	sleep 1.5
	"$SBX" ps -r "$rt" >"$t/ps" 2>"$t/err"
	is "ps: status 0" "$?" 0
	ps_of() { jq -r "select(.kind == \"$1\" and $2) | $3" "$t/ps"; }
	is "ps: the run, by template" "$(ps_of run \
	    '.template == "usage-short"' .runtime)" "$rt" || diag "$(cat "$t/ps")"
	num "ps: the run's CPU time now" "$(ps_of run \
	    '.template == "usage-short"' .cpu_time)" '>' 0.5
	num "ps: the run's memory now" "$(ps_of run \
	    '.template == "usage-short"' .memory)" '>' 0
	num "ps: the run's elapsed time" "$(ps_of run \
	    '.template == "usage-short"' .elapsed)" '>' 0.5
	is "ps: the session, in its first step" "$(ps_of session \
	    ".session == \"$id\"" .step)" 1 || diag "$(cat "$t/ps")"
	num "ps: the step's elapsed time" "$(ps_of session \
	    ".session == \"$id\"" .elapsed)" '<' 5
	wait "$run_pid" "$exec_pid"
	"$SBX" stop "$id" >/dev/null 2>&1
	"$SBX" ps -r "$rt" >"$t/ps" 2>"$t/err"
	is "ps: once over, none of them" "$(jq -r "select(.session == \"$id\"
	    or .template == \"usage-short\") | .name" "$t/ps")" ""
done
exit 0
