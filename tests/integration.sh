#!/bin/sh
# tests/integration.sh: runs sbx for real under podman and docker.
#
# usage: tests/integration.sh [podman|docker ...]	(default: both)
#
# Runs from anywhere.  The sbx under test is $SBX, else the tree's own;
# SBX_CASES="name ..." runs only those cases (see "cases" below).
# Prints one "ok - integration: RUNTIME: WHAT" or
# "not ok - integration: RUNTIME: WHAT" line per assertion and "# "
# diagnostics; tests/lib/run.sh counts them.  Exits 0 even when
# assertions fail, 2 when it cannot run at all.  A runtime that is
# missing or not answering is a failure, never a skip.
#
# No container ever gets a network: -n and the web template are only
# used with -D (dry run).  Images are never pulled.
set -u

# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
# shellcheck source=tests/lib/runtime.sh
. "$here/lib/runtime.sh"

suite_init test.ini "$@"
for tool in jq timeout tar sha256sum od awk find head mkfifo; do
	command -v "$tool" >/dev/null 2>&1 || cannot "$tool is needed"
done

# Nothing here reads the suite's own stdin; a run that wants input
# gets it explicitly.
exec </dev/null

# sbx takes TMPDIR only if absolute, and reports paths resolved.
suite_base it

# --- the cases ----------------------------------------------------------
# Each case_* runs with RT, T, W, OUT, ERR and NAMES set for one runtime
# (see tests/lib/runtime.sh), in sequence.

# 1. hello world in Python and in sh.
case_hello() {
	d=$(src hello)
	printf 'print("hello, world")\n' >"$d/hello.py"
	sbx -t test -d "$d" hello.py
	after "hello.py" run
	is "hello.py: exit status 0" "$RC" 0
	is "hello.py: result.exit_code 0" "$(res exit_code)" 0
	is "hello.py: stdout event has the text" "$(stream stdout)" \
	    "hello, world"
	is "hello.py: start.runtime is $RT" "$(start_field runtime)" "$RT"
	is "hello.py: image sbx-python" "$(start_field image)" sbx-python

	printf 'echo "hello from $0"\n' >"$d/hello.sh"
	sbx -t test -d "$d" hello.sh
	after "hello.sh" run
	is "hello.sh: exit status 0" "$RC" 0
	is "hello.sh: stdout event has the text" "$(stream stdout)" \
	    "hello from /workspace/hello.sh"
	is "hello.sh: image sbx-sh" "$(start_field image)" sbx-sh
}

# 2. stdout and stderr are kept apart.
case_streams() {
	d=$(src streams)
	cat >"$d/streams.py" <<'EOF'
import sys
print("OUT-ONLY-TEXT")
sys.stdout.flush()
print("ERR-ONLY-TEXT", file=sys.stderr)
sys.stderr.flush()
print("OUT-AGAIN")
EOF
	sbx -t test -d "$d" streams.py
	after "streams" run
	is "streams: exit status 0" "$RC" 0
	o=$(stream stdout)
	e=$(stream stderr)
	is "streams: stdout events hold exactly the stdout text" "$o" \
	    "OUT-ONLY-TEXT${nl}OUT-AGAIN"
	is "streams: stderr events hold exactly the stderr text" "$e" \
	    "ERR-ONLY-TEXT"
	is "streams: result.stdout_bytes 24" "$(res stdout_bytes)" 24
	is "streams: result.stderr_bytes 14" "$(res stderr_bytes)" 14
	is "streams: sbx's own stderr is empty" "$(cat "$ERR")" ""
}

# 3. stdin goes through byte for byte; no stdin is EOF, not a hang.
case_stdin() {
	d=$(src stdin)
	cat >"$d/digest.py" <<'EOF'
import hashlib, sys
data = sys.stdin.buffer.read()
print(len(data), hashlib.sha256(data).hexdigest())
EOF
	cat >"$d/echo.py" <<'EOF'
import sys
sys.stdout.buffer.write(sys.stdin.buffer.read())
EOF
	head -c 102400 /dev/urandom >"$W/stdin.bin"
	want="102400 $(sha256sum <"$W/stdin.bin" | cut -d ' ' -f 1)"
	sbx -t test -d "$d" digest.py <"$W/stdin.bin"
	after "stdin binary" run
	is "stdin binary: exit status 0" "$RC" 0
	is "stdin binary: 100 KB arrive intact (length, sha256)" \
	    "$(stream stdout)" "$want"

	printf 'h\303\251llo w\303\266rld \342\234\223 \360\237\230\200\n' \
	    >"$W/stdin.txt"
	printf 'zweite Zeile: \303\274\303\237 \344\270\255\346\226\207\n' \
	    >>"$W/stdin.txt"
	sbx -t test -d "$d" echo.py <"$W/stdin.txt"
	after "stdin UTF-8" run
	is "stdin UTF-8: exit status 0" "$RC" 0
	is "stdin UTF-8: text echoed back unchanged" "$(stream stdout)" \
	    "$(cat "$W/stdin.txt")"
	is "stdin UTF-8: stdout_bytes equals the input size" \
	    "$(res stdout_bytes)" "$(wc -c <"$W/stdin.txt" | tr -d ' ')"

	empty="0 $(printf '' | sha256sum | cut -d ' ' -f 1)"
	sbx -t test -d "$d" digest.py </dev/null
	after "stdin /dev/null" run
	is "stdin /dev/null: exit status 0" "$RC" 0
	is "stdin /dev/null: script reads EOF" "$(stream stdout)" "$empty"
	num "stdin /dev/null: no hang (duration < 5 s)" \
	    "$(res duration)" '<' 5

	sbx -t test -d "$d" digest.py <&-
	after "stdin closed" run
	is "stdin closed: exit status 0" "$RC" 0
	is "stdin closed: script reads EOF" "$(stream stdout)" "$empty"
}

