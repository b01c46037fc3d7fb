#!/bin/sh
# -t gvisor, the shipped template, on podman and docker under Debian's
# runsc: what sbx promises holds as under runc.  The script's output,
# traceback and status are those of -t hardened, byte for byte; stdin,
# a signal, the timeout (the container removed), the OOM killer, CPU
# time, max_output, rw changes and sbx apply, $SBX_RESULT, a session's
# steps, a pooled run and allow_hosts (a session's steps' too) all work;
# memory_peak is null, as gVisor keeps no memory cgroup; a runtime that
# is not there is one clear error, 125.  A traceback in a session's step, a repl's and a
# pooled run is byte for byte that of runc: the supervisor's pipes, not
# the host's FIFOs, are a step's output, which runsc would fail for a
# write of no bytes.  tests/hostile-gvisor.sh runs the hostile suite so.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtime_suite gvisor "$@"
res() { jq -r "select(.event == \"result\") | $1" "$t/out"; }
out() { jq -j 'select(.event == "stdout") | .data' "$t/out"; }
err() { jq -j 'select(.event == "stderr") | .data' "$t/out"; }
command -v runsc >/dev/null 2>&1 || notok "runsc installed (Debian's runsc package)"

mkdir "$t/src"
printf 'gvisor\n' >"$t/src/data.txt"
cat >"$t/src/trace.py" <<'PY'
import json
def f(x):
    return 1 / x
print(json.dumps({"ok": 1}))
f(0)
PY
printf 'dmesg | head -n 1\n' >"$t/src/kernel.sh"
printf 'cat | tr a-z A-Z\n' >"$t/src/upper.sh"
printf 'echo before; kill -TERM $$; echo after\n' >"$t/src/term.sh"
printf 'while :; do :; done\n' >"$t/src/spin.sh"
printf 'x = []\nwhile True:\n    x.append(bytearray(16 << 20))\n' >"$t/src/hog.py"
printf 'import time\nt = time.time()\nwhile time.time() - t < 1.5: pass\n' >"$t/src/busy.py"
printf 'yes 0123456789abcdef | head -c 10000000\n' >"$t/src/flood.sh"
printf 'echo new >new.txt; echo changed >data.txt\n' >"$t/src/write.sh"
printf 'echo "{\\"n\\": 1}" >"$SBX_RESULT"\n' >"$t/src/value.sh"
cp "$t/src/data.txt" "$t/data.orig"
g() { timeout 120 "$SBX" -c "$conf" -r "$rt" -t gvisor -d "$t/src" "$@" \
    >"$t/out" 2>"$t/err"; }
left() { "$rt" ps -a --filter label=sbx --format '{{.Names}}'; }

for rt in $runtimes; do
	RT=$rt
	g kernel.sh
	like "the kernel is gVisor's" "$(out)" "Starting gVisor" || show

	g trace.py
	is "a traceback: status 1" "$(res '[.status, .exit_code] | @csv')" 1,1
	gout=$(out) gerr=$(err)
	timeout 120 "$SBX" -c "$conf" -r "$rt" -t hardened -d "$t/src" trace.py \
	    >"$t/out" 2>"$t/err"
	is "a traceback: stdout as under runc" "$gout" "$(out)"
	is "a traceback: stderr as under runc, byte for byte" "$gerr" "$(err)"

	echo piped | g upper.sh
	is "stdin" "$(out)" PIPED || show
	g term.sh
	is "a signal: 143, SIGTERM" "$(res '[.status, .signal] | @csv')" 143,15
	is "a signal: the output before it" "$(out)" before

	g -T 2 spin.sh
	is "the timeout: 124" "$(res '[.status, .timed_out] | @csv')" 124,true
	is "the timeout: no container left" "$(left)" ""
	g hog.py
	is "the OOM killer: 137, reported" "$(res '[.status, .oom_killed] | @csv')" 137,true || show
	g busy.py
	num "CPU time of a busy second and a half" "$(res .cpu_time)" '>' 0.3
	is "memory_peak: null, gVisor has no memory cgroup" "$(res .memory_peak)" null
	g flood.sh
	is "max_output 4m: truncated" "$(res .truncated)" true
	num "max_output 4m: what came" "$(out | wc -c)" '<=' 4194304

	g -w rw -k write.sh
	is "rw: one added, one modified" \
	    "$(jq -c 'select(.event == "changes") | [.added, .modified]' "$t/out")" '[1,1]' || show
	keep=$(res '.shadow // empty')
	keep=${keep%/ws}
	[ -n "$keep" ] && "$SBX" apply "$keep" >"$t/apply" 2>&1
	is "sbx apply: the change is in the tree" "$(cat "$t/src/data.txt" "$t/src/new.txt" 2>&1)" "changed
