#!/bin/sh
# The system configuration: [ceiling] binds templates and options alike,
# allowed_images refuses other images before anything runs, and
# audit_log gets one whole JSON line per run, also under concurrency.
# Uses tests/sbx-sys, built with SYSCONFDIR=tests/sysconf.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
sbx=$root/tests/sbx-sys
sys=$root/tests/sysconf/sbx
ON_EXIT='rm -rf "$sys" "$root/tests/sbx-supervise"'
suite_base system
t=$BASE
# A binding system file ignores SBX_SUPERVISE: the supervisor beside sbx.
cp "${SBX_SUPERVISE:-sbx-supervise}" tests/sbx-supervise || exit 1
mkdir -p "$sys" "$t/src"
private_tmpdir
export HOME="$t"
printf 'import sys\nprint("ran", sys.argv[1:])\n' >"$t/src/ok.py"
cat >"$sys/sbx.ini" <<EOT
[default]
memory = 128m
timeout = 10
cpu_time = 5
workspace = ro

[big]
memory = 1g
oci_runtime = /usr/bin/runsc

[language py]
command = python3 -u -B
image = sbx-python

[ceiling]
memory = 256m
timeout = 20
cpu_time = 10
network = false
allow_hosts = ok.test:1=127.0.0.1
workspace = ro
read_only = true
user = 1000:1000

[system]
allowed_images = sbx-python localhost/sbx-python sbx-sh
allowed_oci_runtimes = /usr/sbin/runc
audit_log = $t/audit.jsonl
EOT
# line of "memory = 256m" in the file, for the messages
mline=$(grep -n '^memory = 256m' "$sys/sbx.ini" | cut -d: -f1)

# refused WHAT PATTERN args...: 125, the message, nothing created
refused() {
	what=$1 pat=$2
	shift 2
	"$sbx" "$@" >/dev/null 2>"$t/err" </dev/null
	rc=$?
	if [ $rc -eq 125 ] && grep -q -- "$pat" "$t/err" &&
	    [ -z "$(ls -A "$TMPDIR")" ] && [ ! -e "$t/audit.jsonl" ]; then
		ok "$what"
	else
		notok "$what"
		echo "# status $rc: $(cat "$t/err")"
	fi
}
allowed() {
	what=$1
	shift
	"$sbx" -D "$@" >/dev/null 2>"$t/err" </dev/null &&
	    ok "$what" || { notok "$what"; echo "# $(cat "$t/err")"; }
}

allowed "a lower memory is allowed" -m 64m -d "$t/src" ok.py
allowed "the ceiling itself is allowed" -m 256m -T 20 -d "$t/src" ok.py
refused "-m above the ceiling" \
    "memory: above the system ceiling 'memory = 256m' ($sys/sbx.ini:$mline)" \
    -m 512m -d "$t/src" ok.py
refused "a template above the ceiling" "memory: above the system ceiling" \
    -t big -d "$t/src" ok.py
refused "-T above the ceiling" "timeout: above" -T 60 -d "$t/src" ok.py
refused "-n against network = false" "network: above" -n -d "$t/src" ok.py
refused "-w rw against workspace = ro" "workspace: above" -w rw \
    -d "$t/src" ok.py
printf '[default]\nmemory = 64m\ntimeout = 5\ncpu_time = 0\n[language py]\ncommand = python3\nimage = sbx-python\n' \
    >"$t/user.ini"
refused "cpu_time 0 (no limit) against a ceiling" "cpu_time: above" \
    -c "$t/user.ini" -d "$t/src" ok.py
printf '[default]\nmemory = 2g\ncpu_time = 1\n[language py]\ncommand = python3\nimage = sbx-python\n' \
    >"$t/user.ini"
refused "a user file's template is bound too" "memory: above" \
    -c "$t/user.ini" -d "$t/src" ok.py
printf '[ceiling]\nmemory = 8g\n' >"$t/user.ini"
refused "[ceiling] in a user file is an error" \
    "user.ini:1: \[ceiling\] is read only from the system configuration" \
    -c "$t/user.ini" -d "$t/src" ok.py
# What the ceiling cannot see: the OCI runtime, the user, and the
# runtimes' own environment.
printf '[default]\noci_runtime = /bin/true\n' >"$t/user.ini"
refused "an oci_runtime of a user's file" \
    "oci_runtime /bin/true: not set by the system configuration" \
    -c "$t/user.ini" -D -d "$t/src" ok.py