# 4. the script "-": code on stdin.
case_dash() {
	d=$(src dash)
	printf 'print(6*7)\n' | sbx -t test -d "$d" -
	after "script -" run
	is "script -: exit status 0" "$RC" 0
	is "script -: code from stdin ran" "$(stream stdout)" 42
	is "script -: start.script is -" "$(start_field script)" -

	printf 'import os\nprint(os.listdir("/workspace"))\n' |
	    sbx -t test -w none -d "$d" -
	after "script - -w none" run
	is "script - -w none: exit status 0" "$RC" 0
	is "script - -w none: runs with an empty workspace" \
	    "$(stream stdout)" "[]"

	printf 'echo "sh $((6*7))"\n' | sbx -t test -d "$d" -e sh -
	after "script - -e sh" run
	is "script - -e sh: exit status 0" "$RC" 0
	is "script - -e sh: code from stdin ran in sh" "$(stream stdout)" \
	    "sh 42"
}

# 5. the script's exit status is sbx's and result.exit_code.
case_exit() {
	d=$(src exit)
	printf 'import sys\nsys.exit(int(sys.argv[1]))\n' >"$d/exit.py"
	# 125 too: with the daemon up and the image there, sbx(1) takes it
	# for the script's own.
	for code in 3 0 1 125; do
		sbx -t test -d "$d" exit.py "$code"
		after "exit $code" run
		is "exit $code: sbx exits $code" "$RC" "$code"
		is "exit $code: result.exit_code $code" "$(res exit_code)" \
		    "$code"
		is "exit $code: result.error null" "$(res error)" null
	done
}

# 6. the CPU-time limit, hit long before the wall-clock timeout.
case_cpu() {
	d=$(src cpu)
	printf 'while True:\n    pass\n' >"$d/busy.py"
	sbx -t test -d "$d" busy.py
	after "cpu_time" run
	is "cpu_time: result.cpu_time_exceeded true" \
	    "$(res cpu_time_exceeded)" true
	is "cpu_time: result.timed_out false" "$(res timed_out)" false
	is "cpu_time: result.oom_killed false" "$(res oom_killed)" false
	num "cpu_time: duration well under the timeout (< 8 s of 10)" \
	    "$(res duration)" '<' 8
	isnt "cpu_time: sbx does not exit 0" "$RC" 0
}

# 7. output is relayed while the script still runs.
case_live() {
	d=$(src live)
	cat >"$d/live.py" <<'EOF'
import sys, time
print("first")
sys.stdout.flush()
time.sleep(3)
print("second")
EOF
	# Read sbx's stdout as it grows: the first line must be there
	# while the script still sleeps, and sbx still runs.
	sbx_bg -t test -d "$d" live.py
	if wait_for '"first' 10 && alive; then
		ok "streaming: first line read while sbx still runs"
	else
		notok "streaming: first line read while sbx still runs"
		diag "output so far:$nl$(cat "$OUT")"
	fi
	sbx_wait "streaming"
	after "streaming" run
	is "streaming: exit status 0" "$RC" 0
	is "streaming: both lines relayed" "$(stream stdout)" \
	    "first${nl}second"
	t1=$(J 'map(select(.event == "stdout" and (.data | contains("first"))))[0].t')
	t2=$(J 'map(select(.event == "stdout" and (.data | contains("second"))))[0].t')
	num "streaming: first line relayed at once (t < 2)" "$t1" '<' 2
	num "streaming: second line after the sleep (t >= 2.5)" "$t2" '>=' 2.5
}

