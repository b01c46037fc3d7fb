#!/bin/sh
# sbx batch, on podman and docker, here and on a single-node Slurm: one
# script over many trees whose outcomes differ (a pass, a traceback, a
# fork bomb, a memory hog, an infinite loop, a script that deletes its
# files, one that reads stdin, a tree without the script).  Each case's
# lines are tagged and together, the batch line counts them, the exit
# status composes; --resume after a stop finishes the rest; a stop, ours
# or Slurm's scancel, leaves no container, no run directory and no
# shared directory behind.  Slurm must be up (tests/lib/setup-debian.sh):
# without it the suite fails.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
# Our jobs' name: another user's batch on the same Slurm is not ours.
job=sbx-test-$$
ON_EXIT='scancel -n "$job" 2>/dev/null'
runtime_suite batch "$@"
# of CASE JQ: JQ of CASE's result.
of() { jq -r "select(.event == \"result\" and .case == \"$1\") | $2" "$t/out"; }
batchline() { jq -r "select(.event == \"batch\") | $1" "$t/out"; }

# A '%' in the path: sbatch reads it in its output paths.
mkdir -p "$t/subs%a" && cd "$t/subs%a" || exit 2
mk() { mkdir "$1" && cat >"$1/grade.py"; }
mk pass <<'PY'
print("42")
PY
mk trace <<'PY'
def f():
    return 1 / 0
f()
PY
mk forkbomb <<'PY'
import os
while True:
    try:
        os.fork()
    except OSError:
        pass
PY
mk hog <<'PY'
b = []
while True:
    b.append(bytearray(16 * 1024 * 1024))
PY
mk loop <<'PY'
while True:
    pass
PY
mk deleter <<'PY'
import os
for n in os.listdir("/workspace"):
    os.remove(os.path.join("/workspace", n))
print("gone")
PY
mk stdin <<'PY'
import sys
print(sys.stdin.read().strip().upper())
PY
mkdir empty
echo "some input" >"$t/input"
all="pass trace forkbomb hog loop deleter stdin empty"
# What a plain python3 says of trace: the batch must show the same.
python3 trace/grade.py 2>&1 | sed "s|$t/subs%a/trace|/workspace|" >"$t/trace.want"

# mixed WHAT: the checks of a batch of all the cases, in $t/out.
mixed() {
	is "$1: exit status 125: a case sbx could not run" "$st" 125
	is "$1: pass: ok" "$(of pass '.status')" 0 || show
	is "$1: pass: its stdout" "$(jq -j 'select(.event == "stdout" and .case == "pass") | .data' "$t/out")" 42
	is "$1: trace: status 1" "$(of trace .status)" 1
	is "$1: trace: the traceback as python3 prints it" \
	    "$(jq -j 'select(.event == "stderr" and .case == "trace") | .data' "$t/out")" \
	    "$(cat "$t/trace.want")"
	is "$1: forkbomb: stopped by the timeout" "$(of forkbomb .timed_out)" true
	is "$1: hog: out of memory" "$(of hog .oom_killed)" true
	is "$1: loop: timed out" "$(of loop .timed_out)" true
	is "$1: deleter: its deletion reported" \
	    "$(of deleter '.changes.deleted')" 1
	check "$1: deleter: the tree is untouched" test -f deleter/grade.py
	is "$1: stdin: --input is its stdin" "$(of stdin .status)" 0
	is "$1: stdin: read" "$(jq -j 'select(.event == "stdout" and .case == "stdin") | .data' "$t/out")" "SOME INPUT"
	is "$1: empty: an error, no result" \
	    "$(jq -r 'select(.case == "empty") | .event' "$t/out")" error
	is "$1: every line but the batch line names its case" \
	    "$(jq -r 'select(.event != "batch") | select(.case == null) | .event' "$t/out")" ""
	is "$1: each case's lines are together" \
	    "$(jq -r 'select(.case != null) | .case' "$t/out" | uniq | sort | uniq -d)" ""
	is "$1: the batch line counts by outcome" \
	    "$(batchline '[.cases, .ok, .failed, .timed_out, .oom, .truncated, .error, .not_run] | @csv')" \
	    "8,3,1,2,1,0,1,0"
	num "$1: the batch line sums cpu_time" "$(batchline .cpu_time)" '>=' 3
	is "$1: no container left" "$(containers)" ""
	is "$1: no run directory left" "$(ls "$TMPDIR")" ""
}
containers() {
	"$SBX" ps -r "$rt" | jq -r .name
}