printf '[default]\noci_runtime = /usr/sbin/runc\n' >"$t/user.ini"
allowed "an oci_runtime in allowed_oci_runtimes" -c "$t/user.ini" \
    -d "$t/src" ok.py
printf '[default]\noci_runtime = /usr/bin/runsc\n' >"$t/user.ini"
allowed "an oci_runtime that a system template sets" -c "$t/user.ini" \
    -d "$t/src" ok.py
printf '[default]\noci_runtime_flags = debug-log=/etc/x\n' >"$t/user.ini"
refused "oci_runtime_flags of a user's file" \
    "oci_runtime_flags: not as a template of the system configuration" \
    -c "$t/user.ini" -D -d "$t/src" ok.py
refused "an allow_hosts entry beyond the ceiling's" \
    "allow_hosts: above the system ceiling 'allow_hosts = ok.test:1=127.0.0.1'" \
    --allow-host other.test -D -d "$t/src" ok.py
# The ceiling's own entry: a port where nothing listens, on loopback.
# The connection's net event, and its audit line between start and end.
printf 'import urllib.request\ntry:\n    urllib.request.urlopen("http://ok.test:1/")\nexcept Exception as e:\n    print(e)\n' >"$t/src/net.py"
for rt in podman docker; do
	rm -f "$t/audit.jsonl"
	"$sbx" -r "$rt" --allow-host ok.test:1=127.0.0.1 -d "$t/src" net.py \
	    >"$t/out" 2>&1 </dev/null
	[ "$(jq -r 'select(.event == "net") | [.host, .port, .allowed, .status] | @csv' "$t/out")" = '"ok.test",1,true,502' ] &&
	    ok "$rt: allow_hosts within the ceiling: a net event, 502" ||
	    { notok "$rt: allow_hosts within the ceiling: a net event, 502"
	    sed 's/^/# /' "$t/out"; }
	[ "$(jq -r -s '(map(.phase + (if .phase == "net" then ":" + .host + ":" +
	    (.status | tostring) else "" end)) | join(" ")) + " " +
	    (map(.name) | unique | length | tostring)' "$t/audit.jsonl")" = \
	    "start net:ok.test:502 end 1" ] &&
	    ok "$rt: audit_log: the connection's line, between start and end" ||
	    { notok "$rt: audit_log: the connection's line, between start and end"
	    sed 's/^/# /' "$t/audit.jsonl"; }
done
rm -f "$t/audit.jsonl" "$t/src/net.py"
for u in 0:0 1000:0 0 999:1000; do
	printf '[default]\nuser = %s\n' "$u" >"$t/user.ini"
	refused "user $u below the ceiling's 1000:1000" "user: above the system" \
	    -c "$t/user.ini" -d "$t/src" ok.py
done
printf 'import os\nprint(os.path.exists("/hostetc/passwd"))\n' \
    >"$t/src/etc.py"
printf '[containers]\nvolumes = ["/etc:/hostetc:ro"]\n' >"$t/containers.conf"
out=$(CONTAINERS_CONF=$t/containers.conf CONTAINERS_STORAGE_CONF=/nonexistent \
    XDG_CONFIG_HOME=$t/xdg "$sbx" -r podman -d "$t/src" etc.py 2>&1 |
    jq -r 'select(.event == "stdout") | .data')
[ "$out" = False ] && ok "podman: CONTAINERS_CONF is not the runtime's" ||
    { notok "podman: CONTAINERS_CONF is not the runtime's"; echo "# $out"; }
out=$(DOCKER_HOST=unix://$t/nowhere.sock DOCKER_CONTEXT=nowhere \
    DOCKER_CONFIG=$t/nowhere "$sbx" -r docker -d "$t/src" ok.py 2>&1 |
    jq -r 'select(.event == "stdout") | .data')
[ "$out" = "ran []" ] && ok "docker: DOCKER_HOST and kin are not the CLI's" ||
    { notok "docker: DOCKER_HOST and kin are not the CLI's"; echo "# $out"; }
rm -f "$t/audit.jsonl" "$t/src/etc.py"