# 8. the wall-clock timeout.
case_timeout() {
	d=$(src timeout)
	printf 'sleep 100\n' >"$d/sleep.sh"
	sbx -t test -T 2 -d "$d" sleep.sh
	after "timeout" run
	is "timeout: exit status 124" "$RC" 124
	is "timeout: result.timed_out true" "$(res timed_out)" true
	num "timeout: duration < 15 s" "$(res duration)" '<' 15
	num "timeout: duration >= 2 s" "$(res duration)" '>=' 2
	check "timeout: container removed" gone "$(start_field name)"
}

# 8b. the timeout holds against a script that floods stdout: sbx must go
# on reading while it stops the container, or the runtime client blocks
# on the full pipe and the stop never ends.  The stdout events (hundreds
# of MB) are dropped on the way to OUT; the rest is checked as usual.
case_flood() {
	d=$(src flood)
	printf 'import sys\nwhile True:\n    sys.stdout.write("x" * 65536)\n' \
	    >"$d/flood.py"
	fifo=$W/flood.fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	grep -v '^{"event":"stdout"' <"$fifo" >"$OUT" &
	gpid=$!
	env TMPDIR="$T" "$SBX" -c "$CONF" -r "$RT" -t test -T 2 -d "$d" \
	    flood.py >"$fifo" 2>"$ERR" &
	PID=$!
	# 2 s of timeout, 10 s for the stop, and some slack.
	sbx_wait "flood + timeout" 20
	wait "$gpid"
	rm -f "$fifo"
	after "flood + timeout" run
	is "flood + timeout: stopped by the timeout (or the output cap)" \
	    "$(J '(map(select(.event == "result"))[0] // {}) |
	    (.timed_out == true or .truncated == true)')" true
	check "flood + timeout: container removed" gone "$(start_field name)"
}

# 9. the memory limit: OOM kill, told apart from another SIGKILL.
case_oom() {
	d=$(src oom)
	cat >"$d/oom.py" <<'EOF'
chunks = []
while True:
    chunks.append(b"x" * (8 << 20))
EOF
	printf 'kill -9 $$\necho "not reached"\n' >"$d/kill9.sh"
	sbx -t test -m 64m -d "$d" oom.py
	after "oom" run
	is "oom: result.oom_killed true" "$(res oom_killed)" true
	is "oom: result.signal 9" "$(res signal)" 9
	isnt "oom: sbx does not exit 0" "$RC" 0
	is "oom: result.timed_out false" "$(res timed_out)" false
	check "oom: container removed" gone "$(start_field name)"

	sbx -t test -m 64m -d "$d" kill9.sh
	after "kill -9" run
	is "kill -9: result.signal 9" "$(res signal)" 9
	is "kill -9: exit status 137" "$RC" 137
	is "kill -9: result.oom_killed false" "$(res oom_killed)" false
	is "kill -9: script stopped there" "$(stream stdout)" ""
}

# 10. no network: only the loopback interface.
case_network() {
	d=$(src network)
	cat >"$d/net.sh" <<'EOF'
echo "sys:" $(ls /sys/class/net)
echo "proc:" $(sed -n 's/^ *\([^ :]*\):.*/\1/p' /proc/net/dev)
EOF
	sbx -t test -d "$d" net.sh
	after "network" run
	is "network: exit status 0" "$RC" 0
	o=$(stream stdout)
	is "network: /sys/class/net lists only lo" \
	    "$(printf '%s\n' "$o" | grep '^sys:')" "sys: lo"
	is "network: /proc/net/dev lists only lo" \
	    "$(printf '%s\n' "$o" | grep '^proc:')" "proc: lo"
}

# The Python helper of the write tests: tries each action, prints
# "LABEL ok" or "LABEL ERRNO-NAME".
attempt_py='import errno, os
def attempt(label, fn):
    try:
        fn()
        print(label, "ok")
    except OSError as e:
        print(label, errno.errorcode.get(e.errno, e.errno))
def write(path, mode="w"):
    with open(path, mode) as f:
        f.write("x\n")
'

# line_of LABEL: the line of the last run's stdout for that label.
line_of() {
	stream stdout | grep "^$1 " | head -n 1
}

# 10b. no proxy settings, credentials and all, reach the container: not
# sbx's own environment's, not those docker's config.json names.
case_proxy() {
	d=$(src proxy)
	printf 'env | grep -i proxy || echo none\n' >"$d/px.sh"
	mkdir -p "$W/dockercfg"
	printf '{"proxies":{"default":{"httpProxy":"http://u:secret@127.0.0.1:9","httpsProxy":"http://u:secret@127.0.0.1:9","noProxy":"x"}}}\n' \
	    >"$W/dockercfg/config.json"
	for e in DOCKER_CONFIG="$W/dockercfg" HTTP_PROXY=http://u:secret@127.0.0.1:9 \
	    https_proxy=http://u:secret@127.0.0.1:9; do
		sbx_env "$e" -t test -d "$d" px.sh
		after "proxy ${e%%=*}" run
		is "no proxy variable in the container with ${e%%=*} set" \
		    "$RC:$(stream stdout)" "0:none"
	done
}

