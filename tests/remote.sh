#!/bin/sh
# Remote engines: the same runs against a podman API service and a
# second dockerd on 127.0.0.1, each started here in a mount namespace of
# its own with a private /tmp, so that a bind mount of sbx's run
# directory could not silently work (checked first).  Through the copy
# transport, what sbx promises holds as on a local engine: the script's
# output, traceback and status byte for byte as a local run's, stdin, a
# signal, the timeout and sbx's own signal (the remote container
# removed), the OOM killer, CPU time, max_output, rw changes, -u, -k
# and sbx apply, $SBX_RESULT, workspace none and ro, the copy back
# bounded and hostile links kept as links, sbx gc by label, a missing
# image named, -t gvisor on docker (podman's remote client takes no
# runtime: refused); sessions refused.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
# shellcheck source=tests/lib/engines.sh
. "$(dirname "$0")/lib/engines.sh"
runtime_suite remote "$@"
res() { jq -r "select(.event == \"result\") | $1" "$t/out"; }
out() { jq -j 'select(.event == "stdout") | .data' "$t/out"; }
err() { jq -j 'select(.event == "stderr") | .data' "$t/out"; }

{ cat "$conf"; cat <<'INI'; } >"$t/remote.ini"
[bounded]
inherit = test
workspace_size = 1m
workspace_files = 50
[small]
inherit = test
max_output = 4k
INI
mkdir "$t/src"
printf 'remote\n' >"$t/src/data.txt"
printf 'secret\n' >"$t/src/private.txt"
chmod 600 "$t/src/private.txt"
cat >"$t/src/trace.py" <<'PY'
import json, sys
def f(x):
    return 1 / x
print(json.dumps({"argv": sys.argv[1:]}))
print("to stderr", file=sys.stderr)
f(0)
PY
cat >"$t/src/who.py" <<'PY'
import os
st = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
print(os.getuid(), os.getgid(), os.getgroups())
for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs"):
    print(k, st.get(k, "?").strip())
for p in ("/sbx", "/sbx/init", "/workspace"):
    print(p, os.access(p, os.W_OK))
print(open("private.txt").read().strip())
try:
    open("/workspace/new", "w")
except OSError as e:
    print("write:", e.strerror)
PY
printf 'import os\nprint(os.uname().release)\n' >"$t/src/kernel.py"
printf 'cat | tr a-z A-Z\n' >"$t/src/upper.sh"
printf 'cat /dev/stdin; echo o >/dev/stdout; echo e >/dev/stderr\n' >"$t/src/devfd.sh"
printf 'echo before; kill -TERM $$; echo after\n' >"$t/src/term.sh"
printf 'while :; do :; done\n' >"$t/src/spin.sh"
printf 'echo up; sleep 60\n' >"$t/src/sleep.sh"
printf 'x = []\nwhile True:\n    x.append(bytearray(16 << 20))\n' >"$t/src/hog.py"
printf 'import time\nt = time.time()\nwhile time.time() - t < 1.5: pass\n' >"$t/src/busy.py"
printf 'yes 0123456789abcdef | head -c 100000\n' >"$t/src/flood.sh"
printf 'echo new >new.txt; echo changed >data.txt; rm private.txt\n' >"$t/src/write.sh"
printf 'echo "{\\"n\\": 1}" >"$SBX_RESULT"\n' >"$t/src/value.sh"
printf 'head -c 3000000 /dev/zero >big; echo done\n' >"$t/src/fill.sh"
cat >"$t/src/hostile.sh" <<'SH'
ln -s /etc/passwd evil
ln -s / root
mkdir d
echo inner >d/f
ln d/f hard
ln -s "$PWD/../../../../../../../../tmp" up
mkfifo pipe
echo x >suid; chmod 4755 suid
ls -la >/dev/null
SH
printf 'pwd; ls /workspace | wc -l; touch /workspace/x && echo wrote\n' >"$t/src/none.sh"
printf '#include <stdio.h>\nint main(int c, char **v) { printf("%%s\\n", v[c - 1]); return 4; }\n' >"$t/src/m.c"
cp -a "$t/src" "$t/src.orig"

left() { "$rt" ps -a --filter label=sbx --format '{{.Names}}'; }
r() { timeout 120 "$SBX" -c "$t/remote.ini" -r "$rt" -t test \
    -d "$t/src" "$@" >"$t/out" 2>"$t/err"; }
# local: the same run on this host's engine, for comparison.
local_run() { (unset CONTAINER_HOST DOCKER_HOST; r "$@"); }

edir=$(mktemp -d /var/tmp/sbx-remote.XXXXXX) || cannot "mktemp in /var/tmp"
ENGINE_IMAGES="sbx-python sbx-sh sbx-c"
ON_EXIT="engine_stop podman $edir/podman; engine_stop docker $edir/docker
rm -rf $edir
${ON_EXIT:-}"

