#!/bin/sh
# Pools on podman and docker: start, ls, stop; a pooled run gives what a
# cold run gives (output, tracebacks, status, stdin, $SBX_RESULT, rw
# changes, -u, -k and apply, timeout, max_output, OOM), in a container
# nobody used before and that is gone after it; refill in the
# background; a cold run when the pool is empty; refusal when the
# template changed; 16 claimers against 4 containers; gc after a
# claimer is killed, and of an idle pool.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtimes_of "$@"
export SBX_SUPERVISE=${SBX_SUPERVISE:-$root/sbx-supervise}
suite_base pool
t=$BASE
private_tmpdir
# Every pool started is stopped at the end, whatever became of it.
ON_EXIT='for p in $(ls "$TMPDIR" 2>/dev/null | sed -n "s/^sbx-pool\.//p");
    do "$SBX" pool stop "$p" >/dev/null 2>&1; done'
cp "$root/tests/test.ini" "$t/test.ini"
conf=$t/test.ini
mkdir "$t/src" "$t/c"
echo original >"$t/src/data.txt"

show() {
	diag "$(tail -n 8 "$t/out" | cut -c1-300)"
	diag "$(tail -n 3 "$t/err" | cut -c1-300)"
}
res() { jq -c "select(.event == \"result\") | $1" "$t/out"; }
start_ev() { jq -c "select(.event == \"start\") | $1" "$t/out"; }
script() { printf '%s\n' "$2" >"$t/src/$1"; }
# pool NAME [OPTION...]: sbx pool start
pool() {
	_p=$1
	shift
	timeout 120 "$SBX" pool start "$_p" -c "$conf" -r "$RT" "$@" \
	    >"$t/out" 2>"$t/err" </dev/null
}
# P NAME [OPTION...] SCRIPT [ARG...]: a pooled run, stdin /dev/null
P() {
	_p=$1
	shift
	timeout 60 "$SBX" -c "$conf" -P "$_p" -d "$t/src" "$@" >"$t/out" \
	    2>"$t/err" </dev/null
}
# cold [OPTION...] SCRIPT: the same run, not pooled, into $t/cold
cold() {
	timeout 60 "$SBX" -c "$conf" -r "$RT" -t test -d "$t/src" "$@" >"$t/cold" \
	    2>"$t/err" </dev/null
}
# gone NAME: the container is removed within 20 s
gone() {
	_i=0
	while [ -n "$("$RT" ps -a -q --filter "name=^$1\$")" ] &&
	    [ $_i -lt 100 ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
	[ -z "$("$RT" ps -a -q --filter "name=^$1\$")" ]
}
# A run's events, less what differs between any two runs: its start
# and result, and its stdout and stderr each whole (how a stream comes
# in events, and in which order the two, is the kernel's to say).
same() {
	jq -c 'select(.event == "start" or .event == "result") |
	    del(.name, .uid, .gid, .pool, .pooled, .duration, .cpu_time,
	    .memory_peak)' "$1"
	jq -j 'select(.event == "stdout") | .data' "$1"
	echo "[stderr]"
	jq -j 'select(.event == "stderr") | .data' "$1"
}

script fail.py 'import sys, json
print("out", sys.argv[1:])
print("err", file=sys.stderr)
raise ValueError("boom")'
script ok.sh 'echo fine'
script mark.sh 'ls /tmp/marker 2>/dev/null; echo x >/tmp/marker; cat /proc/1/cmdline | tr "\0" " "'
script cat.sh 'cat; echo "[end]"'
script read.sh 'cat; read x; echo "r=$?"'
script devstdin.sh 'cat /dev/stdin; echo "[end]"'
script write.sh 'echo made >made.txt; echo changed >data.txt'
script sleep.sh 'echo begin; sleep 30'
script flood.sh 'yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'
script oom.sh 'a=$(head -c 400000000 /dev/zero | tr "\\0" x); echo ${#a}'
script value.sh 'echo "{\"n\": 1}" >"$SBX_RESULT"'
script who.sh 'i=0; while [ $i -lt 200 ]; do echo "$1"; i=$((i+1)); done'
script six.sh 'sleep 6; echo slept'
script spin.sh 'while :; do :; done'
mkdir "$t/many"
i=0
while [ $i -lt 1100 ]; do
	: >"$t/many/f$i"
	i=$((i + 1))
done
echo 'echo never' >"$t/many/run.sh"

for RT in $runtimes; do
	pool py -t test -n 1
	P py fail.py a b
	rc=$?
	cold fail.py a b
	[ $rc = 1 ] && [ "$(start_ev '[.pool, .pooled]')" = '["py",true]' ] &&
	    [ "$(same "$t/out")" = "$(same "$t/cold")" ] &&
	    grep -q 'File \\"/workspace/fail.py\\", line 4' "$t/out"
	say $? "a pooled run's events are a cold run's: output, traceback, status"
	name=$(start_ev .name | tr -d '"')
	case $name in sbx-pool-py-*) true ;; *) false ;; esac && gone "$name"
	say $? "its container is removed after the run"
	printf 'print("from stdin")\n' | timeout 60 "$SBX" -c "$conf" -P py \
	    -d "$t/src" - >"$t/out" 2>"$t/err"
	[ $? = 0 ] && grep -q '"data":"from stdin' "$t/out"
	say $? "a pooled script from stdin"
	"$SBX" pool stop py >/dev/null

	pool p -t test -e sh -n 2
	[ $? = 0 ] && [ "$(jq -c 'select(.event == "pool") |
	    [.name, .size, .ready, .in_use]' "$t/out")" = '["p",2,2,0]' ] &&
	    [ "$("$RT" ps --filter label=sbx.pool=p -q | wc -l)" = 2 ]
	say $? "pool start: 2 containers ready, labelled, and a pool event"
	pool p -t test
	[ $? = 125 ] && grep -q "pool p exists" "$t/err"
	say $? "a second pool of the same name is refused"

	P p ok.sh
	[ $? = 0 ] && [ "$(start_ev '[.pool, .pooled]')" = '["p",true]' ] &&
	    pool_wait p 2
	say $? "the pool is filled again in the background"

	P p mark.sh
	n1=$(start_ev .name)
	o1=$(jq -r 'select(.event == "stdout") | .data' "$t/out")
	P p mark.sh
	n2=$(start_ev .name)
	o2=$(jq -r 'select(.event == "stdout") | .data' "$t/out")
	[ "$n1" != "$n2" ] && [ "${o1#/tmp/marker}" = "$o1" ] &&
	    [ "${o2#/tmp/marker}" = "$o2" ] &&
	    like "the script runs under the supervisor" "$o2" "/sbx/supervise"
	say $? "each run has a container nobody used: no marker of the last"

	printf 'line one\nline two\n' | timeout 60 "$SBX" -c "$conf" -P p \
	    -d "$t/src" cat.sh >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "line one${nl}line two${nl}[end]" ]
	say $? "stdin passes through to a pooled run"
	# A reader that polls for the end: the host's writer must outlive
	# the step's open, or poll never says POLLHUP.
	printf a | timeout 20 "$SBX" -c "$conf" -P p -d "$t/src" read.sh \
	    >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "ar=1" ]
	say $? "a stdin that ends at once: EOF, even for a read that polls"
	printf 'by path\n' | timeout 20 "$SBX" -c "$conf" -P p -d "$t/src" \
	    devstdin.sh >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -j 'select(.event == "stdout") | .data' \
	    "$t/out")" = "by path${nl}[end]" ]
	say $? "cat /dev/stdin in a pooled run, as in a cold one"
	P p value.sh
	[ $? = 0 ] && [ "$(res .value)" = '{"n":1}' ]
	say $? "\$SBX_RESULT of a pooled run"
	P p -T 2 sleep.sh
	[ $? = 124 ] && [ "$(res '[.timed_out, .status]')" = '[true,124]' ] &&
	    gone "$(start_ev .name | tr -d '"')"
	say $? "timeout: status 124, its container removed"
	P p flood.sh
	[ $? = 137 ] && [ "$(res .truncated)" = true ]
	say $? "max_output stops a pooled run"
	P p oom.sh
	[ "$(res .oom_killed)" = true ]
	say $? "OOM in a pooled run is reported"
	P p spin.sh
	[ $? = 152 ] && [ "$(res '[.cpu_time_exceeded, .signal]')" = '[true,24]' ]
	say $? "the template's cpu_time stops a pooled run: SIGXCPU"
	P p -e js ok.sh
	[ $? = 125 ] && grep -q "pool p's containers run sbx-sh" "$t/err"
	say $? "a script of another image is refused"
	timeout 10 "$SBX" -c "$conf" -P p -m 64m -d "$t/src" ok.sh \
	    >"$t/out" 2>"$t/err"
	[ $? = 125 ] && grep -q "^sbx: -m: a pool's containers are made" \
	    "$t/err"
	say $? "-m with -P is refused: the pool's containers are made"

	# 16 claimers, 4 containers: each run its own, output never mixed.
	"$SBX" pool stop p >/dev/null
	pool q -e sh -t test -n 4
	i=0
	while [ $i -lt 16 ]; do
		timeout 120 "$SBX" -c "$conf" -P q -d "$t/src" who.sh "w$i" \
		    >"$t/c/$i" 2>&1 </dev/null &
		i=$((i + 1))
	done
	wait
	bad=0
	i=0
	while [ $i -lt 16 ]; do
		[ "$(jq -c 'select(.event == "result") | .status' "$t/c/$i")" = 0 ] &&
		    [ "$(jq -j 'select(.event == "stdout") | .data' "$t/c/$i" |
		    sort -u)" = "w$i" ] || bad=$((bad + 1))
		i=$((i + 1))
	done
	pooled=$(cat "$t/c"/* | jq -r 'select(.event == "start" and .pooled) |
	    .name' | sort)
	[ $bad = 0 ] && [ -n "$pooled" ] &&
	    [ "$pooled" = "$(printf '%s\n' "$pooled" | sort -u)" ]
	say $? "16 claimers at once: all succeed, no container twice, output unmixed"
	diag "pooled: $(printf '%s\n' "$pooled" | wc -l) of 16"

	# Empty: a cold run, said in start.
	"$SBX" pool stop q >/dev/null
	pool e -e sh -t test -n 1
	timeout 60 "$SBX" -c "$conf" -P e -d "$t/src" sleep.sh \
	    >"$t/c/held" 2>&1 </dev/null &
	held=$!
	i=0
	until grep -q '"begin' "$t/c/held" || [ $i -gt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	P e ok.sh
	[ $? = 0 ] && [ "$(start_ev '[.pool, .pooled]')" = '["e",false]' ] &&
	    grep -q '"data":"fine' "$t/out"
	say $? "an empty pool: a cold run, and start says so"

	# A claimer killed: its container is never used again; gc removes it.
	kill -9 "$held"
	wait "$held" 2>/dev/null
	victim=$(jq -r 'select(.event == "start") | .name' "$t/c/held")
	P e ok.sh
	[ "$(start_ev .name | tr -d '"')" != "$victim" ]
	say $? "a killed claimer's container is never claimed again"
	"$SBX" gc >"$t/out" 2>"$t/err"
	gone "$victim" && [ -z "$(ls "$TMPDIR/sbx-pool.e" |
	    grep -x "${victim##*-}")" ]
	say $? "gc removes a killed claimer's container and directory"
	"$SBX" pool stop e >/dev/null

	# rw: changes, -u, -k and sbx apply, the original untouched.
	pool w -e sh -t test -w rw -n 1
	P w -u -k write.sh
	kept=$(res .shadow | tr -d '"')
	[ $? = 0 ] && [ "$(res '[.changes.added, .changes.modified]')" = '[1,1]' ] &&
	    grep -q '"event":"diff","path":"data.txt"' "$t/out" &&
	    [ "$(cat "$t/src/data.txt")" = original ] && [ -d "$kept" ]
	say $? "rw: changes and diffs reported, the original untouched"
	"$SBX" apply -n "$kept" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -c 'select(.event == "applied") | .applied' \
	    "$t/out")" = 2 ]
	say $? "-k keeps a pooled run for sbx apply"
	rm -rf "${kept%/ws}"

	# Stale: the template changed since the pool started.
	pool_wait w 1
	sed 's/^timeout = 10$/timeout = 11/' "$root/tests/test.ini" >"$conf"
	P w ok.sh
	[ $? = 125 ] && grep -q "template 'test' in .* changed" "$t/err" &&
	    [ "$(pool_ready w)" = 1 ]
	say $? "a pool whose template changed is refused, nothing used"
	cp "$root/tests/test.ini" "$conf"

	"$SBX" pool stop w >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(jq -r .event "$t/out")" = stopped ] &&
	    [ ! -e "$TMPDIR/sbx-pool.w" ] &&
	    [ -z "$("$RT" ps -a -q --filter label=sbx.pool=w)" ]
	say $? "pool stop: every container and directory gone"

	# A run that dies before its script (more than max_files): the
	# container it claimed is gone, and the pool is filled again.
	pool f -e sh -t test -n 1
	timeout 60 "$SBX" -c "$conf" -P f -d "$t/many" run.sh >"$t/out" \
	    2>"$t/err" </dev/null
	[ $? = 125 ] && grep -q "max_files" "$t/err" && pool_wait f 1 &&
	    [ "$("$RT" ps -q --filter label=sbx.pool=f | wc -l)" = 1 ]
	say $? "a claimer that fails early: its container gone, the pool refilled"
	"$SBX" pool stop f >/dev/null

	# gc leaves a pool alone while a run is in one of its containers,
	# however long ago the pool was last claimed from.
	pool g -e sh -t poolidle -n 1
	timeout 60 "$SBX" -c "$conf" -P g -d "$t/src" six.sh >"$t/c/six" \
	    2>&1 </dev/null &
	six=$!
	sleep 4.5
	"$SBX" gc >"$t/out" 2>"$t/err"
	wait $six
	rc=$?
	[ $rc = 0 ] && grep -q '"data":"slept' "$t/c/six" &&
	    ! grep -q '"kind":"pool"' "$t/out"
	say $? "gc does not end a pool while a run is in it"
	"$SBX" pool stop g >/dev/null

	# A container whose max_lifetime would end before the run: not used.
	pool l -e sh -t poolshort -n 1
	[ $? = 125 ] && grep -q "max_lifetime" "$t/err" &&
	    [ ! -e "$TMPDIR/sbx-pool.l" ]
	say $? "a pool whose containers would not outlive a run is refused"
	pool l -e sh -t poollife -n 1
	P l ok.sh
	[ $? = 0 ] && [ "$(start_ev .pooled)" = true ] && pool_wait l 1
	say $? "a young container serves a run"
	sleep 6
	P l ok.sh
	[ $? = 0 ] && [ "$(start_ev .pooled)" = false ] && pool_wait l 1
	say $? "one too old for the run's timeout does not, and is replaced"
	"$SBX" pool stop l >/dev/null

	# pool start interrupted: what it started goes with it.
	timeout 120 "$SBX" pool start s -c "$conf" -r "$RT" -e sh -t test \
	    -n 4 >"$t/out" 2>"$t/err" </dev/null &
	st=$!
	i=0
	until ls "$TMPDIR"/sbx-pool.s/*/state >/dev/null 2>&1 ||
	    [ $i -gt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -TERM $st
	wait $st
	rc=$?
	[ $rc != 0 ] && [ ! -e "$TMPDIR/sbx-pool.s" ] &&
	    [ -z "$("$RT" ps -a -q --filter label=sbx.pool=s)" ]
	say $? "an interrupted pool start leaves no container or directory"

	# Idle: the brief template's 2 s; gc removes the pool.
	pool i -e sh -t brief -n 1
	sleep 3
	"$SBX" gc >"$t/out" 2>"$t/err"
	[ ! -e "$TMPDIR/sbx-pool.i" ] &&
	    grep -q '"event":"gc","kind":"pool"' "$t/out" &&
	    [ -z "$("$RT" ps -a -q --filter label=sbx.pool=i)" ]
	say $? "gc removes a pool idle past its idle_timeout"
done

# A refill runs in the background: a few seconds for it to end.
i=0
while [ -n "$(ls -A "$TMPDIR")" ] && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
left=$(ls -A "$TMPDIR")
[ -z "$left" ]
say $? "nothing left in TMPDIR" || diag "$left"
exit $FAILED