refused "an image outside allowed_images" \
    "image 'sbx-node' is not in allowed_images" -i sbx-node -d "$t/src" ok.py

# Layers: the system file is the base (the built-in copy is not read),
# the user's file and -c go over it, and the ceiling binds them all.
names() { "$sbx" "$@" -l | jq -r .name | tr '\n' ' '; }
[ "$(names)" = "default big " ] &&
    ok "the system file is the base, instead of the built-in copy" ||
    notok "the system file is the base, instead of the built-in copy"
"$sbx" -l | jq -e -s --arg f "$sys/sbx.ini" 'all(.file == $f and
    .files == [$f])' >/dev/null && ok "-l names the system file" ||
    notok "-l names the system file"
mkdir -p "$t/.config/sbx"
u=$t/.config/sbx/sbx.ini
printf '[big]\ntimeout = 5\n[mine]\nmemory = 64m\n' >"$u"
[ "$(names)" = "default big mine " ] &&
    "$sbx" -l | jq -e -s --arg f "$sys/sbx.ini" --arg u "$u" '
    (map(select(.name == "big"))[0] | .limits.memory == 1073741824 and
    .limits.timeout == 5 and .file == $u and .files == [$f, $u]) and
    (map(select(.name == "mine"))[0] | .limits.cpu_time == 5 and
    .files == [$u])' >/dev/null &&
    ok "the user's file is layered over the system file" ||
    notok "the user's file is layered over the system file"
allowed "a user's template over the system's [default]" -t mine \
    -d "$t/src" ok.py
refused "the ceiling binds a template the user's file changed" \
    "memory: above the system ceiling 'memory = 256m' ($sys/sbx.ini:$mline)" \
    -t big -d "$t/src" ok.py
printf '[secure]\nmemory = 64m\n' >"$t/user.ini"
[ "$(names -c "$t/user.ini")" = "default big mine secure " ] &&
    ok "-c is layered over the user's and the system's files" ||
    notok "-c is layered over the user's and the system's files"
printf '[ceiling]\nmemory = 8g\n' >"$u"
refused "[ceiling] in the user's file is an error naming it" \
    "^sbx: $u:1: \[ceiling\] is read only" -d "$t/src" ok.py
rm -r "$t/.config"
allowed "-c naming the system file reads it once" -c "$sys/sbx.ini" \
    -d "$t/src" ok.py
refused "-c naming the system file: its ceiling still binds" \
    "memory: above the system ceiling" -c "$sys/sbx.ini" -m 512m \
    -d "$t/src" ok.py

# Audit: concurrent runs on each runtime, one whole line each.
n=0
for rt in podman docker; do
	i=0
	while [ $i -lt 4 ]; do
		"$sbx" -r "$rt" -d "$t/src" ok.py "$rt" "$i" >"$t/out.$rt.$i" \
		    2>&1 </dev/null &
		i=$((i + 1))
		n=$((n + 1))
	done
done
wait
lines=$(wc -l <"$t/audit.jsonl")
sha=$(sha256sum <"$t/src/ok.py" | cut -c1-64)
[ "$lines" -eq $((2 * n)) ] &&
    ok "audit_log: $n concurrent runs, a start and an end line each" ||
    notok "audit_log: $n concurrent runs, $lines lines"
jq -e -s 'group_by(.name) | length as $n | all(length == 2 and
    .[0].phase == "start" and .[1].phase == "end" and
    (.[0] | has("status") | not) and
    (.[0].script_sha256 == .[1].script_sha256)) and $n == '$n \
    "$t/audit.jsonl" >/dev/null &&
    ok "audit_log: each run's start line comes before its end" ||
    { notok "audit_log: each run's start line comes before its end"
    sed 's/^/# /' "$t/audit.jsonl"; }
jq -e -s --arg sha "$sha" 'map(select(.phase == "end")) |
    all(.event == "audit" and .status == 0 and
    .script_sha256 == $sha and .script == "ok.py" and .uid == 0 and
    .template == "default" and .limits.memory == 134217728 and
    (.image_id | test("^(sha256:)?[0-9a-f]{64}$")) and
    (.time | test("^[0-9-]{10}T[0-9:]{8}Z$")) and .timed_out == false and
    .oom_killed == false and .duration > 0)' "$t/audit.jsonl" >/dev/null &&
    ok "audit_log: every field" ||
    { notok "audit_log: every field"; sed 's/^/# /' "$t/audit.jsonl"; }