# 11. the root file system is read-only, /tmp is not.
case_rootfs() {
	d=$(src rootfs)
	{
		printf '%s' "$attempt_py"
		cat <<'EOF'
attempt("/etc/x", lambda: write("/etc/x"))
attempt("/usr/x", lambda: write("/usr/x"))
attempt("/tmp/x", lambda: write("/tmp/x"))
print("read", open("/tmp/x").read().strip())
EOF
	} >"$d/rootfs.py"
	sbx -t test -d "$d" rootfs.py
	after "read-only root" run
	is "read-only root: exit status 0" "$RC" 0
	is "read-only root: writing /etc/x fails with EROFS" \
	    "$(line_of /etc/x)" "/etc/x EROFS"
	is "read-only root: writing /usr/x fails with EROFS" \
	    "$(line_of /usr/x)" "/usr/x EROFS"
	is "read-only root: /tmp is writable" "$(line_of /tmp/x)" "/tmp/x ok"
	# /tmp is exec on both runtimes (docker's own default is noexec).
	printf 'printf "#!/bin/sh\\necho ran\\n" >/tmp/x.sh\nchmod 755 /tmp/x.sh\n/tmp/x.sh\n' \
	    >"$d/exec.sh"
	sbx -t test -d "$d" exec.sh
	after "exec in /tmp" run
	is "a program written to /tmp runs" "$RC:$(stream stdout)" "0:ran"
}

# A source tree for the workspace tests, with the script in it.
make_tree() {
	d=$(src "$1")
	printf 'original\n' >"$d/data.txt"
	printf 'other\n' >"$d/other.txt"
	mkdir "$d/sub"
	printf 'deep\n' >"$d/sub/deep.txt"
	chmod 640 "$d/sub/deep.txt"
	ln -s data.txt "$d/link.txt"
}

# 12. -w ro (the default): nothing in /workspace can be changed.
case_ws_ro() {
	make_tree ws-ro
	{
		printf '%s' "$attempt_py"
		cat <<'EOF'
attempt("create", lambda: write("/workspace/new.txt"))
attempt("modify", lambda: write("/workspace/data.txt", "a"))
attempt("mkdir", lambda: os.mkdir("/workspace/newdir"))
attempt("remove", lambda: os.remove("/workspace/other.txt"))
attempt("rename", lambda: os.rename("/workspace/sub", "/workspace/sub2"))
print("read", open("/workspace/data.txt").read().strip())
EOF
	} >"$d/ro.py"
	snap_before "$d"
	sbx -t test -d "$d" ro.py
	after "workspace ro (default)" run
	is "workspace ro (default): exit status 0" "$RC" 0
	is "workspace ro (default): the copy is readable" "$(line_of read)" \
	    "read original"
	for what in create modify mkdir remove rename; do
		l=$(line_of "$what")
		case $l in
		"$what E"*) ok "workspace ro (default): $what in /workspace fails" ;;
		*)
			notok "workspace ro (default): $what in /workspace fails"
			diag "got: '$l'"
			;;
		esac
	done
	same_tree "workspace ro (default): source tree untouched" "$d"
	# The same, asked for with -w.
	sbx -t test -w ro -d "$d" ro.py
	after "-w ro" run
	l=$(line_of create)
	case $l in
	"create E"*) ok "-w ro: create in /workspace fails" ;;
	*)
		notok "-w ro: create in /workspace fails"
		diag "got: '$l'"
		;;
	esac
	same_tree "-w ro: source tree untouched" "$d"
}