for rt in $runtimes; do
	RT=$rt
	engine_start "$rt" "$edir/$rt" || { notok "the remote engine starts"; continue; }
	ok "the remote engine starts: $ENGINE_URL"
	if [ "$rt" = podman ]; then
		export CONTAINER_HOST="$ENGINE_URL"
	else
		export DOCKER_HOST="$ENGINE_URL"
	fi

	# The engine's /tmp is not ours: a bind mount of TMPDIR misses.
	echo here >"$TMPDIR/probe"
	seen=$("$rt" run --rm --network=none --mount "type=bind,source=$TMPDIR,target=/x" \
	    sbx-sh cat /x/probe 2>/dev/null)
	rm -f "$TMPDIR/probe"
	isnt "the engine does not see this host's TMPDIR" "$seen" here
	is "nothing of the probe left" "$(left)" ""

	local_run trace.py a 'b c'
	lout=$(out) lerr=$(err) lres=$(res '[.status, .exit_code] | @csv')
	r trace.py a 'b c'
	is "a traceback: status as a local run's" "$(res '[.status, .exit_code] | @csv')" "$lres" || show
	is "a traceback: stdout as a local run's" "$(out)" "$lout"
	is "a traceback: stderr as a local run's, byte for byte" "$(err)" "$lerr"
	like "the result says remote, and where the time went" \
	    "$(res '.remote | [.engine, (.create >= 0), (.copy_in >= 0), (.copy_out >= 0), (.remove >= 0)] | @csv')" \
	    "$ENGINE_URL\",true,true,true,true"
	is "no container left" "$(left)" ""

	r who.py
	uid=$(jq -r 'select(.event == "start") | "\(.uid) \(.gid) []"' "$t/out")
	is "the run's user, no groups" "$(out | sed -n 1p)" "$uid"
	is "no capability in any set, no_new_privs" "$(out | sed -n 2,7p | tr '\n' ' ')" \
	    "CapInh 0000000000000000 CapPrm 0000000000000000 CapEff 0000000000000000 CapBnd 0000000000000000 CapAmb 0000000000000000 NoNewPrivs 1 "
	is "ro: /sbx, the init and /workspace not writable" "$(out | sed -n 8,10p | tr '\n' ' ')" \
	    "/sbx False /sbx/init False /workspace False "
	is "ro: a 0600 file is readable, nothing writable" "$(out | sed -n 11,12p | tr '\n' ' ')" \
	    "secret write: Permission denied "

	echo piped | r upper.sh
	is "stdin" "$(out)" PIPED || show
	echo in | r devfd.sh
	is "/dev/stdin, /dev/stdout, /dev/stderr open, as a local run's" \
	    "$(out)|$(err)" "in${nl}o|e" || show
	r term.sh
	is "a signal: 143, SIGTERM" "$(res '[.status, .signal] | @csv')" 143,15
	is "a signal: the output before it" "$(out)" before

	r -T 2 spin.sh
	is "the timeout: 124" "$(res '[.status, .timed_out] | @csv')" 124,true || show
	is "the timeout: no container left" "$(left)" ""
	r -m 64m hog.py
	is "the OOM killer: 137, reported" "$(res '[.status, .oom_killed] | @csv')" 137,true || show
	r busy.py
	num "CPU time of a busy second and a half" "$(res .cpu_time)" '>' 0.3
	num "memory_peak, from the init's count" "$(res .memory_peak)" '>' 0
	r -t small flood.sh
	is "max_output 4k: truncated" "$(res .truncated)" true
	num "max_output 4k: what came" "$(out | wc -c)" '<=' 4096

	timeout 60 "$SBX" -c "$conf" -r "$rt" -t test -d "$t/src" sleep.sh \
	    >"$t/out" 2>"$t/err" &
	pid=$!
	i=0
	until [ -n "$(out 2>/dev/null)" ] || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
	like "sbx ps: the run, on the remote engine" "$("$SBX" ps -r "$rt" 2>&1)" \
	    "$(jq -r 'select(.event == "start") | .name' "$t/out")"
	kill -TERM $pid
	wait $pid
	is "sbx's SIGTERM: 143, interrupted" "$?:$(res '[.status, .interrupted] | @csv')" "143:143,15"
	is "sbx's SIGTERM: no container left" "$(left)" ""

	r -w rw -k -u write.sh
	is "rw: one added, one modified, one deleted" \
	    "$(jq -c 'select(.event == "changes") | [.added, .modified, .deleted]' "$t/out")" '[1,1,1]' || show
	like "-u: the diff" "$(jq -r 'select(.event == "diff") | .patch' "$t/out")" "+changed"
	diff -r "$t/src" "$t/src.orig" >/dev/null
	say $? "rw: the tree untouched before sbx apply"
	keep=$(res '.shadow // empty')
	keep=${keep%/ws}
	[ -n "$keep" ] && "$SBX" apply "$keep" >"$t/apply" 2>&1
	is "sbx apply: the changes are in the tree" \
	    "$(cat "$t/src/data.txt" "$t/src/new.txt" 2>&1; [ -e "$t/src/private.txt" ] || echo gone)" "changed${nl}new${nl}gone"
	rm -rf "$t/src" "$keep"
	cp -a "$t/src.orig" "$t/src"

	r value.sh
	is '$SBX_RESULT' "$(res .value.n)" 1
	r m.c arg
	is "C: compiled and run there" "$(out):$(res '[.status, .phase] | @csv')" 'arg:4,"run"' || show
	r -w none none.sh
	is "workspace none: empty, the user's" "$(out)" "/workspace${nl}0${nl}wrote"

	r -t bounded -w rw fill.sh
	is "bounded: the script ran" "$(out)" done
	is "bounded: the copy back stopped, disk_exceeded" "$(res .disk_exceeded)" true
	like "bounded: the changes say incomplete" \
	    "$(jq -r 'select(.event == "changes") | .incomplete' "$t/out")" "stopped at workspace_size"

	r -w rw -k hostile.sh
	keep=$(res '.shadow // empty')
	is "hostile: the run ended well" "$(res .status)" 0 || show
	[ -L "$keep/evil" ] && [ "$(readlink "$keep/evil")" = /etc/passwd ] &&
	    [ -L "$keep/root" ] && [ -L "$keep/up" ] && [ -p "$keep/pipe" ] &&
	    [ "$(cat "$keep/hard")" = inner ] && [ ! -u "$keep/suid" ]
	say $? "hostile: links as links, a FIFO as one, a hard link a copy, no set-uid"
	is "hostile: the change report" \
	    "$(jq -c 'select(.event == "changes") | .added' "$t/out")" 8
	rm -rf "${keep%/ws}"
	diff -r "$t/src" "$t/src.orig" >/dev/null
	say $? "hostile: the tree untouched"

	r -i sbx-nosuch trace.py
	is "a missing image: 125" "$(res .status)" 125
	like "a missing image: named, on the engine" "$(res .error)" "image 'sbx-nosuch' not found on the engine of"
	is "a missing image: no container left" "$(left)" ""

	# sbx killed outright: its container stays until sbx gc.
	"$SBX" -c "$conf" -r "$rt" -t test -d "$t/src" sleep.sh \
	    >"$t/out" 2>"$t/err" </dev/null &
	pid=$!
	i=0
	until [ -n "$(out 2>/dev/null)" ] || [ $i -gt 100 ]; do sleep 0.1; i=$((i + 1)); done
	kill -KILL $pid
	wait $pid 2>/dev/null
	isnt "sbx killed: its container is left" "$(left)" ""
	"$SBX" -r "$rt" gc >"$t/gc" 2>&1
	like "sbx gc: removes it by label" "$(cat "$t/gc")" '"event":"gc","kind":"container"'
	is "sbx gc: nothing left" "$(left)" ""

	# gVisor: the remote dockerd has runsc as setup-debian.sh registers
	# it (see engines.sh), and a run under it is a local one's; podman's
	# remote client takes no --runtime: one clear error, never runc.
	g() { timeout 120 "$SBX" -c "$t/remote.ini" -r "$rt" -t gvisor \
	    -d "$t/src" "$@" >"$t/out" 2>"$t/err"; }
	if [ "$rt" = docker ]; then
		(unset DOCKER_HOST; g trace.py a 'b c')
		gl="$(res '[.status, .exit_code] | @csv')|$(out)|$(err)"
		g trace.py a 'b c'
		is "-t gvisor: a traceback as a local -t gvisor run's" \
		    "$(res '[.status, .exit_code] | @csv')|$(out)|$(err)" "$gl" || show
		g kernel.py
		is "-t gvisor: the kernel is gVisor's" "$(out)" 4.4.0 || show
		is "-t gvisor: no container left" "$(left)" ""
	else
		g kernel.py
		is "-t gvisor on a remote podman: 125" "$?" 125
		like "-t gvisor on a remote podman: says why, naming the engine" \
		    "$(cat "$t/err")" "oci_runtime runsc: a remote podman (CONTAINER_HOST=$ENGINE_URL) takes no --runtime"
		is "-t gvisor on a remote podman: no container" "$(left)" ""
	fi

	"$SBX" start -r "$rt" -d "$t/src" >"$t/out" 2>"$t/err"
	is "a session: refused, 125" "$?" 125
	like "a session: says why" "$(cat "$t/err")" "sessions and pools talk to their supervisor"

	unset CONTAINER_HOST DOCKER_HOST
	engine_stop "$rt" "$edir/$rt"
done
RT=
[ -z "$(ls "$TMPDIR")" ]
say $? "nothing left in TMPDIR"