for rt in podman docker; do
	[ "$(jq -s "map(select(.runtime == \"$rt\")) | length" \
	    "$t/audit.jsonl")" -eq 8 ] && ok "audit_log: 8 lines for $rt" ||
	    notok "audit_log: 8 lines for $rt"
done

# The hash is of the copy that runs, taken before it runs: swapping the
# original during the run changes nothing, and a killed sbx's run is
# still on record.
printf 'import time\nprint("evil", flush=True)\ntime.sleep(3)\n' \
    >"$t/src/swap.py"
evil=$(sha256sum <"$t/src/swap.py" | cut -c1-64)
# evil_run RT: swap.py in the background, once it says it runs; sets pid.
evil_run() {
	# Emptied here: the job's own >"$t/out" may come after the first
	# grep, which would then find the last run's "evil".
	: >"$t/out"
	"$sbx" -r "$1" -d "$t/src" swap.py >"$t/out" 2>&1 </dev/null &
	pid=$!
	i=0
	# Up to 30 s: a loaded machine starts podman slowly, and a kill
	# before the script printed would test nothing.
	while ! grep -qs '"evil' "$t/out" && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
for rt in podman docker; do
	rm -f "$t/audit.jsonl"
	evil_run "$rt"
	printf 'print("benign")\n' >"$t/src/swap.py.new"
	mv "$t/src/swap.py.new" "$t/src/swap.py"
	wait $pid
	[ "$(jq -r -s 'map(.script_sha256) | unique | join(" ")' \
	    "$t/audit.jsonl")" = "$evil" ] &&
	    ok "$rt: audit_log: the hash of what ran, not of what is there after" ||
	    { notok "$rt: audit_log: the hash of what ran, not of what is there after"
	    sed 's/^/# /' "$t/audit.jsonl"; }
	printf 'import time\nprint("evil", flush=True)\ntime.sleep(3)\n' \
	    >"$t/src/swap.py"

	rm -f "$t/audit.jsonl"
	evil_run "$rt"
	kill -KILL $pid
	wait $pid 2>/dev/null
	[ "$(jq -r -s 'map(.phase + " " + .script_sha256) | join(",")' \
	    "$t/audit.jsonl")" = "start $evil" ] &&
	    ok "$rt: audit_log: a run whose sbx is killed is on record" ||
	    { notok "$rt: audit_log: a run whose sbx is killed is on record"
	    sed 's/^/# /' "$t/audit.jsonl" "$t/out"; }
	TMPDIR=$t/tmp "$sbx" -r "$rt" gc >/dev/null 2>&1
done
rm -f "$t/audit.jsonl" "$t/src/swap.py"

# A pooled run is audited as a cold one: its container's name, the
# image's id, the hash of the script.
for rt in podman docker; do
	rm -f "$t/audit.jsonl"
	"$sbx" pool start aud -r "$rt" -n 1 >"$t/out" 2>&1 </dev/null
	"$sbx" -P aud -d "$t/src" ok.py >"$t/out" 2>&1 </dev/null
	jq -e -s --arg sha "$sha" 'length == 2 and
	    .[0].phase == "start" and .[1].phase == "end" and
	    all(.script_sha256 == $sha and (.name | startswith("sbx-pool-aud-"))
	    and (.image_id | test("^(sha256:)?[0-9a-f]{64}$"))) and
	    .[1].status == 0' "$t/audit.jsonl" >/dev/null &&
	    ok "$rt: audit_log: a pooled run, a start and an end line" ||
	    { notok "$rt: audit_log: a pooled run, a start and an end line"
	    sed 's/^/# /' "$t/audit.jsonl"; }
	"$sbx" pool stop aud >/dev/null 2>&1
done
rm -f "$t/audit.jsonl"
mkdir "$t/audit.jsonl"	# unwritable: the run must not start
"$sbx" -r podman -d "$t/src" ok.py >"$t/out" 2>"$t/err"
[ $? -eq 125 ] && grep -q "audit_log" "$t/err" &&
    ! grep -q '"event":"start"' "$t/out" &&
    ok "an unwritable audit log stops the run before it starts" ||
    notok "an unwritable audit log stops the run before it starts"
exit 0