# 13. -w rw: the script changes its copy, never the source.
case_ws_rw() {
	make_tree ws-rw
	{
		printf '%s' "$attempt_py"
		cat <<'EOF'
attempt("create", lambda: write("/workspace/new.txt"))
attempt("modify", lambda: write("/workspace/data.txt", "a"))
attempt("mkdir", lambda: os.mkdir("/workspace/newdir"))
attempt("remove", lambda: os.remove("/workspace/other.txt"))
print("data", open("/workspace/data.txt").read().replace("\n", "|"))
print("new", open("/workspace/new.txt").read().replace("\n", "|"))
EOF
	} >"$d/rw.py"
	snap_before "$d"
	sbx -t test -w rw -d "$d" rw.py
	after "-w rw" run
	is "-w rw: exit status 0" "$RC" 0
	for what in create modify mkdir remove; do
		is "-w rw: $what in /workspace works" "$(line_of "$what")" \
		    "$what ok"
	done
	is "-w rw: the script sees its change" "$(line_of data)" \
	    "data original|x|"
	is "-w rw: the script sees its new file" "$(line_of new)" "new x|"
	same_tree "-w rw: source tree byte-identical" "$d"

	sbx -t test -w rw -k -d "$d" rw.py
	after "-w rw -k" keep
	is "-w rw -k: exit status 0" "$RC" 0
	sh=$(res shadow)
	case $sh in
	"$T"/sbx.*/ws)
		ok "-w rw -k: result.shadow is in TMPDIR"
		is "-w rw -k: the new file is in the shadow copy" \
		    "$(cat "$sh/new.txt" 2>&1)" x
		is "-w rw -k: the change is in the shadow copy" \
		    "$(cat "$sh/data.txt" 2>&1)" "original${nl}x"
		check "-w rw -k: the removed file is gone from the copy" \
		    test ! -e "$sh/other.txt"
		rm -rf "${sh%/ws}"
		;;
	*)
		notok "-w rw -k: result.shadow is in TMPDIR"
		diag "result.shadow: '$sh'"
		show
		;;
	esac
	same_tree "-w rw -k: source tree byte-identical" "$d"
	# Whatever -k left, the next case must start from an empty TMPDIR.
	check "-w rw -k: TMPDIR empty once the kept tree is removed" tmp_empty
}

# 14. -w none: the script runs, /workspace is empty.
case_ws_none() {
	make_tree ws-none
	cat >"$d/none.py" <<'EOF'
import json, os, sys
print(json.dumps(os.listdir("/workspace")))
print(sys.argv[0])
EOF
	snap_before "$d"
	sbx -t test -w none -d "$d" none.py
	after "-w none" run
	is "-w none: exit status 0" "$RC" 0
	is "-w none: /workspace is empty" \
	    "$(stream stdout | head -n 1)" "[]"
	same_tree "-w none: source tree untouched" "$d"
	printf 'open("/workspace/f", "w").write("x")\nprint(open("f").read())\n' \
	    >"$d/write.py"
	snap_before "$d"
	sbx -t test -w none -d "$d" write.py
	after "-w none write" run
	is "-w none: /workspace is writable by the container user" \
	    "$RC:$(stream stdout)" "0:x"
	same_tree "-w none: source tree untouched after a write" "$d"
}

# 14b. the interpreter missing or not executable: 127 and 126, as
# env(1) says, on both runtimes (podman's own init, catatonit, says 1).
case_interp() {
	d=$(src interp)
	printf 'print(1)\n' >"$d/p.py"
	printf 'echo 1\n' >"$d/p.noexec"
	sbx -t test -i sbx-sh -d "$d" p.py
	after "no interpreter" run
	is "no interpreter: status 127" "$RC:$(res exit_code)" 127:127
	is "no interpreter: no error of sbx's" "$(res error)" null
	sbx -t test -d "$d" p.noexec
	after "interpreter not executable" run
	is "interpreter not executable: status 126" "$RC:$(res exit_code)" \
	    126:126
}

# 14c. a container that never starts is not the script's exit: 125 and
# an error naming the cause, whatever status the runtime gave.
case_norun() {
	d=$(src norun)
	printf 'print(1)\n' >"$d/p.py"
	printf 'exit 126\n' >"$d/e.sh"
	for ort in nosuch /bin/false; do
		sbx -t "oci-$(basename "$ort")" -d "$d" p.py
		after "OCI runtime $ort" run
		is "OCI runtime $ort: status 125, exit_code null" \
		    "$RC:$(res exit_code)" 125:null
		like "OCI runtime $ort: the error says the container did not start" \
		    "$(res error)" "$RT: the container did not start: "
		check "OCI runtime $ort: no container left" gone \
		    "$(start_field name)"
	done
	sbx -t test -d "$d" e.sh
	after "exit 126" run
	is "a script's own exit 126 is the script's" \
	    "$RC:$(res exit_code):$(res error)" 126:126:null
}