for rt in $runtimes; do
	RT=$rt
	opts="-c $conf -r $rt -t batch"
	# shellcheck disable=SC2086
	"$SBX" batch -j 2 $opts --input "$t/input" grade.py $all \
	    >"$t/out" 2>"$t/err"
	st=$?
	mixed local
	like "local: sbx's error names the case" "$(cat "$t/err")" \
	    "sbx: empty: grade.py: No such file or directory"

	# A script's own exit 125 is a failure, not sbx's; a name that is
	# not UTF-8 is its own case, on --resume too; -D is refused.
	mkdir -p "$t/odd/e125" "$t/odd/$(printf 'bad\377')"
	printf 'exit 125\n' >"$t/odd/e125/grade.sh"
	printf 'echo odd\n' >"$t/odd/$(printf 'bad\377')/grade.sh"
	(cd "$t/odd" && "$SBX" batch -c "$conf" -r "$rt" -t test grade.sh e125 \
	    "$(printf 'bad\377')" >"$t/out" 2>"$t/err")
	is "local: a script's exit 125: exit 1" "$?" 1 || show
	is "local: a script's exit 125: failed, not error" \
	    "$(batchline '[.ok, .failed, .error] | @csv')" "1,1,0"
	(cd "$t/odd" && "$SBX" batch -c "$conf" -r "$rt" -t test --resume "$t/out" \
	    grade.sh e125 "$(printf 'bad\377')" >"$t/out2" 2>"$t/err")
	is "local: --resume: both counted, none run" \
	    "$(jq -r 'select(.event == "batch") | [.resumed, .ok, .failed] | @csv' "$t/out2")$(grep -c '"start"' "$t/out2")" "2,1,10"
	# shellcheck disable=SC2086
	"$SBX" batch $opts -D grade.py pass >"$t/out" 2>"$t/err"
	is "local: -D: refused" "$?" 125

	# --input from a pipe: every case reads all of it.
	# shellcheck disable=SC2086
	echo piped | "$SBX" batch $opts --input /dev/stdin grade.py stdin stdin \
	    >"$t/out" 2>"$t/err"
	is "local: --input /dev/stdin: every case reads it" \
	    "$(jq -r 'select(.event == "stdout") | .data' "$t/out" | tr -d '\n')" PIPEDPIPED

	# All pass: 0; one fails: 1.
	# shellcheck disable=SC2086
	"$SBX" batch $opts grade.py pass stdin >"$t/out" 2>"$t/err"
	is "local: all pass: exit 0" "$?" 0 || show
	# shellcheck disable=SC2086
	printf 'pass\ntrace\n' | "$SBX" batch $opts grade.py - >"$t/out" 2>"$t/err"
	is "local: one fails: exit 1" "$?" 1 || show
	is "local: dirs from stdin" "$(jq -r 'select(.event == "result") | .case' "$t/out" | sort | tr '\n' ' ')" "pass trace "

	# A bad option is one error, before any case.
	# shellcheck disable=SC2086
	"$SBX" batch $opts -m 10zz grade.py pass trace >"$t/out" 2>"$t/err"
	is "local: a bad option: 125" "$?" 125
	is "local: a bad option: one error line" "$(wc -l <"$t/out" | tr -d ' ')" 1
	like "local: a bad option: named" "$(cat "$t/out")" "10zz"

	# A stop: the runs in flight end with their result, the rest are
	# not run; --resume then runs those and the stopped ones.
	mkdir -p "$t/slow" && rm -rf "$t/slow/"*
	for i in 1 2 3 4; do
		mkdir "$t/slow/s$i"
		printf 'import time, sys\ntime.sleep(float(sys.argv[0] and %s))\nprint("done")\n' \
		    "$([ $i -le 2 ] && echo 0 || echo 30)" >"$t/slow/s$i/grade.py"
	done
	(cd "$t/slow" && exec "$SBX" batch -j 1 -c "$conf" -r "$rt" -t usage \
	    grade.py s1 s2 s3 s4 >"$t/out" 2>"$t/err") &
	pid=$!
	i=0
	until [ "$(jq -r 'select(.event == "result") | .case' "$t/out" 2>/dev/null | wc -l)" -ge 2 ] &&
	    [ -n "$(containers)" ] || [ $i -ge 150 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	kill -TERM $pid
	wait $pid
	is "stop: exit 143" "$?" 143
	is "stop: s3 interrupted" "$(of s3 .interrupted)" 15 || show
	is "stop: counts" "$(batchline '[.ok, .interrupted, .not_run] | @csv')" "2,1,1"
	is "stop: no container left" "$(containers)" ""
	is "stop: no run directory left" "$(ls "$TMPDIR")" ""
	printf 'print("done")\n' >"$t/slow/s3/grade.py"
	printf 'print("done")\n' >"$t/slow/s4/grade.py"
	(cd "$t/slow" && "$SBX" batch -j 1 -c "$conf" -r "$rt" -t usage \
	    --resume "$t/out" grade.py s1 s2 s3 s4 >>"$t/out" 2>"$t/err")
	is "resume: exit 0" "$?" 0 || show
	is "resume: only the rest ran" "$(jq -r 'select(.event == "start") | .case' "$t/out" | tr '\n' ' ')" \
	    "s1 s2 s3 s3 s4 "
	is "resume: its batch line counts them all" \
	    "$(jq -r 'select(.event == "batch") | [.ok, .resumed] | @csv' "$t/out" | tail -n 1)" "4,2"

	# Pooled cases.
	pool=batch-$rt-$$
	pools="$pools $pool"
	"$SBX" pool start "$pool" -c "$conf" -r "$rt" -t test -n 2 >/dev/null 2>&1
	"$SBX" batch -P "$pool" -c "$conf" grade.py pass trace >"$t/out" 2>"$t/err"
	is "pooled: exit 1" "$?" 1 || show
	is "pooled: both ran in the pool" "$(jq -r 'select(.event == "start") | .pool' "$t/out" | sort -u)" "$pool"
	is "pooled: the traceback" "$(of trace .status)" 1
	"$SBX" pool stop "$pool" >/dev/null 2>&1

	# On Slurm: the same batch, as a job array.
	if ! sinfo -h >/dev/null 2>&1; then
		notok "slurm: sinfo fails: is Slurm up (tests/lib/setup-debian.sh)?"
		continue
	fi
	# shellcheck disable=SC2086
	"$SBX" batch --slurm --slurm-args "--job-name=$job" -j 2 $opts --input "$t/input" grade.py $all \
	    >"$t/out" 2>"$t/err"
	st=$?
	mixed slurm
	is "slurm: no shared directory left" "$(ls -d sbx-batch.* 2>/dev/null)" ""
	# shellcheck disable=SC2086
	echo piped | "$SBX" batch --slurm --slurm-args "--job-name=$job" $opts \
	    --input /dev/stdin grade.py stdin stdin >"$t/out" 2>"$t/err"
	is "slurm: --input /dev/stdin: every case reads it" \
	    "$(jq -r 'select(.event == "stdout") | .data' "$t/out" | tr -d '\n')" PIPEDPIPED
	is "slurm: no job left" "$(squeue -h -n "$job")" ""

	# scancel: every task's sbx stops its runs, and says so.
	for i in 1 2 3 4; do
		printf 'import time\ntime.sleep(30)\n' >"$t/slow/s$i/grade.py"
	done
	(cd "$t/slow" && exec "$SBX" batch --slurm --slurm-args "--job-name=$job" -c "$conf" -r "$rt" -t usage \
	    grade.py s1 s2 s3 s4 >"$t/out" 2>"$t/err") &
	pid=$!
	i=0
	until [ "$(containers | wc -l)" -ge 2 ] || [ $i -ge 150 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	scancel -n "$job"
	wait $pid
	is "scancel: exit 125: cases not run" "$?" 125
	is "scancel: the running cases interrupted" \
	    "$(jq -r 'select(.event == "result") | .interrupted' "$t/out" | sort -u)" 15 || show
	is "scancel: counts" "$(batchline '[.interrupted, .not_run] | @csv')" "2,2"
	is "scancel: no container left" "$(containers)" ""
	is "scancel: no run directory left" "$(ls "$TMPDIR")" ""
	is "scancel: no shared directory left" "$(ls -d "$t"/slow/sbx-batch.* 2>/dev/null)" ""
	is "scancel: no job left" "$(squeue -h -n "$job")" ""
done
exit "$FAILED"