new"
	cp "$t/data.orig" "$t/src/data.txt"
	rm -f "$t/src/new.txt"
	[ -n "$keep" ] && rm -rf "$keep"

	g value.sh
	is "\$SBX_RESULT" "$(res .value.n)" 1 || show

	timeout 120 "$SBX" start -c "$conf" -r "$rt" -t gvisor -e sh -d "$t/src" \
	    >"$t/out" 2>"$t/err" </dev/null
	id=$(jq -r 'select(.event == "session") | .id' "$t/out")
	ids="$ids $id"
	is "a session starts" "${#id}" 12 || show
	echo piped | timeout 60 "$SBX" exec -c "$conf" "$id" "$t/src/upper.sh" \
	    >"$t/out" 2>"$t/err"
	is "a session's step, with stdin, through the FIFOs" "$(out)" PIPED || show
	timeout 60 "$SBX" exec -c "$conf" "$id" "$t/src/term.sh" >"$t/out" 2>"$t/err"
	is "a session's step ends by a signal: 143" "$(res .status)" 143
	"$SBX" stop "$id" >/dev/null 2>&1

	# A traceback in a step of a session, plain and repl, under runsc
	# and then runc: the same bytes.
	for how in "" --repl; do
		for tpl in gvisor hardened; do
			timeout 120 "$SBX" start -c "$conf" -r "$rt" -t $tpl \
			    $how -e py -d "$t/src" >"$t/out" 2>"$t/err" </dev/null
			id=$(jq -r 'select(.event == "session") | .id' "$t/out")
			ids="$ids $id"
			timeout 60 "$SBX" exec -c "$conf" "$id" "$t/src/trace.py" \
			    >"$t/out" 2>"$t/err"
			"$SBX" stop "$id" >/dev/null 2>&1
			eval "${tpl}_st=\$(res .status) ${tpl}_out=\$(out) ${tpl}_err=\$(err)"
		done
		is "a traceback in a session's step${how:+ ($how)}: status 1" \
		    "$gvisor_st" 1
		is "a traceback in a session's step${how:+ ($how)}: stdout as under runc" \
		    "$gvisor_out" "$hardened_out"
		is "a traceback in a session's step${how:+ ($how)}: stderr as under runc" \
		    "$gvisor_err" "$hardened_err"
		like "a traceback in a session's step${how:+ ($how)}: all of it" \
		    "$gvisor_err" "ZeroDivisionError: division by zero"
	done

	pools="$pools gv$$"
	timeout 120 "$SBX" pool start "gv$$" -c "$conf" -r "$rt" -t gvisor \
	    -e py -n 1 >"$t/out" 2>"$t/err" </dev/null
	pool_wait "gv$$" 1
	timeout 60 "$SBX" -c "$conf" -P "gv$$" -d "$t/src" trace.py >"$t/out" 2>"$t/err"
	is "a pooled run: in a container of the pool" \
	    "$(jq -r 'select(.event == "start") | .pooled' "$t/out")" true
	is "a pooled run's traceback: status 1" "$(res .status)" 1
	is "a pooled run's traceback: stdout as a cold run's under runc" "$(out)" "$gout"
	is "a pooled run's traceback: stderr as a cold run's under runc" "$(err)" "$gerr"
	"$SBX" pool stop "gv$$" >/dev/null 2>&1
	is "no container left" "$(left)" ""

	timeout 60 "$SBX" -c "$conf" -r "$rt" -t gvisor-missing -d "$t/src" kernel.sh \
	    >"$t/out" 2>"$t/err"
	is "a runtime that is not there: 125" "$?" 125
	case $rt in
	podman) want="oci_runtime /usr/bin/runsc-missing: not found (gVisor: Debian's runsc package)" ;;
	docker) want="oci_runtime /usr/bin/runsc-missing: not a runtime of dockerd" ;;
	esac
	like "a runtime that is not there: says so" "$(cat "$t/err"; res .error)" "$want"
done

# allow_hosts under gVisor: its forwarder's socket is a host Unix
# socket, which host-uds=open lets it reach.
net_server
printf 'wget -q -O - "$1"\n' >"$t/src/wget.sh"
for rt in $runtimes; do
	RT=$rt
	g --allow-host "ok.test:$web=127.0.0.1" wget.sh "http://ok.test:$web/index.txt"
	is "allow_hosts through gVisor's host-uds" "$(out)" hello-from-host || show
	# A session's socket is made after its container started, for
	# each step: gVisor sees it in the bind-mounted /sbx all the same.
	timeout 120 "$SBX" start -c "$conf" -r "$rt" -t gvisor -e sh \
	    --allow-host "ok.test:$web=127.0.0.1" -d "$t/src" \
	    >"$t/out" 2>"$t/err" </dev/null
	id=$(jq -r 'select(.event == "session") | .id' "$t/out")
	ids="$ids $id"
	for i in 1 2; do
		timeout 60 "$SBX" exec -c "$conf" "$id" "$t/src/wget.sh" \
		    "http://ok.test:$web/index.txt" >"$t/out" 2>"$t/err"
		is "allow_hosts in a session's step $i under gVisor" "$(out)" \
		    hello-from-host || show
	done
	"$SBX" stop "$id" >/dev/null 2>&1
done
exit "$FAILED"