# 15. odd file names, in the source tree and for the script.
case_oddnames() {
	d="$W/odd dir 'sq' \"dq\"${nl}line ünï ✓ -,x"
	rm -rf "$d"
	mkdir -p "$d/sub dir 'q'"
	n1='-x.py'
	n2="sp ace 'sq' \"dq\".py"
	n3="new${nl}line.py"
	n4='ünïcødé ✓ 中文.py'
	n5="sub dir 'q'/nested \$HOME *.py"
	f1="data${nl}file.txt"
	f2='back\slash;&|<>.txt'
	f3='-'
	f4=' lead and trail '
	for n in "$n2" "$n3" "$n4" "$n5"; do
		printf 'import os, sys\nprint("ran", os.path.basename(sys.argv[0]))\n' \
		    >"$d/$n"
	done
	for n in "$f1" "$f2" "$f3" "$f4"; do
		printf '%s\n' "$n" >"$d/$n"
	done
	cat >"$d/$n1" <<'EOF'
import json, os
names, same = [], 0
for root, dirs, files in os.walk("/workspace"):
    for f in files:
        p = os.path.relpath(os.path.join(root, f), "/workspace")
        with open(os.path.join(root, f), "rb") as fh:
            data = fh.read()
        # A data file holds its own name and a newline.
        if not f.endswith(".py") and data == (f + "\n").encode():
            same += 1
        names.append(p)
print(json.dumps(sorted(names)))
print("same content:", same)
EOF
	want=$(jq -n -c '$ARGS.positional | sort' --args -- \
	    "$n1" "$n2" "$n3" "$n4" "$n5" "$f1" "$f2" "$f3" "$f4")
	snap_before "$d"

	sbx -t test -d "$d" -- "$n1"
	after "odd names: -x.py" run
	is "odd names: -x.py (after --) runs" "$RC" 0
	is "odd names: every file copied under its own name" \
	    "$(stream stdout | head -n 1 | jq -c . 2>&1)" "$want"
	is "odd names: the data files copied intact" \
	    "$(stream stdout | grep '^same content:')" "same content: 4"
	is "odd names: start.dir is the odd source dir" \
	    "$(start_field dir)" "$d"

	for i in 2 3 4 5; do
		eval "n=\$n$i"
		case $i in
		2) what="script with spaces and quotes" ;;
		3) what="script with a newline" ;;
		4) what="script with unicode" ;;
		5) what="script in an odd subdirectory" ;;
		esac
		sbx -t test -d "$d" "$n"
		after "odd names: $what" run
		is "odd names: $what runs" "$RC" 0
		is "odd names: $what found under its name" \
		    "$(stream stdout)" "ran ${n##*/}"
		is "odd names: $what in start.script" \
		    "$(start_field script)" "$n"
	done

	sbx -t test -w none -d "$d" "$n3"
	after "odd names: -w none" run
	is "odd names: -w none script with a newline runs" "$RC" 0
	is "odd names: -w none script output" "$(stream stdout)" "ran $n3"

	sbx -t test -w rw -d "$d" -- "$n1"
	after "odd names: -w rw" run
	is "odd names: -w rw copy has every file" \
	    "$(stream stdout | head -n 1 | jq -c . 2>&1)" "$want"
	same_tree "odd names: source tree untouched" "$d"
}

# 16. the script's arguments arrive untouched.
case_args() {
	d=$(src args)
	printf 'import json, sys\nprint(json.dumps(sys.argv[1:]))\n' \
	    >"$d/args.py"
	set -- 'a b' '' --flag 'ünï ✓ 中' -- -x "new${nl}line" '$HOME' '*' \
	    "it's \"q\"" '\\n' -T
	want=$(jq -n -c '$ARGS.positional' --args -- "$@")
	sbx -t test -d "$d" args.py "$@"
	after "args" run
	is "args: exit status 0" "$RC" 0
	is "args: passed through untouched" \
	    "$(stream stdout | jq -c . 2>&1)" "$want"
	is "args: start.args lists them" "$(J '(map(select(.event == "start"))[0].args) | tojson')" \
	    "$want"
	sbx -t test -d "$d" args.py
	after "no args" run
	is "no args: argv is empty" "$(stream stdout)" "[]"
}

# ini_error DESC FILE LINE...: sbx with config FILE must refuse with
# 125, naming FILE:LINE: (any of the LINEs), creating nothing.  The
# default template is used, so a file that is wrongly accepted runs.
ini_error() {
	_id=$1
	_if=$2
	shift 2
	run_sbx "$_if" -d "$d" hello.py
	after "bad ini: $_id" fail
	_hit=
	for _il; do
		grep -qF "$_if:$_il: " "$ERR" && _hit=$_il
	done
	if [ -n "$_hit" ]; then
		ok "bad ini: $_id: stderr names FILE:LINE:"
	else
		notok "bad ini: $_id: stderr names FILE:LINE:"
		diag "want line $*; stderr: $(cat "$ERR")"
	fi
	like "bad ini: $_id: the error event says it too" "$(errors)" \
	    "$_if:${_hit:-$1}: "
}

# 17. a bad configuration: FILE:LINE:, 125, nothing created.
case_badini() {
	d=$(src badini)
	printf 'print("should not run")\n' >"$d/hello.py"
	pre='; bad configuration for tests/integration.sh
[default]
timeout = 10
[language py]
command = python3 -u -B
image = sbx-python
'
	f=$W/bad-size.ini
	printf '%s[t]\nmemory = 1x\n' "$pre" >"$f"
	ini_error "memory = 1x" "$f" 8
	f=$W/bad-key.ini
	printf '%s[t]\nbogus = 1\n' "$pre" >"$f"
	ini_error "unknown key" "$f" 8
	f=$W/bad-bracket.ini
	printf '%s[t\nmemory = 64m\n' "$pre" >"$f"
	ini_error "section without ]" "$f" 7
	f=$W/bad-secname.ini
	printf '%s[bad name!]\nmemory = 64m\n' "$pre" >"$f"
	ini_error "bad section name" "$f" 7
	f=$W/bad-dupkey.ini
	printf '%s[t]\nmemory = 64m\nmemory = 128m\n' "$pre" >"$f"
	ini_error "duplicate key" "$f" 9
	f=$W/bad-dupsec.ini
	printf '%s[t]\nmemory = 64m\n[u]\nmemory = 64m\n[t]\ntimeout = 5\n' \
	    "$pre" >"$f"
	ini_error "duplicate section" "$f" 11
	f=$W/bad-dupsec2.ini
	printf '%s[t]\nmemory = 64m\n[t]\ntimeout = 5\n' "$pre" >"$f"
	ini_error "duplicate section, back to back" "$f" 9
	f=$W/bad-dupinherit.ini
	printf '%s[a]\nmemory = 64m\n[t]\ninherit = default\ninherit = a\n' "$pre" >"$f"
	ini_error "duplicate inherit" "$f" 11
	f=$W/bad-cycle.ini
	printf '%s[a]\ninherit = b\n[b]\ninherit = a\n' "$pre" >"$f"
	ini_error "inheritance cycle" "$f" 8 10
	f=$W/bad-cycle-self.ini
	printf '%s[a]\ninherit = a\n' "$pre" >"$f"
	ini_error "template inherits itself" "$f" 8
	f=$W/bad-cycle-default.ini
	printf '[default]\ntimeout = 10\ninherit = x\n[x]\nmemory = 64m\n%s' \
	    "$(printf '%s' "$pre" | sed -n '4,$p')" >"$f"
	ini_error "inheritance cycle through [default]" "$f" 3
	f=$W/bad-inherit.ini
	printf '%s[t]\ninherit = nosuch\n' "$pre" >"$f"
	ini_error "inherit from a missing template" "$f" 8
}

# 18. an unknown template: 125, and the message lists the templates.
case_template() {
	d=$(src template)
	printf 'print("should not run")\n' >"$d/hello.py"
	sbx -t nosuch -d "$d" hello.py
	after "unknown template" fail
	e=$(cat "$ERR")
	like "unknown template: names it" "$e" nosuch
	for t in default test web; do
		like "unknown template: lists template $t" "$e" "$t"
	done
	like "unknown template: the error event lists them" "$(errors)" \
	    "test, brief, shortlived"
}

# 19. a missing runtime, a docker daemon that is down, a missing image.
case_missing() {
	d=$(src missing)
	printf 'print("should not run")\n' >"$d/hello.py"
	sbx_env PATH=/nonexistent-dir -t test -d "$d" hello.py
	after "runtime not in PATH" fail
	is "runtime not in PATH: one line on stderr" \
	    "$(wc -l <"$ERR" | tr -d ' ')" 1
	like "runtime not in PATH: names $RT" "$(cat "$ERR")" "$RT"
	like "runtime not in PATH: says not found" "$(cat "$ERR")" \
	    "not found"

	if [ "$RT" != docker ]; then
		diag "daemon down: docker only, $RT has no daemon"
	else
		sbx_env DOCKER_HOST=unix:///nonexistent.sock -t test -d "$d" \
		    hello.py
		after "daemon down" run
		is "daemon down: exit status 125" "$RC" 125
		like "daemon down: the error mentions the daemon" \
		    "$(errors)" daemon
	fi

	sbx -t test -i sbx-no-such-image -d "$d" hello.py
	after "missing image" run
	is "missing image: exit status 125" "$RC" 125
	like "missing image: the error names the image" "$(errors)" \
	    sbx-no-such-image
	is "missing image: result.exit_code null" "$(res exit_code)" null
	check "missing image: no container left" gone "$(start_field name)"
}

# 19b. sbx gc beside a live run of an sbx in another pid namespace (as in
# a CI container): its owner cannot be judged from here, so gc leaves
# its container and its directory until their deadline.
case_gc_pidns() {
	d=$(src gc-pidns)
	printf 'import time\nprint("sleeping", flush=True)\ntime.sleep(4)\nprint("woke")\n' \
	    >"$d/sleep.py"
	env TMPDIR="$T" XDG_CONFIG_HOME="$T/.." unshare --pid --fork \
	    --mount-proc "$SBX" -c "$CONF" -r "$RT" -t test -d "$d" sleep.py \
	    >"$OUT" 2>"$ERR" &
	PID=$!
	wait_for '"sleeping' 20 || diag "gc pidns: the script did not start"
	name=$(start_field name)
	timeout -k 5 60 env TMPDIR="$T" "$SBX" -r "$RT" gc >"$W/gc.out" \
	    2>"$W/gc.err"
	is "gc beside another pid namespace: nothing collected" \
	    "$?:$(grep -c '"event":"gc"' "$W/gc.out")" 0:0
	sbx_wait "gc pidns run"
	after "gc pidns run" run
	is "the run in another pid namespace ends normally" \
	    "$RC:$(stream stdout)" "0:sleeping${nl}woke"
}

# 20. SIGTERM to sbx: it stops the container and still reports.
case_sigterm() {
	d=$(src sigterm)
	printf 'import time\nprint("sleeping", flush=True)\ntime.sleep(100)\n' \
	    >"$d/sleep.py"
	sbx_bg -t test -d "$d" sleep.py
	# The script runs once it has printed; TERM about 2 s in.
	wait_for '"sleeping' 20 || diag "the script did not start"
	sleep 1
	kill -TERM "$PID"
	sbx_wait "SIGTERM"
	after "SIGTERM" run
	is "SIGTERM: exit status 143" "$RC" 143
	is "SIGTERM: result.interrupted 15" "$(res interrupted)" 15
	is "SIGTERM: the output so far was relayed" "$(stream stdout)" \
	    sleeping
	num "SIGTERM: duration < 15 s" "$(res duration)" '<' 15
	check "SIGTERM: container removed" gone "$(start_field name)"

	# Early, while the container is still being created: the kill
	# must still get it.
	sbx_bg -t test -d "$d" sleep.py
	sleep 0.3
	kill -TERM "$PID"
	sbx_wait "early SIGTERM"
	after "early SIGTERM" run
	is "early SIGTERM: exit status 143" "$RC" 143
	is "early SIGTERM: result.interrupted 15" "$(res interrupted)" 15
	check "early SIGTERM: container removed" gone "$(start_field name)"
}

# 21. refused scripts, and the dry run.
case_refused() {
	d=$(src refused)
	printf 'print("hello")\n' >"$d/hello.py"
	printf 'puts "hi"\n' >"$d/x.rb"
	: >"$d/empty.py"
	printf 'print("outside")\n' >"$W/x.py"
	ln -s "$W/x.py" "$d/link.py"

	sbx -t test -d "$d" x.rb
	after "unknown extension" fail
	like "unknown extension: the error names the extension" "$(errors)" \
	    "'rb'"

	sbx -t test -d "$d" ../x.py
	after "../x.py" fail
	like "../x.py: the error says outside" "$(errors)" outside

	sbx -t test -d "$d" "$W/x.py"
	after "absolute path outside" fail
	like "absolute path outside: the error says outside" "$(errors)" \
	    outside

	sbx -t test -d "$d" link.py
	after "symlink to outside" fail

	sbx -t test -d "$d" empty.py
	after "empty script" fail
	like "empty script: the error says empty" "$(errors)" empty

	printf '' | sbx -t test -d "$d" -
	after "empty script on stdin" fail

	sbx -t test -d "$d" nosuch.py
	after "missing script" fail

	sbx -D -t test -d "$d" hello.py
	after "dry run" dry
	is "dry run: argv[0] is $RT" \
	    "$(J '(map(select(.event == "argv"))[0].argv // [])[0]')" "$RT"
	for a in --network=none --cap-drop=ALL --read-only \
	    --security-opt=no-new-privileges --pull=never; do
		is "dry run: argv has $a" "$(has_arg "$a")" true
	done
	is "dry run: argv ends with the script" \
	    "$(J '(map(select(.event == "argv"))[0].argv // [])[-1]')" \
	    /workspace/hello.py

	sbx -D -t web -d "$d" hello.py
	after "dry run -t web" dry
	# Network on: --network=bridge, or no --network at all (the
	# runtime's default network); never none.
	is "dry run -t web: the network is not turned off" \
	    "$(net_off)" false

	sbx -D -n -t test -d "$d" hello.py
	after "dry run -n" dry
	is "dry run -n: the network is not turned off" "$(net_off)" false
}

# SBX_CASES picks some of them, for debugging: SBX_CASES="oom args".
cases=${SBX_CASES:-"hello streams stdin dash exit cpu live timeout flood oom
network proxy rootfs ws_ro ws_rw ws_none interp norun oddnames args badini template
missing gc_pidns sigterm refused"}

# --- the suite, once per runtime -----------------------------------------

diag "sbx: $SBX ($("$SBX" -V 2>&1))"
t_all=$(date +%s)
for RT in $runtimes; do
	t0=$(date +%s)
	runtime_begin || continue
	for c in $cases; do
		"case_$c"
	done
	runtime_end
	diag "$RT: $(($(date +%s) - t0)) s"
done
diag "total: $(($(date +%s) - t_all)) s"
exit 0
