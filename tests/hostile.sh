#!/bin/sh
# tests/hostile.sh: hostile scripts against sbx, under podman and docker.
#
# usage: tests/hostile.sh [podman|docker ...]	(default: both)
#
# Runs from anywhere.  The sbx under test is $SBX, else the tree's, the
# configuration tests/hostile.ini (small limits).  HOSTILE_CASES="name ..."
# runs only those cases (see "cases" at the end).
#
# Each case runs a script that attacks the sandbox: a fork bomb, a memory
# hog, a spin, a script deaf to SIGTERM, floods of output, a full /tmp and
# workspace, writes outside the workspace, sockets, reads of /proc and
# /sys, privilege, links out of the workspace, a hostile source tree and
# hostile names, and sbx itself interrupted or killed.  Every run checks
# that (a) the limit held, (b) the result says honestly what happened,
# (c) nothing is left behind: no container labelled sbx of the run's name,
# the private TMPDIR empty again, and (d) the source tree is byte for byte
# what it was.
#
# Prints "ok - hostile: RUNTIME: WHAT" or "not ok - hostile: RUNTIME: WHAT"
# per assertion and "# " diagnostics; tests/lib/run.sh counts them.  Exits 0
# even when assertions fail, 2 when it cannot run at all.  A missing
# runtime is a failure, never a skip.
#
# No container ever gets a network (no -n, no template with one); the only
# connections tried go to loopback, or to an address that has no route in
# a container without a network, so no packet leaves.  Every sbx runs
# under "timeout 120".
set -u

# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
# shellcheck source=tests/lib/runtime.sh
. "$here/lib/runtime.sh"

suite_init hostile.ini "$@"
SBX_REAL=$(readlink -f "$SBX") || cannot "$SBX: cannot resolve"
# The kernel's name of the sbx process: its file name, cut at 15 bytes.
SBX_COMM=$(basename "$SBX_REAL" | cut -c 1-15)
for tool in jq timeout find sha256sum od awk head mkfifo perl date \
    readlink xargs sort; do
	command -v "$tool" >/dev/null 2>&1 || cannot "$tool is needed"
done
# GNU time measures the peak memory of sbx (and of the runtime client it
# waits for); without it, sbx's own VmHWM is read while it runs.
GTIME=
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null true \
    >/dev/null 2>&1; then
	GTIME=/usr/bin/time
fi

exec </dev/null
MEASURE=
SBXOUT=

# Whatever a case leaves, even a kept or stale run directory, goes, and
# so do the helpers it started on the host (a listener, a marker).
BGPIDS=
ON_EXIT='for p in $BGPIDS; do kill "$p" 2>/dev/null; done'
suite_base hostile
# HOSTILE_GVISOR=1 (tests/hostile-gvisor.sh): every case under gVisor, as
# the shipped gvisor template runs it, with hostile.ini's limits but
# pids, which counts gVisor's own threads there: nproc, which gVisor
# enforces for the script's processes, takes its bound.
if [ "${HOSTILE_GVISOR:-0}" = 1 ]; then
	sed -e '/^\[default\]$/a\
oci_runtime = runsc\
oci_runtime_flags = network=none host-fifo=open host-uds=open' \
	    -e 's/^pids = 64$/pids = 256/' -e 's/^nproc = 256$/nproc = 64/' \
	    "$CONF" >"$BASE/hostile-gvisor.ini" || cannot "hostile-gvisor.ini"
	CONF=$BASE/hostile-gvisor.ini
	SUITE=hostile-gvisor
fi
# Under gVisor, what differs and is no escape (sbx(1), CAVEATS): its
# /sys/fs/cgroup and the host's pids count are its own, not the
# script's; an OOM kill ends the whole sandbox; its CPU count is its
# own; a write where the user may not is EACCES before it is EROFS; an
# outside address is EHOSTUNREACH; its /proc/self/status has no CapAmb
# nor NoNewPrivs line; and a device node in its own tmpfs reaches its
# own emulated device.  GV is 1 then.
GV=${HOSTILE_GVISOR:-0}

MB=1048576
# In the names of the scripts whose processes are looked for on the host:
# another suite running at the same time has none of these.
TAG=hx$$

# --- running sbx ---------------------------------------------------------

now() {
	date +%s.%N
}

# since START: seconds since START (a now), two decimals.
since() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'
}

# hsbx [ARG...]: sbx with hostile.ini for runtime RT and the private
# TMPDIR, under the 120 s safety timeout; sets RC and WALL (seconds).
hsbx() {
	_t0=$(now)
	timeout -k 5 120 env TMPDIR="$T" "$SBX" -c "$CONF" -r "$RT" "$@" \
	    >"$OUT" 2>"$ERR"
	RC=$?
	WALL=$(since "$_t0")
	if [ "$(count result)" = 0 ] && [ "$RC" -eq 124 ]; then
		diag "the 120 s safety timeout may have stopped sbx $*"
	fi
}

# kids PID: "pid comm" of each process whose parent is PID.  Read with
# the shell's own read: a fork per process would take seconds.
kids() {
	for _kf in /proc/[0-9]*/stat; do
		# (2>/dev/null first: a process gone since the glob is no
		# error of ours.)
		read -r _kl 2>/dev/null <"$_kf" || continue
		_kr=${_kl##*) }		# after "pid (comm) ": state ppid ...
		_kr=${_kr#* }
		[ "${_kr%% *}" = "$1" ] || continue
		_kc=${_kl#*\(}
		printf '%s %s\n' "${_kl%% *}" "${_kc%\)*}"
	done
	return 0
}

# find_sbx PID: the pid of the sbx process under PID (timeout, GNU time
# and env in between), once it has exec'd; empty if none shows in 5 s
# or PID ends first.
find_sbx() {
	_fn=0
	while [ "$_fn" -lt 250 ] && kill -0 "$1" 2>/dev/null; do
		_fq=$1
		while [ -n "$_fq" ]; do
			_fnext=
			for _fp in $_fq; do
				while read -r _fk _fc; do
					if [ "$_fc" = "$SBX_COMM" ]; then
						printf '%s' "$_fk"
						return 0
					fi
					_fnext="$_fnext $_fk"
				done <<EOF
$(kids "$_fp")
EOF
			done
			_fq=${_fnext# }
		done
		sleep 0.02
		_fn=$((_fn + 1))
	done
	return 1
}

# hbg [ARG...]: hsbx in the background, output to SBXOUT (default OUT),
# under GNU time if MEASURE is not empty and there is one.  Sets TPID (the
# timeout process, to wait for) and SPID (sbx itself, to signal).
hbg() {
	_t0=$(now)
	if [ -n "$MEASURE" ] && [ -n "$GTIME" ]; then
		timeout -k 5 120 "$GTIME" -f %M -o "$W/gtime" env TMPDIR="$T" \
		    "$SBX" -c "$CONF" -r "$RT" "$@" >"${SBXOUT:-$OUT}" \
		    2>"$ERR" &
	else
		timeout -k 5 120 env TMPDIR="$T" "$SBX" -c "$CONF" -r "$RT" \
		    "$@" >"${SBXOUT:-$OUT}" 2>"$ERR" &
	fi
	TPID=$!
	SPID=$(find_sbx "$TPID") || diag "sbx's pid not found under $TPID"
}

# hwait: waits for the background run; sets RC and WALL.  (The shell's
# own note of a job killed by a signal is not ours to print.)
hwait() {
	{ wait "$TPID"; } 2>/dev/null
	RC=$?
	WALL=$(since "$_t0")
}

# on_host: how many processes on the host have the text in $W/.pattern in
# their command line.  (The pattern goes to grep in a file, or grep would
# find it in its own command line.)
on_host() {
	for _oh in $(grep -laF -f "$W/.pattern" /proc/[0-9]*/cmdline 2>/dev/null); do
		# The engine's own (its client, which podman may run twice
		# for a moment, conmon, runsc) carry the path as an argument.
		case $(cat "${_oh%/cmdline}/comm" 2>/dev/null) in
		podman | docker | conmon | runsc* | exe) ;;
		*) echo x ;;
		esac
	done | wc -l | tr -d ' '
}

# hwm PID: the peak resident memory of PID in KB, empty once it is gone.
hwm() {
	awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# sample [TEXT]: while the background run lasts, keeps the peak of sbx's
# VmHWM in PEAK_KB, and of the number of host processes with TEXT in
# their command line in PEAK_PROCS.
sample() {
	PEAK_KB=0
	PEAK_PROCS=0
	[ -n "${1:-}" ] && printf '%s\n' "$1" >"$W/.pattern"
	while kill -0 "$TPID" 2>/dev/null; do
		if [ -n "$SPID" ]; then
			_sv=$(hwm "$SPID")
			[ -n "$_sv" ] && [ "$_sv" -gt "$PEAK_KB" ] && PEAK_KB=$_sv
		fi
		if [ -n "${1:-}" ]; then
			_sv=$(on_host)
			[ "$_sv" -gt "$PEAK_PROCS" ] && PEAK_PROCS=$_sv
		fi
		sleep 0.02
	done
}

# --- reading and checking ------------------------------------------------

# json_ok: every line of sbx's stdout is a JSON object whose first member
# is "event", and the last line is complete.
json_ok() {
	[ -s "$OUT" ] || { diag "no output at all"; return 1; }
	_jb=$(grep -c -v '^{"event":"' "$OUT")
	if [ "$_jb" != 0 ]; then
		diag "$_jb lines do not start with {\"event\":\""
		return 1
	fi
	if ! jq -e -R -n '[inputs | (try fromjson catch null) |
	    type == "object" and (.event | type) == "string"] | all' \
	    "$OUT" >/dev/null 2>&1; then
		diag "a line is not a JSON event"
		return 1
	fi
	if [ "$(tail -c 1 "$OUT" | od -An -tx1 | tr -d ' \n')" != 0a ]; then
		diag "last line not terminated by a newline"
		return 1
	fi
	return 0
}

# not_left NAME: no container labelled sbx has that name (one that has
# is removed, so that later cases start clean).
not_left() {
	if [ -z "$1" ] || [ "$1" = null ]; then
		diag "no container name: no start event"
		return 1
	fi
	if ! _nl=$(timeout 30 "$RT" ps -a --filter label=sbx \
	    --filter "name=$1" --format '{{.Names}}' 2>&1); then
		diag "$RT ps failed: $_nl"
		return 1
	fi
	printf '%s\n' "$_nl" | grep -qxF -- "$1" || return 0
	diag "still there: $1"
	timeout 30 "$RT" rm -f "$1" >/dev/null 2>&1
	return 1
}

# finish WHAT: the checks of every run that started a container: JSON
# lines, one start and one result event, sbx's status is result.status,
# no container of the run's name left, TMPDIR empty again.
finish() {
	NAME=$(start_field name)
	case $NAME in
	'' | null) ;;
	*) printf '%s\n' "$NAME" >>"$NAMES" ;;
	esac
	check "$1: stdout is JSON lines" json_ok || show
	is "$1: one start and one result event" \
	    "$(count start) $(count result)" "1 1" || show
	is "$1: sbx's exit status is result.status" "$RC" "$(res status)"
	check "$1: no container of the run's name left" not_left "$NAME"
	check "$1: TMPDIR empty again" tmp_empty
}

# state DIR: names, types, modes, owners, sizes, mtimes and link targets
# of the whole tree, then the SHA-256 of every file.
state() {
	(
		cd "$1" || exit 1
		find . -printf '%p|%y|%m|%U:%G|%s|%T@|%l\0' | LC_ALL=C sort -z |
		    tr '\0' '\n'
		find . -type f -print0 | LC_ALL=C sort -z |
		    xargs -0 -r sha256sum --
	) 2>&1
}

# before DIR: remembers DIR's state for unchanged.
before() {
	state "$1" >"$W/.before"
}

# unchanged WHAT DIR: DIR is byte for byte as before saw it.
unchanged() {
	state "$2" >"$W/.after"
	if cmp -s "$W/.before" "$W/.after"; then
		ok "$1: source tree byte-identical"
		return 0
	fi
	notok "$1: source tree byte-identical"
	diag "changes (before/after):$nl$(diff "$W/.before" "$W/.after")"
	return 1
}

# line_of LABEL: the first stdout line that starts with "LABEL ".
line_of() {
	stream stdout | awk -v p="$1 " 'index($0, p) == 1 { print; exit }'
}

# word_of LABEL: what follows "LABEL " on that line.
word_of() {
	_wl=$(line_of "$1")
	printf '%s' "${_wl#"$1 "}"
}

# relayed: the bytes of output relayed in stdout and stderr events (the
# floods are ASCII, so characters are bytes).
relayed() {
	J '[.[] | select(.event == "stdout" or .event == "stderr") |
	    .data | length] | add // 0'
}

# gone_from_host TEXT: no process on the host has TEXT in its command
# line, within 5 s (see on_host).
gone_from_host() {
	printf '%s\n' "$1" >"$W/.pattern"
	_gn=0
	while [ "$_gn" -lt 50 ]; do
		_gh=$(grep -laF -f "$W/.pattern" /proc/[0-9]*/cmdline \
		    2>/dev/null)
		[ -z "$_gh" ] && return 0
		sleep 0.1
		_gn=$((_gn + 1))
	done
	for _gp in $_gh; do
		diag "still on the host: $(tr '\0' ' ' <"$_gp" 2>/dev/null |
		    cut -c 1-120)"
	done
	return 1
}

# gc_events KIND NAME FILE: how many gc events of FILE name it.
gc_events() {
	jq -R -s -j --arg k "$1" --arg n "$2" '[split("\n")[] | fromjson? |
	    select(.event == "gc" and .kind == $k and .name == $n)] | length' \
	    "$3" 2>/dev/null
}

# The Python helper of the probes: runs each action, prints "LABEL ok
# [value]" or "LABEL ERRNO-NAME".
attempt_py='import errno, os, sys
def attempt(label, fn):
    try:
        r = fn()
        print(label, "ok" if r is None else "ok %s" % (r,), flush=True)
    except OSError as e:
        print(label, errno.errorcode.get(e.errno, e.errno), flush=True)
def write(path, mode="w"):
    with open(path, mode) as f:
        f.write("x\n")
'

# --- the cases -------------------------------------------------------------
# Each case_* runs with RT, T, W, OUT, ERR and NAMES set for one runtime.

# 1. Fork bombs, in sh and in Python: the pids limit holds, the timeout
# stops them, sbx returns, and the host neither sees more processes than
# the limit allows nor keeps any of the bomb's.
case_forkbomb() {
	d=$(src forkbomb)
	cat >"$d/$TAG-bomb.sh" <<'EOF'
echo start
# The classic bomb, made to last: each process forks two more and, when
# they are gone, forks again.
f() { while :; do f | f & wait; done; }
f 2>/dev/null &
# The cgroup's own count (v1, else v2): a listing of /proc, taken while
# processes come and go, can count one slot twice.
cg=/sys/fs/cgroup/pids
[ -r "$cg/pids.current" ] || cg=/sys/fs/cgroup
lim=none
[ -r "$cg/pids.max" ] && read -r lim <"$cg/pids.max"
# Sampled for 1.5 s of uptime (read without a fork), or until 300
# samples near the limit: well under the 2 s of CPU time.
# (centiseconds; gVisor's uptime starts at 0, so "0.05": no octal)
read -r up _ </proc/uptime
cs=${up#*.}
end=$((${up%.*} * 100 + ${cs#0} + 150))
now=0
peak=0
near=0
while [ "$now" -lt "$end" ] && [ "$near" -lt 300 ]; do
	cur=0
	[ -r "$cg/pids.current" ] && read -r cur <"$cg/pids.current"
	[ "$cur" -gt "$peak" ] && peak=$cur
	[ "$peak" -ge 60 ] && near=$((near + 1))
	read -r up _ </proc/uptime
	cs=${up#*.}
	now=$((${up%.*} * 100 + ${cs#0}))
done
echo "pidsmax $lim"
echo "peak $peak"
exec sleep 60
EOF
	cat >"$d/$TAG-bomb.py" <<'EOF'
import errno, os, signal, time
kids, err = [], None
while True:
    try:
        pid = os.fork()
    except OSError as e:
        err = e.errno
        break
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    kids.append(pid)
def cgroup(name):      # v1, else v2
    for d in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        try:
            return open(d + "/" + name).read().strip()
        except OSError:
            pass
    return "none"
print("forked", len(kids), errno.errorcode.get(err, err), flush=True)
print("pidsmax", cgroup("pids.max"), flush=True)
print("peak", cgroup("pids.current"), flush=True)
for k in kids:
    os.kill(k, signal.SIGKILL)
for k in kids:
    os.waitpid(k, 0)
if os.fork() == 0:
    while True:        # every process forks, forever
        try:
            os.fork()
        except OSError:
            pass
time.sleep(60)
EOF
	before "$d"
	for s in "$TAG-bomb.sh" "$TAG-bomb.py"; do
		w="fork bomb ${s#"$TAG-"}"
		hbg -d "$d" "$s"
		sample "/workspace/$s"
		hwait
		finish "$w"
		num "$w: sbx returned soon after the 5 s timeout (wall s)" \
		    "$WALL" '<' 15
		if [ "$GV" = 1 ]; then
			# gVisor's memory holds every process of the bomb,
			# and nproc bounds them: the timeout, the OOM killer
			# or the script's own failure at nproc ends it.
			diag "$w: status $RC, timed_out $(res timed_out)," \
			    "oom_killed $(res oom_killed)"
		else
			is "$w: result.timed_out true" "$(res timed_out)" true
			is "$w: exit status 124" "$RC" 124
			is "$w: the container's pids.max is 64" \
			    "$(word_of pidsmax)" 64
			mp=$(word_of peak)
			num "$w: pids.current never passed 64" "${mp:-none}" \
			    '<=' 64 || show
			num "$w: the bomb came near the limit (pids.current)" \
			    "${mp:-none}" '>=' 32
		fi
		if [ "$s" = "$TAG-bomb.py" ] && [ "$GV" = 1 ]; then
			# nproc 64 in its place, if memory lasted that long
			f=$(line_of forked)
			[ -z "$f" ] || is "$w: fork fails with EAGAIN at nproc" \
			    "$(echo "$f" | cut -d ' ' -f 3)" EAGAIN
			[ -z "$f" ] || num "$w: at most nproc 64 processes" \
			    "$(echo "$f" | cut -d ' ' -f 2)" '<' 64
		elif [ "$s" = "$TAG-bomb.py" ]; then
			is "$w: fork fails with EAGAIN at the limit" \
			    "$(line_of forked | cut -d ' ' -f 3)" EAGAIN
		fi
		# The bomb's processes carry the script's path (the engine's
		# processes that do are not counted: see on_host).
		num "$w: the host never had more than 64 such processes" \
		    "$PEAK_PROCS" '<=' 64
		if [ "$GV" = 1 ]; then
			num "$w: the host sees none of them: gVisor runs them" \
			    "$PEAK_PROCS" '<=' 0
		else
			num "$w: the host did see the bomb's processes" \
			    "$PEAK_PROCS" '>=' 16
		fi
		diag "$w: at most ${mp:-no count of} tasks in the container's cgroup," \
		    "$PEAK_PROCS processes of the script on the host"
		check "$w: no process of the bomb left on the host" \
		    gone_from_host "/workspace/$s"
		is "$w: the host can still fork" "$(sh -c 'echo alive')" alive
	done
	unchanged "fork bomb" "$d"
}

# 2. Memory: a hog is OOM-killed, and says so; the limit held.  A child
# OOM-killed under a parent that exits 0 is an OOM kill too (sbx(1):
# "the kernel's OOM killer ended a process of the container").
case_memory() {
	d=$(src memory)
	cat >"$d/hog.py" <<'EOF'
chunks = []
while True:
    chunks.append(bytearray(4 << 20))
    print("mb", 4 * len(chunks), flush=True)
EOF
	cat >"$d/oomchild.py" <<'EOF'
import os, sys
pid = os.fork()
if pid == 0:
    chunks = []
    while True:
        chunks.append(bytearray(4 << 20))
_, st = os.waitpid(pid, 0)
if os.WIFSIGNALED(st):
    print("child signal", os.WTERMSIG(st), flush=True)
else:
    print("child exit", os.WEXITSTATUS(st), flush=True)
sys.exit(0)
EOF
	before "$d"
	hsbx -d "$d" hog.py
	finish "memory hog"
	is "memory hog: result.oom_killed true" "$(res oom_killed)" true
	is "memory hog: result.signal 9" "$(res signal)" 9
	is "memory hog: exit status 137" "$RC" 137
	is "memory hog: result.exit_code 137" "$(res exit_code)" 137
	is "memory hog: result.timed_out false" "$(res timed_out)" false
	mb=$(stream stdout | awk '$1 == "mb" { m = $2 } END { print m + 0 }')
	num "memory hog: never held more than the 128m limit (MB reached)" \
	    "$mb" '<=' 128
	num "memory hog: it did allocate (MB reached)" "$mb" '>=' 32

	hsbx -d "$d" oomchild.py
	finish "OOM in a child"
	if [ "$GV" = 1 ]; then
		is "OOM in a child: the whole sandbox killed, 137" "$RC" 137
	else
		is "OOM in a child: the child was SIGKILLed" \
		    "$(line_of child)" "child signal 9"
		is "OOM in a child: exit status 0 (the parent's)" "$RC" 0
	fi
	is "OOM in a child: result.oom_killed true" "$(res oom_killed)" true
	unchanged "memory" "$d"
}

# 3. A CPU spin past the timeout, with no cpu_time: timed_out, 124.  While
# it spins, three processes together get no more than the one CPU.
case_spin() {
	d=$(src spin)
	cat >"$d/spin.py" <<'EOF'
import os, resource, time
def spin(sec):
    end = time.time() + sec
    while time.time() < end:
        pass
    os._exit(0)
t0 = time.time()
kids = []
for i in range(3):
    pid = os.fork()
    if pid == 0:
        spin(1.5)
    kids.append(pid)
for k in kids:
    os.waitpid(k, 0)
wall = time.time() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print("cpus %.2f" % ((ru.ru_utime + ru.ru_stime) / wall), flush=True)
while True:
    pass
EOF
	before "$d"
	hsbx -t spin -d "$d" spin.py
	finish "CPU spin"
	is "CPU spin: result.timed_out true" "$(res timed_out)" true
	is "CPU spin: exit status 124" "$RC" 124
	is "CPU spin: result.exit_code null" "$(res exit_code)" null
	is "CPU spin: result.cpu_time_exceeded false" \
	    "$(res cpu_time_exceeded)" false
	num "CPU spin: duration >= the 5 s timeout" "$(res duration)" '>=' 5
	num "CPU spin: duration < 8 s" "$(res duration)" '<' 8
	if [ "$GV" = 1 ]; then
		# gVisor's own count of its tasks' CPU, not the cgroup's
		num "CPU spin: the spinners' CPU as gVisor counts it" \
		    "$(word_of cpus)" '>' 0
	else
		num "CPU spin: 3 spinning processes got at most the 1 CPU (cpu/wall)" \
		    "$(word_of cpus)" '<=' 1.3
	fi
	unchanged "CPU spin" "$d"
}

# 4. Scripts deaf to SIGTERM, SIGINT and SIGHUP: still stopped at the
# timeout, 124, no container left.
case_ignore_term() {
	d=$(src ignore-term)
	cat >"$d/deaf.sh" <<'EOF'
trap '' TERM INT HUP
echo deaf
sleep 100
sleep 100
EOF
	cat >"$d/deaf.py" <<'EOF'
import signal, time
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
print("deaf", flush=True)
while True:
    time.sleep(1)
EOF
	before "$d"
	for s in deaf.sh deaf.py; do
		w="SIGTERM ignored ($s)"
		hsbx -d "$d" "$s"
		finish "$w"
		is "$w: the script ran" "$(stream stdout)" deaf
		is "$w: result.timed_out true" "$(res timed_out)" true
		is "$w: exit status 124" "$RC" 124
		num "$w: stopped soon after the 5 s timeout (duration)" \
		    "$(res duration)" '<' 8
	done
	unchanged "SIGTERM ignored" "$d"
}

# The flood script: writes 64 KiB chunks to stdout, stderr or both, until
# 4 GiB or until it is stopped.
flood_py='import sys
chunk = b"x" * 65536
which = sys.argv[1]
o, e = sys.stdout.buffer, sys.stderr.buffer
for i in range(65536):
    if which in ("out", "both"):
        o.write(chunk)
        o.flush()
    if which in ("err", "both"):
        e.write(chunk)
        e.flush()
'

# mem_checks WHAT [required]: sbx's peak memory stayed under 50 MB, by GNU
# time (sbx and the runtime client it reaped) when there is one, and by
# its own VmHWM when it could be read.  A run too quick to be sampled
# fails only if "required".
mem_checks() {
	g=
	if [ -n "$GTIME" ]; then
		g=$(tail -n 1 "$W/gtime" 2>/dev/null)
		num "$1: max RSS of sbx and its client < 50 MB (GNU time, KB)" \
		    "${g:-none}" '<' 51200
	fi
	if [ "$PEAK_KB" -gt 0 ]; then
		num "$1: sbx's own peak RSS < 50 MB (VmHWM, KB)" \
		    "$PEAK_KB" '<' 51200
	elif [ "${2:-}" = required ]; then
		notok "$1: sbx's own peak RSS measured"
		diag "sbx ended before its VmHWM could be read"
	fi
	diag "$1: peak RSS: sbx ${PEAK_KB:-?} KB (VmHWM)," \
	    "with its client ${g:-?} KB (GNU time)"
}

# 5 and 6. Floods of stdout, stderr and both: cut at max_output (1m),
# truncated, killed (137, signal 9), and sbx's memory stays flat.  Then
# 512 MB pushed through sbx: its memory still stays flat.
case_flood() {
	d=$(src flood)
	printf '%s' "$flood_py" >"$d/flood.py"
	cat >"$d/exact.py" <<'EOF'
import os, sys
def out(b):	# all of it: a pipe under gVisor takes part of a write
    while b:
        b = b[os.write(1, b):]
n = int(sys.argv[1])
while n > 0:
    k = min(n, 65536)
    out(b"z" * k)
    n -= k
EOF
	cat >"$d/utf8.py" <<'EOF'
import os
chunk = ("\u2713" * 20000).encode()     # 3 bytes each
def out(b):	# all of it: a pipe under gVisor takes part of a write
    while b:
        b = b[os.write(1, b):]
for i in range(1000):
    out(chunk)
EOF
	before "$d"
	for which in out err both; do
		w="flood ($which)"
		MEASURE=1
		hbg -d "$d" flood.py "$which"
		MEASURE=
		sample
		hwait
		finish "$w"
		is "$w: result.truncated true" "$(res truncated)" true
		is "$w: exit status 137" "$RC" 137
		is "$w: result.signal 9" "$(res signal)" 9
		is "$w: result.exit_code 137, as signal 9 says" \
		    "$(res exit_code)" 137
		is "$w: result.timed_out false" "$(res timed_out)" false
		is "$w: exactly max_output (1m) relayed" "$(relayed)" "$MB"
		n=$(J '(map(select(.event == "result"))[0] // {}) |
		    (.stdout_bytes // 0) + (.stderr_bytes // 0)')
		num "$w: the bytes read are counted, past the cap" "$n" '>=' "$MB"
		num "$w: stopped long before the timeout (duration)" \
		    "$(res duration)" '<' 4
		mem_checks "$w"
	done

	# The cap's edges: exactly max_output is not truncated, one byte
	# more is; a cut never splits a UTF-8 character.
	hsbx -d "$d" exact.py "$MB"
	finish "output of exactly 1m"
	is "output of exactly 1m: not truncated, exit 0" \
	    "$(res truncated) $RC" "false 0"
	is "output of exactly 1m: all of it relayed" "$(relayed)" "$MB"
	hsbx -d "$d" exact.py $((MB + 1))
	finish "output of 1m + 1"
	is "output of 1m + 1: truncated, 137" "$(res truncated) $RC" "true 137"
	is "output of 1m + 1: 1m relayed" "$(relayed)" "$MB"
	hsbx -d "$d" utf8.py
	finish "UTF-8 flood"
	is "UTF-8 flood: truncated" "$(res truncated)" true
	num "UTF-8 flood: no more than 1m relayed (bytes)" \
	    "$(J '[.[] | select(.event == "stdout") | .data |
	    utf8bytelength] | add // 0')" '<=' "$MB"
	num "UTF-8 flood: cut within a character of 1m (bytes)" \
	    "$(J '[.[] | select(.event == "stdout") | .data |
	    utf8bytelength] | add // 0')" '>' $((MB - 3))
	is "UTF-8 flood: no character cut into U+FFFD" \
	    "$(J '[.[] | select(.event == "stdout") | .data |
	    test("\ufffd")] | any')" false

	# 512 MB through sbx: its stdout events are dropped on the way to
	# OUT, the rest is checked as usual.
	w="flood of 512 MB"
	fifo=$W/flood.fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	grep -v '^{"event":"stdout"' <"$fifo" >"$OUT" &
	gpid=$!
	SBXOUT=$fifo
	MEASURE=1
	hbg -t bigout -d "$d" flood.py out
	SBXOUT=
	MEASURE=
	sample
	hwait
	wait "$gpid"
	rm -f "$fifo"
	finish "$w"
	is "$w: result.truncated true" "$(res truncated)" true
	is "$w: exit status 137" "$RC" 137
	num "$w: 512 MB or more read" "$(res stdout_bytes)" '>=' $((512 * MB))
	mem_checks "$w" required
	unchanged "flood" "$d"
}

# 7. Filling /tmp, /dev/shm and the rw workspace: no file passes fsize
# (8m, EFBIG), /tmp and /dev/shm stop at their 16m (ENOSPC), and the
# workspace's copy is gone from the host afterwards.
case_fill() {
	d=$(src fill)
	cat >"$d/fill.py" <<'EOF'
import errno, os, sys
def fill(path):
    n = 0
    chunk = b"y" * (1 << 20)
    try:
        with open(path, "wb") as f:
            while n < (64 << 20):
                f.write(chunk)
                f.flush()
                n += len(chunk)
        return n, "ok"
    except OSError as e:
        try:
            n = os.path.getsize(path)
        except OSError:
            n = -1
        return n, errno.errorcode.get(e.errno, e.errno)
for d in sys.argv[1:]:
    total, big, errs = 0, 0, set()
    for i in range(4):      # at most 4 files: 32 MB on the host disk
        size, err = fill(os.path.join(d, "fill%d" % i))
        total += max(size, 0)
        big = max(big, size)
        errs.add(err)
        if err == "ENOSPC":
            break
    print(d, total, big, ",".join(sorted(errs)), flush=True)
EOF
	cat >"$d/many.py" <<'EOF'
n = 0
try:
    while n < 5000:
        open("/sbx/out/f%d" % n, "w").close()
        n += 1
except OSError as e:
    print("files", n, e.errno, flush=True)
EOF
	before "$d"
	hsbx -d "$d" fill.py /tmp /dev/shm
	finish "fill /tmp"
	is "fill /tmp: exit status 0" "$RC" 0
	for dir in /tmp /dev/shm; do
		set -- $(word_of "$dir")
		num "fill $dir: no file past fsize 8m (largest)" \
		    "${2:-none}" '<=' $((8 * MB))
		like "fill $dir: the script saw EFBIG at fsize" "${3:-}" EFBIG
		like "fill $dir: the script saw ENOSPC" "${3:-}" ENOSPC
		num "fill $dir: no more than its 16m held (total)" \
		    "${1:-none}" '<=' $((16 * MB))
	done

	# /sbx/out is sbx's tmpfs of 2m and 64 inodes, whatever the mode.
	for m in ro none; do
		hsbx -w "$m" -d "$d" fill.py /sbx/out
		finish "fill /sbx/out ($m)"
		set -- $(word_of /sbx/out)
		num "fill /sbx/out ($m): no more than its 2m held (total)" \
		    "${1:-none}" '<=' $((2 * MB))
		like "fill /sbx/out ($m): the script saw ENOSPC" "${3:-}" ENOSPC
		hsbx -w "$m" -d "$d" many.py
		finish "files in /sbx/out ($m)"
		set -- $(word_of files)
		num "fill /sbx/out ($m): at most 64 files" "${1:-none}" '<=' 64
		is "fill /sbx/out ($m): then ENOSPC" "${2:-}" 28
	done

	hsbx -w rw -d "$d" fill.py /workspace
	finish "fill rw workspace"
	is "fill rw workspace: exit status 0" "$RC" 0
	set -- $(word_of /workspace)
	num "fill rw workspace: no file past fsize 8m (largest)" \
	    "${2:-none}" '<=' $((8 * MB))
	is "fill rw workspace: every file stopped with EFBIG" "${3:-}" EFBIG
	diag "rw workspace: ${1:-?} bytes written to the host's TMPDIR" \
	    "in 4 files; fsize bounds each file, nothing bounds the total"
	unchanged "fill" "$d"
}

# 8. Writing outside the workspace, and to it in ro mode: EROFS.
case_writes() {
	d=$(src writes)
	{
		printf '%s' "$attempt_py"
		cat <<'EOF'
for p in ["/", "/etc", "/usr", "/var/tmp", "/run", "/sys", "/workspace"]:
    attempt(p, lambda: write(os.path.join(p, "sbx-hostile")))
attempt("/workspace/script", lambda: write("/workspace/writes.py", "a"))
attempt("/workspace/mkdir", lambda: os.mkdir("/workspace/newdir"))
attempt("/proc/sys", lambda: write("/proc/sys/kernel/hostname"))
attempt("/proc/sysrq-trigger", lambda: write("/proc/sysrq-trigger"))
EOF
	} >"$d/writes.py"
	before "$d"
	for mode in default ro; do
		w="writes ($mode)"
		if [ "$mode" = default ]; then
			hsbx -d "$d" writes.py
		else
			hsbx -w ro -d "$d" writes.py
		fi
		finish "$w"
		is "$w: exit status 0" "$RC" 0
		for p in / /etc /usr /var/tmp /run /sys /workspace \
		    /workspace/script /workspace/mkdir; do
			e=$(word_of "$p")
			[ "$GV" = 1 ] && [ "$e" = EACCES ] && e=EROFS
			is "$w: write to $p fails with EROFS" "$e" EROFS
		done
		for p in /proc/sys /proc/sysrq-trigger; do
			case $(word_of "$p") in
			E*) ok "$w: write to $p fails" ;;
			*)
				notok "$w: write to $p fails"
				diag "got: '$(line_of "$p")'"
				;;
			esac
		done
	done
	unchanged "writes" "$d"
}

# 9. Sockets: only loopback, the container's own.  A listener on the
# host's 127.0.0.1 is not reached; an outside address has no route and
# fails at once, so nothing is sent.
case_network() {
	d=$(src network)
	{
		printf '%s' "$attempt_py"
		cat <<'EOF'
import socket, time
port = int(sys.argv[1])
def tcp(host, p, fam=socket.AF_INET):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((host, p))
    finally:
        s.close()
def udp(host, p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.sendto(b"x", (host, p))
    finally:
        s.close()
def own_loopback():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    tcp("127.0.0.1", srv.getsockname()[1])
    srv.close()
attempt("hostport", lambda: tcp("127.0.0.1", port))
attempt("loopback", own_loopback)
t0 = time.time()
attempt("tcp-out", lambda: tcp("10.255.255.1", 80))
print("tcp-out-time %.2f" % (time.time() - t0), flush=True)
attempt("udp-out", lambda: udp("10.255.255.1", 53))
print("ifaces", ",".join(sorted(os.listdir("/sys/class/net"))), flush=True)
EOF
	} >"$d/net.py"
	rm -f "$W/port" "$W/hits"
	perl -MIO::Socket::INET -e '
		my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
		    LocalPort => 0, Listen => 5, ReuseAddr => 1) or die "$!";
		open(my $f, ">", "$ARGV[0].new") or die "$!";
		print $f $s->sockport, "\n";
		close $f;
		rename("$ARGV[0].new", $ARGV[0]);
		while (my $c = $s->accept) {
			open(my $g, ">>", $ARGV[1]);
			print $g "CONNECTED\n";
			close $g;
			close $c;
		}' "$W/port" "$W/hits" &
	lpid=$!
	BGPIDS="$BGPIDS $lpid"
	n=0
	while [ ! -s "$W/port" ] && [ "$n" -lt 50 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	port=$(cat "$W/port" 2>/dev/null)
	check "network: a listener is up on the host's 127.0.0.1" \
	    test -n "$port"
	before "$d"
	hsbx -d "$d" net.py "${port:-1}"
	finish "network"
	is "network: exit status 0" "$RC" 0
	is "network: the host's loopback listener is not reached" \
	    "$(word_of hostport)" ECONNREFUSED
	check "network: the host's listener saw no connection" \
	    test ! -e "$W/hits"
	is "network: the container's own loopback works" \
	    "$(word_of loopback)" ok
	unreach=ENETUNREACH
	[ "$GV" = 1 ] && unreach=EHOSTUNREACH
	is "network: TCP to an outside address: $unreach" \
	    "$(word_of tcp-out)" "$unreach"
	num "network: ... at once, nothing waits on a packet (s)" \
	    "$(word_of tcp-out-time)" '<' 1
	is "network: UDP to an outside address: $unreach" \
	    "$(word_of udp-out)" "$unreach"
	is "network: the only interface is lo" "$(word_of ifaces)" lo
	kill "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	unchanged "network" "$d"
}

# 10. /proc and /sys show the container, not the host.
case_proc() {
	d=$(src proc)
	{
		printf '%s' "$attempt_py"
		cat <<'EOF'
# The host's marker comes reversed, so that this process's own command
# line does not hold it.
marker = sys.argv[1][::-1].encode()
print("init", os.path.basename(open("/proc/1/cmdline").read().split("\0")[0]))
print("hostname", open("/proc/sys/kernel/hostname").read().strip())
print("uname", os.uname().nodename)
attempt("etc-hostname", lambda: open("/etc/hostname").read().strip())
pids = [p for p in os.listdir("/proc") if p.isdigit()]
print("procs", len(pids))
seen = 0
for p in pids:
    try:
        if marker in open("/proc/%s/cmdline" % p, "rb").read():
            seen += 1
    except OSError:
        pass
print("marker", seen)
def peek(path):
    if os.path.isdir(path):
        return len(os.listdir(path))
    with open(path, "rb") as f:
        return len(f.read(4096))
for p in ["/proc/kcore", "/proc/keys", "/proc/timer_list",
          "/proc/sched_debug", "/proc/latency_stats", "/sys/firmware"]:
    attempt(p, lambda: peek(p))
EOF
	} >"$d/proc.py"
	marker="sbx-hostile-host-$$-$(date +%s)"
	perl -e 'sleep 60' "$marker" &
	mpid=$!
	BGPIDS="$BGPIDS $mpid"
	rev=$(printf '%s' "$marker" | rev 2>/dev/null) ||
	    rev=$(printf '%s' "$marker" | awk '{ s = ""; for (i = length; i; i--) s = s substr($0, i, 1); print s }')
	before "$d"
	hsbx -d "$d" proc.py "$rev"
	finish "/proc"
	is "/proc: exit status 0" "$RC" 0
	case $(word_of init) in
	init)	# sbx-supervise, mounted at /sbx/init
		ok "/proc: /proc/1 is the container's init ($(word_of init))" ;;
	*)
		notok "/proc: /proc/1 is the container's init"
		diag "got: '$(line_of init)'"
		;;
	esac
	is "/proc: /proc/sys/kernel/hostname is sbx" "$(word_of hostname)" sbx
	is "/proc: uname's node name is sbx" "$(word_of uname)" sbx
	is "/proc: /etc/hostname is the container's (sbx)" \
	    "$(word_of etc-hostname)" "ok sbx"
	num "/proc: only the container's processes are seen" \
	    "$(word_of procs)" '<=' 3
	is "/proc: a host process is not seen" "$(word_of marker)" 0
	for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug \
	    /proc/latency_stats /sys/firmware; do
		case $(word_of "$p") in
		"ok 0" | E*) ok "/proc: $p is masked" ;;
		*)
			notok "/proc: $p is masked"
			diag "got: '$(line_of "$p")'"
			;;
		esac
	done
	kill "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	unchanged "/proc" "$d"
}

# 11. No privilege: a uid of the run's own, no capability, no_new_privs; chown,
# mknod and mount fail.
case_privilege() {
	d=$(src privilege)
	cat >"$d/priv.sh" <<'EOF'
echo "uid $(id -u)"
echo "gid $(id -g)"
sed -n 's/^\(Cap[A-Za-z]*\|NoNewPrivs\):[[:space:]]*/\1 /p' /proc/self/status
: >/tmp/f
chown 0:0 /tmp/f 2>/dev/null
echo "chown $?"
mknod /tmp/null c 1 3 2>/dev/null
echo "mknod $?"
mknod /tmp/sda b 8 0 2>/dev/null
head -c 1 /tmp/sda >/dev/null 2>&1
echo "blockdev $?"
mkdir /tmp/m
mount -t tmpfs none /tmp/m 2>/dev/null
echo "mount $?"
EOF
	{
		printf '%s' "$attempt_py"
		cat <<'EOF'
attempt("setuid", lambda: os.setuid(0))
attempt("setgid", lambda: os.setgid(0))
attempt("chroot", lambda: os.chroot("/tmp"))
import ctypes
print("nnp", ctypes.CDLL(None).prctl(39, 0, 0, 0, 0))	# PR_GET_NO_NEW_PRIVS
EOF
	} >"$d/priv.py"
	before "$d"
	hsbx -d "$d" priv.sh
	finish "privilege (sh)"
	num "privilege: id -u is the run's own (user = auto)" \
	    "$(word_of uid)" '>=' 1879048192
	is "privilege: id -g is the same" "$(word_of gid)" "$(word_of uid)"
	caps="CapInh CapPrm CapEff CapBnd CapAmb" nodes="mknod"
	if [ "$GV" = 1 ]; then
		caps="CapInh CapPrm CapEff CapBnd" nodes=
	else
		is "privilege: NoNewPrivs 1" "$(word_of NoNewPrivs)" 1
	fi
	for c in $caps; do
		is "privilege: $c is empty" "$(word_of "$c")" 0000000000000000
	done
	for c in chown $nodes mount blockdev; do
		isnt "privilege: $c fails" "$(word_of "$c")" 0
	done
	hsbx -d "$d" priv.py
	finish "privilege (py)"
	for c in setuid setgid chroot; do
		is "privilege: $c fails with EPERM" "$(word_of "$c")" EPERM
	done
	is "privilege: no_new_privs set (prctl)" "$(word_of nnp)" 1
	unchanged "privilege" "$d"
}

# 12. rw mode: links out of the workspace.  They resolve in the container
# only; afterwards sbx follows none of them: the host's files and a
# sentinel directory they point at are untouched, no host secret shows
# in the output, and the tree goes, however deep or locked.
case_links() {
	d=$(src links)
	{
		printf '%s' "$attempt_py"
		cat <<'EOF'
import socket
sentinel, secret = sys.argv[1], sys.argv[2]
os.chdir("/workspace")
attempt("symlink-shadow", lambda: os.symlink("/etc/shadow", "leak"))
attempt("symlink-up", lambda: os.symlink("../../../../etc/passwd", "up"))
attempt("symlink-sentinel", lambda: os.symlink(sentinel, "sentinel"))
attempt("symlink-sentinel-file",
        lambda: os.symlink(sentinel + "/keep", "sentinel-file"))
attempt("symlink-secret", lambda: os.symlink(secret, "secret"))
attempt("symlink-root", lambda: os.symlink("/", "root"))
attempt("hardlink-passwd", lambda: os.link("/etc/passwd", "hard"))
attempt("hardlink-tmp",
        lambda: (open("/tmp/t", "w").close(), os.link("/tmp/t", "hard2")))
attempt("read-secret", lambda: open("secret").read())
attempt("write-up", lambda: write("up", "a"))
attempt("write-sentinel", lambda: write("sentinel-file", "a"))
attempt("mkfifo", lambda: os.mkfifo("fifo"))
attempt("socket", lambda: socket.socket(socket.AF_UNIX).bind("sock"))
def deep():
    for i in range(3000):
        os.mkdir("d")
        os.chdir("d")
    os.chdir("/workspace")
attempt("deep", deep)
def locked():
    os.makedirs("locked/inner")
    write("locked/inner/f")
    os.symlink(sentinel, "locked/inner/sentinel")
    os.chmod("locked/inner", 0)
    os.chmod("locked", 0)
attempt("locked", locked)
EOF
	} >"$d/links.py"
	sent=$W/sentinel
	rm -rf "$sent"
	mkdir -p "$sent"
	printf 'keep\n' >"$sent/keep"
	secret=$W/secret.txt
	printf 'HOSTSECRET-%s-%s\n' "$$" "$(date +%s%N)" >"$secret"
	sum_before=$(sha256sum /etc/shadow /etc/passwd "$secret" "$sent/keep" \
	    2>&1)
	before "$d"
	hsbx -w rw -d "$d" links.py "$sent" "$secret"
	finish "links (rw)"
	is "links: exit status 0" "$RC" 0
	for l in symlink-shadow symlink-up symlink-sentinel \
	    symlink-sentinel-file symlink-secret symlink-root mkfifo socket \
	    deep locked; do
		is "links: the script made $l" "$(word_of "$l")" ok
	done
	for l in hardlink-passwd hardlink-tmp; do
		case $(word_of "$l") in
		EXDEV | EPERM) ok "links: $l fails" ;;
		*)
			notok "links: $l fails"
			diag "got: '$(line_of "$l")'"
			;;
		esac
	done
	for l in read-secret write-up write-sentinel; do
		case $(word_of "$l") in
		E*) ok "links: $l fails in the container" ;;
		*)
			notok "links: $l fails in the container"
			diag "got: '$(line_of "$l")'"
			;;
		esac
	done
	is "links: host /etc/shadow, /etc/passwd, secret, sentinel unchanged" \
	    "$(sha256sum /etc/shadow /etc/passwd "$secret" "$sent/keep" 2>&1)" \
	    "$sum_before"
	check "links: the sentinel directory is still there" test -d "$sent"
	is "links: the sentinel file is still there" "$(cat "$sent/keep" 2>&1)" \
	    keep
	s=$(head -n 1 "$secret")
	check "links: the host secret is not in sbx's stdout" \
	    sh -c '! grep -qF -- "$1" "$2"' sh "$s" "$OUT"
	check "links: the host secret is not in sbx's stderr" \
	    sh -c '! grep -qF -- "$1" "$2"' sh "$s" "$ERR"
	unchanged "links" "$d"
}

# 13. A hostile source tree: a symlink loop, a dangling link, a link to
# the host's /etc/shadow, a FIFO, a socket, names of 250 and 255 bytes.
# Copied without following anything (a warning for the FIFO and the
# socket), run, and left as it was.
case_tree() {
	d=$(src tree)
	ln -s b "$d/a"
	ln -s a "$d/b"
	ln -s nowhere "$d/dangling"
	ln -s /etc/shadow "$d/shadow"
	mkfifo "$d/fifo"
	perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(),
	    Local => $ARGV[0], Listen => 1) or die "$!"' "$d/sock" ||
	    diag "could not make a socket in the tree"
	n250=$(printf '%0250d' 0 | tr 0 L)
	n255=$(printf '%0255d' 0 | tr 0 M)
	printf 'content 250\n' >"$d/$n250"
	mkdir "$d/sub"
	printf 'content 255\n' >"$d/sub/$n255"
	ln -s .. "$d/sub/up"
	cat >"$d/list.py" <<'EOF'
import os
for root, dirs, files in os.walk("/workspace"):
    for n in sorted(dirs + files):
        p = os.path.join(root, n)
        r = os.path.relpath(p, "/workspace")
        short = r if len(n) < 100 else r.replace(n, "%s*%d" % (n[0], len(n)))
        if os.path.islink(p):
            print("link", short, os.readlink(p))
        elif os.path.isfile(p):
            print("file", short, open(p).read().strip().replace(" ", "_"))
        elif not os.path.isdir(p):
            print("other", short)
try:
    open("/workspace/shadow").read()
    print("shadow readable")
except OSError as e:
    print("shadow", e.errno)
EOF
	before "$d"
	hsbx -d "$d" list.py
	finish "hostile tree"
	is "hostile tree: exit status 0" "$RC" 0
	like "hostile tree: a warning names the FIFO" \
	    "$(J '[.[] | select(.event == "warning") | .message] | join("\n")')" \
	    "$d/fifo"
	like "hostile tree: a warning names the socket" \
	    "$(J '[.[] | select(.event == "warning") | .message] | join("\n")')" \
	    "$d/sock"
	o=$(stream stdout)
	like "hostile tree: a -> b copied as a link" "$o" "link a b"
	like "hostile tree: b -> a copied as a link" "$o" "link b a"
	like "hostile tree: the dangling link copied" "$o" "link dangling nowhere"
	like "hostile tree: the link to /etc/shadow copied as a link" "$o" \
	    "link shadow /etc/shadow"
	like "hostile tree: the 250-byte name copied" "$o" \
	    "file L*250 content_250"
	like "hostile tree: the 255-byte name copied" "$o" \
	    "file sub/M*255 content_255"
	like "hostile tree: sub/up copied as a link" "$o" "link sub/up .."
	case $o in
	*fifo* | *sock*) notok "hostile tree: no FIFO or socket in the copy"
		diag "$o" ;;
	*) ok "hostile tree: no FIFO or socket in the copy" ;;
	esac
	case $(word_of shadow) in
	readable)
		notok "hostile tree: the shadow link does not read the host's"
		;;
	*) ok "hostile tree: the shadow link does not read the host's" ;;
	esac
	unchanged "hostile tree" "$d"
}

# 14. Hostile script names: "--help.py", "--help" with -e py, a newline in
# the name, and "./gc".
case_names() {
	d=$(src names)
	for n in --help.py --help "new${nl}line.py"; do
		printf 'import sys\nprint("ran", repr(sys.argv[0]))\n' >"$d/$n"
	done
	printf 'echo "ran gc $0"\n' >"$d/gc"
	before "$d"

	hsbx -d "$d" -- --help.py
	finish "script --help.py"
	is "script --help.py: runs after --" "$(stream stdout)" \
	    "ran '/workspace/--help.py'"
	is "script --help.py: exit status 0" "$RC" 0
	is "script --help.py: start.script" "$(start_field script)" --help.py

	hsbx -d "$d" --help.py
	is "script --help.py without --: refused as an option, status 125" \
	    "$RC" 125
	is "script --help.py without --: nothing started" "$(count start)" 0
	check "script --help.py without --: TMPDIR empty" tmp_empty

	hsbx -e py -d "$d" -- --help
	finish "script --help -e py"
	is "script --help -e py: runs" "$(stream stdout)" \
	    "ran '/workspace/--help'"

	hsbx -d "$d" "new${nl}line.py"
	finish "script with a newline"
	is "script with a newline: runs" "$(stream stdout)" \
	    "ran '/workspace/new\\nline.py'"
	is "script with a newline: start.script" "$(start_field script)" \
	    "new${nl}line.py"

	hsbx -e sh -d "$d" ./gc
	finish "script ./gc -e sh"
	is "script ./gc -e sh: runs as a script" "$(stream stdout)" \
	    "ran gc /workspace/gc"
	unchanged "names" "$d"
}

# 15. sbx interrupted mid-run (SIGTERM, SIGINT), with a script deaf to
# both: the result says interrupted, 128+n, nothing left.
case_interrupt() {
	d=$(src interrupt)
	cat >"$d/$TAG-deaf.py" <<'EOF'
import signal, time
for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
print("sleeping", flush=True)
time.sleep(100)
EOF
	before "$d"
	for sig in TERM INT; do
		case $sig in
		TERM) n=15 ;;
		INT) n=2 ;;
		esac
		w="SIG$sig to sbx"
		hbg -t long -d "$d" "$TAG-deaf.py"
		wait_for '"sleeping' 20 || diag "$w: the script did not start"
		kill -"$sig" "$SPID"
		hwait
		finish "$w"
		is "$w: exit status $((128 + n))" "$RC" $((128 + n))
		is "$w: result.interrupted $n" "$(res interrupted)" "$n"
		is "$w: result.timed_out false" "$(res timed_out)" false
		is "$w: result.exit_code null" "$(res exit_code)" null
		num "$w: sbx returned at once (wall s)" "$WALL" '<' 10
		check "$w: no runtime client left on the host" \
		    gone_from_host "/workspace/$TAG-deaf.py"
	done
	unchanged "interrupt" "$d"
}

# 15b. The owner of the tree swaps a directory of it for a link to a
# directory only root may read, again and again, while sbx (as root)
# copies it: the copy walks by descriptor and never follows the link,
# so the secret never reaches the sandbox; a run either gets the tree as
# it was or stops with "changed while being copied".  The script path
# is found the same way: a directory of it that is a link to outside
# the tree is refused, never followed.
case_race() {
	d=$(src race)
	sec=$W/race-secret
	rm -rf "$sec"
	mkdir -p "$d/sub" "$sec"
	printf 'SECRET-%s\n' "$TAG" >"$sec/s.txt"
	chmod 600 "$sec/s.txt"
	chmod 700 "$sec"
	printf 'public\n' >"$d/sub/s.txt"
	printf 'print(open(__file__).read())\n' >"$sec/x.py"
	i=0
	while [ $i -lt 40 ]; do printf '%s\n' $i >"$d/f$i"; i=$((i + 1)); done
	ln -s "$sec" "$d/lnk"
	printf 'import os\nfor r, ds, fs in os.walk("/workspace"):\n    for f in fs:\n        p = os.path.join(r, f)\n        if not os.path.islink(p):\n            print(open(p).read(), end="")\n' \
	    >"$W/cat.py"
	cp "$W/cat.py" "$d/cat.py"
	python3 -c 'import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b, end = sys.argv[1].encode(), sys.argv[2].encode(), time.time() + 60
while time.time() < end and libc.renameat2(-100, a, -100, b, 2) == 0:
    pass' "$d/sub" "$d/lnk" &
	swapper=$!
	BGPIDS="$BGPIDS $swapper"
	leaks=0 runs=0 refused=0
	# Many copies, each torn down at once (a missing image): the copy
	# is the race; the kept directory shows what it made.
	while [ $runs -lt 60 ]; do
		hsbx -k -i sbx-no-such-image -t long -d "$d" cat.py
		kept=$(res shadow)
		case $RC in 125) ;; *) diag "race: status $RC" ;; esac
		grep -q "changed while being copied" "$ERR" "$OUT" &&
		    refused=$((refused + 1))
		[ -n "$kept" ] && [ "$kept" != null ] &&
		    grep -rqs "SECRET-$TAG" "$kept" && leaks=$((leaks + 1))
		[ -n "$kept" ] && [ "$kept" != null ] && rm -rf "${kept%/ws}"
		rm -rf "$T"/sbx.*
		runs=$((runs + 1))
	done
	# And real runs, whose script prints every file it was given.
	n=0
	while [ $n -lt 8 ]; do
		hsbx -t long -d "$d" cat.py
		grep -q "SECRET-$TAG" "$OUT" && leaks=$((leaks + 1))
		n=$((n + 1))
	done
	kill "$swapper" 2>/dev/null
	wait "$swapper" 2>/dev/null
	is "race: the secret never reaches a copy or a run (68 tries)" \
	    "$leaks" 0
	diag "race: $refused of $runs copies stopped as changed"
	# Undo the last swap, if the swapper left the link as sub.
	if [ -L "$d/sub" ]; then
		mv "$d/sub" "$d/tmp" && mv "$d/lnk" "$d/sub" && mv "$d/tmp" "$d/lnk"
	fi
	hsbx -w none -t long -d "$d" lnk/x.py
	is "race: a script behind a linked directory is refused, 125" "$RC" 125
	isnt "race: ... and never run" "$(grep -c "SECRET\|open(__file__)" "$OUT")" \
	    1
	like "race: ... saying why" "$(cat "$ERR")" "a directory on its way is a link"
	check "race: TMPDIR empty again" tmp_empty
	rm -rf "$sec"
}

# 15c. A script that fills its rw copy past what the change report reads
# (64 MiB of path names), in a directory that sorts first: the report is
# incomplete, claims no deletion it did not see, and sbx diff refuses to
# make a patch of it that would delete the user's files.
case_incomplete() {
	d=$(src incomplete)
	printf 'keep\n' >"$d/a.txt"
	printf 'keep\n' >"$d/b.txt"
	cat >"$d/fill.py" <<'EOF'
import os
p = "/workspace"
for i in range(16):
    p = os.path.join(p, "0" * 200)
    os.mkdir(p)
for i in range(21000):
    open(os.path.join(p, str(i)), "w").close()
print("filled")
EOF
	before "$d"
	hsbx -t fill -w rw -k -u -d "$d" fill.py
	is "incomplete: the script ran" "$RC:$(stream stdout)" "0:filled"
	like "incomplete: the changes event says why" \
	    "$(J 'map(select(.event == "changes"))[0].incomplete')" "path names"
	is "incomplete: no deletion claimed" "$(res changes.deleted)" 0
	is "incomplete: no diff event of a deletion" \
	    "$(J '[.[] | select(.event == "diff" and .change == "deleted")] | length')" 0
	kept=$(res shadow)
	timeout 60 "$SBX" diff "$kept" >"$W/patch" 2>"$W/diff.err"
	is "incomplete: sbx diff refuses, 125" "$?" 125
	like "incomplete: ... saying why" "$(cat "$W/diff.err")" \
	    "could not be read whole"
	is "incomplete: ... and prints no patch, only its error event" \
	    "$(grep -c '^diff \|^--- ' "$W/patch"):$(jq -r .event "$W/patch")" \
	    "0:error"
	[ -n "$kept" ] && [ "$kept" != null ] && rm -rf "${kept%/ws}"
	check "incomplete: TMPDIR empty again" tmp_empty
	unchanged "incomplete" "$d"
}

# 16. sbx killed with SIGKILL mid-run: it cannot clean up, so the
# container (labelled with sbx.owner and sbx.deadline) and the run directory
# are left.  "sbx gc" must then remove both, and not touch the container
# of a live sbx running at the same time.
case_sigkill() {
	d=$(src sigkill)
	cat >"$d/$TAG-sleep.py" <<'EOF'
import sys, time
print("sleeping", flush=True)
time.sleep(float(sys.argv[1]))
print("woke", flush=True)
EOF
	before "$d"
	w="SIGKILL to sbx"
	t_start=$(date +%s)
	hbg -t long -d "$d" "$TAG-sleep.py" 100
	wait_for '"sleeping' 20 || diag "$w: the script did not start"
	kpid=$SPID
	clients=$(kids "$kpid" | cut -d ' ' -f 1)
	kill -KILL "$kpid"
	hwait
	is "$w: sbx died of SIGKILL" "$RC" 137
	NAME=$(start_field name)
	printf '%s\n' "$NAME" >>"$NAMES"
	labels=$(timeout 30 "$RT" inspect --format \
	    '{{index .Config.Labels "sbx.owner"}} {{index .Config.Labels "sbx.deadline"}}' \
	    "$NAME" 2>&1)
	owner=${labels%% *}
	owner=${owner#*:*:}
	is "$w: the orphan container is left, its sbx.owner naming pid $kpid" \
	    "${owner%%:*}" "$kpid"
	dl=${labels##* }
	case $dl in
	'' | *[!0-9]*)
		notok "$w: its sbx.deadline is start + timeout (60) + grace"
		diag "labels: $labels"
		;;
	*)
		num "$w: its sbx.deadline is start + timeout (60) + grace" \
		    "$((dl - t_start))" '>=' 60
		;;
	esac
	set -- "$T"/sbx.*
	if [ -d "$1" ]; then
		ok "$w: the run directory is left"
	else
		notok "$w: the run directory is left"
		diag "TMPDIR holds: $(ls -A "$T")"
	fi
	stale=$1

	# A live run, started before gc and still running during it.
	sav_out=$OUT
	OUT=$W/live.out
	hbg -t long -d "$d" "$TAG-sleep.py" 3
	live_tpid=$TPID
	live_t0=$_t0
	wait_for '"sleeping' 20 || diag "live run: the script did not start"
	OUT=$sav_out

	# Two containers sbx did not make, labelled as if it had, by the
	# dead sbx, long past their deadline: one naming no run directory,
	# one naming the stale one, which does not name it.
	foreign="sbx-1-${TAG}a sbx-1-${TAG}b"
	for f in $foreign; do
		run=
		[ "$f" = "sbx-1-${TAG}b" ] && run="--label=sbx.run=$stale"
		timeout 30 "$RT" run -d --name "$f" --network=none \
		    --ulimit nofile=256:256 --ulimit nproc=256:256 \
		    --label sbx=0 --label "sbx.owner=${labels%% *}" \
		    --label sbx.deadline=1 $run sbx-sh sleep 120 \
		    >/dev/null 2>"$ERR" || show
	done

	timeout -k 5 120 env TMPDIR="$T" "$SBX" -r "$RT" gc >"$OUT" 2>"$ERR"
	RC=$?
	for f in $foreign; do
		is "sbx gc: no gc event for $f, not sbx's" \
		    "$(gc_events container "$f" "$OUT")" 0
		is "sbx gc: $f is left running" "$(timeout 30 "$RT" inspect \
		    --format '{{.State.Running}}' "$f" 2>&1)" true
		timeout 30 "$RT" rm -f "$f" >/dev/null 2>&1
	done
	gcok=1
	is "sbx gc: exit status 0" "$RC" 0 || gcok=
	check "sbx gc: stdout is JSON lines" json_ok || gcok=
	if [ -z "$gcok" ]; then
		notok "sbx gc removes the orphan"
		show
	else
		is "sbx gc: one gc event for the orphan container" \
		    "$(gc_events container "$NAME" "$OUT")" 1
		is "sbx gc: one gc event for the stale directory" \
		    "$(gc_events directory "$stale" "$OUT")" 1
		check "sbx gc removes the orphan container" not_left "$NAME"
		check "sbx gc removes the stale run directory" test ! -e "$stale"
	fi
	# The live run was left alone and ends as usual.
	OUT=$W/live.out
	TPID=$live_tpid
	_t0=$live_t0
	hwait
	live=$(start_field name)
	is "sbx gc: the live run's container was not collected" \
	    "$(gc_events container "$live" "$sav_out")" 0
	finish "sbx gc: the live run"
	is "sbx gc: the live run ends normally" "$RC $(stream stdout)" \
	    "0 sleeping${nl}woke"
	OUT=$sav_out

	# Whatever gc left, by hand, so that the next case starts clean.
	timeout 30 "$RT" rm -f "$NAME" >/dev/null 2>&1
	[ -n "$stale" ] && [ -e "$stale" ] && rm -rf "$stale"
	check "$w: the orphan's runtime client ends once the container is gone" \
	    gone_from_host "/workspace/$TAG-sleep.py"
	for c in $clients; do
		kill -0 "$c" 2>/dev/null && kill -KILL "$c" 2>/dev/null
	done
	check "$w: TMPDIR empty after gc" tmp_empty
	unchanged "SIGKILL" "$d"
}

# 16b. sbx killed with SIGKILL under a 5 s timeout: nothing on the host
# stops the run now, so its init does, 2 s after the timeout.  Then gc.
case_killed_timeout() {
	d=$(src killed_timeout)
	printf 'import time\nprint("sleeping", flush=True)\ntime.sleep(100)\n' \
	    >"$d/$TAG-nap.py"
	before "$d"
	w="SIGKILL to sbx under timeout 5"
	t_start=$(now)
	hbg -d "$d" "$TAG-nap.py"
	wait_for '"sleeping' 20 || diag "$w: the script did not start"
	kill -KILL "$SPID"
	hwait
	NAME=$(start_field name)
	printf '%s\n' "$NAME" >>"$NAMES"
	i=0
	while [ $i -lt 150 ] && [ "$(timeout 30 "$RT" inspect --format \
	    '{{.State.Running}}' "$NAME" 2>/dev/null)" = true ]; do
		sleep 0.1
		i=$((i + 1))
	done
	num "$w: the container has ended by second 11 (timeout, grace, start)" \
	    "$(since "$t_start")" '<=' 11
	timeout -k 5 120 env TMPDIR="$T" "$SBX" -r "$RT" gc >/dev/null 2>&1
	check "$w: gc leaves no container" not_left "$NAME"
	check "$w: gc leaves TMPDIR empty" tmp_empty
	unchanged "$w" "$d"
}

# 16c. What the kernel counts per user is each run's own: a run holding
# 40 processes and 100 inotify instances does not stop a concurrent run
# under nproc 16 from forking, nor from making 50 instances (the host's
# max_user_instances is 128).  And an init that cannot start the script
# (nproc 1) is sbx's error, not the script's exit.
case_identity() {
	d=$(src identity)
	cat >"$d/$TAG-hog.py" <<'EOF'
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
fds = [libc.inotify_init() for _ in range(int(sys.argv[2]))]
kids = []
for _ in range(int(sys.argv[1])):
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
print("uid", os.getuid(), "inotify", sum(f >= 0 for f in fds),
      "kids", len(kids), flush=True)
time.sleep(float(sys.argv[3]))
EOF
	before "$d"
	w="identity"
	# The hog has a TMPDIR of its own, so that the others' is empty
	# once they end.
	sav_t=$T
	T=$W/hog.tmp
	mkdir -p "$T"
	hbg -t long -d "$d" "$TAG-hog.py" 40 100 20
	T=$sav_t
	bg=$SPID
	wait_for '"uid' 20 || diag "$w: the hog did not start"
	huid=$(stream stdout | sed -n 's/^uid \([0-9]*\) .*/\1/p')
	sav_out=$OUT
	OUT=$W/identity.out
	hsbx -t tight -d "$d" "$TAG-hog.py" 4 50 0
	finish "$w: the tight run beside the hog"
	is "$w: the tight run ends 0" "$RC" 0
	set -- $(word_of uid)
	is "$w: its 50 inotify instances and 4 processes, beside the hog's" \
	    "${3:-} ${5:-}" "50 4"
	[ -n "${1:-}" ] && [ "${1:-}" != "$huid" ]
	check "$w: its uid (${1:-none}) is not the hog's ($huid)" test $? = 0
	hsbx -t oneproc -d "$d" "$TAG-hog.py" 0 0 0
	finish "$w: nproc 1"
	is "$w: nproc 1: status 125, sbx's error" "$RC $(res exit_code)" \
	    "125 null"
	like "$w: nproc 1: the error says the init could not start it" \
	    "$(res error)" "could not start the script"
	OUT=$sav_out
	kill -TERM "$bg" 2>/dev/null
	hwait
	T=$W/hog.tmp
	finish "$w: the hog"
	T=$sav_t
	unchanged "$w" "$d"
}

# late_reader SECONDS ARG...: sbx in the background (hbg ARG...), its
# output read only after SECONDS, through the FIFO $fifo; rpid is the
# reader's.
late_reader() {
	fifo=$W/late.fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	{ sleep "$1"; cat; } <"$fifo" >"$OUT" &
	rpid=$!
	shift
	SBXOUT=$fifo
	hbg "$@"
	SBXOUT=
}

# late_end WHAT: the late reader's run ended, stopped by its -T 2.
late_end() {
	hwait
	wait "$rpid"
	rm -f "$fifo"
	finish "$1"
	is "$1: exit status 124" "$RC" 124
	is "$1: result.timed_out true" "$(res timed_out)" true
}

# 17. A reader of sbx's output slower than the script's: a trickle of
# small lines, sbx's stdout a pipe nobody reads for 4 s, a 2 s timeout.
# Waiting for a reader is not a write error: the timeout is reported
# (124), and every byte read is relayed in intact JSON lines.
case_slow_reader() {
	d=$(src slow-reader)
	cat >"$d/trickle.py" <<'EOF'
import sys, time
line = "y" * 999 + "\n"
while True:
    sys.stdout.write(line)
    sys.stdout.flush()
    time.sleep(0.001)
EOF
	before "$d"
	w="slow reader"
	late_reader 4 -t bigout -T 2 -d "$d" trickle.py
	late_end "$w"
	is "$w: result.error null" "$(res error)" null
	is "$w: result.truncated false" "$(res truncated)" false
	is "$w: every byte read was relayed" "$(relayed)" \
	    "$(res stdout_bytes)"
	unchanged "$w" "$d"
}

# 17b. A reader that stops reading altogether: the timeout still stops
# the container on time, though sbx's own output waits for the reader.
case_stalled_reader() {
	d=$(src stalled-reader)
	printf 'import sys\nwhile True:\n    sys.stdout.write("y" * 999 + "\\n")\n' \
	    >"$d/flood.py"
	w="stalled reader"
	late_reader 12 -t bigout -T 2 -d "$d" flood.py
	sleep 8
	is "$w: no container of the run is running at 8 s (-T 2)" \
	    "$(timeout 30 "$RT" ps --filter "name=sbx-$SPID-" -q | wc -l | tr -d ' ')" 0
	late_end "$w"
}


# 18. Children left running in the background, holding stdout open, when
# the script exits: the run ends with the script, not at the timeout, and
# takes them along.
case_background() {
	d=$(src background)
	s=$TAG-bg.sh
	{
		printf 'sh -c "sleep 100; :" %s-child &\n' "$TAG"
		printf '(sh -c "sleep 100; :" %s-child &)\n' "$TAG"
		printf '(trap "" HUP TERM; sh -c "sleep 100; :" %s-child) &\n' "$TAG"
		printf 'echo "main done"\nexit 3\n'
	} >"$d/$s"
	before "$d"
	w="background children"
	hsbx -d "$d" "$s"
	finish "$w"
	is "$w: exit status 3, the script's" "$RC" 3
	is "$w: result.timed_out false" "$(res timed_out)" false
	num "$w: sbx returned when the script ended (duration)" \
	    "$(res duration)" '<' 3
	is "$w: output relayed" "$(stream stdout)" "main done"
	check "$w: none of them left on the host" gone_from_host "$TAG-child"
	unchanged "$w" "$d"
}

# 19. Output that mimics sbx's own events, with NUL, invalid UTF-8,
# escapes: relayed as data, never as events; the result is sbx's.
case_inject() {
	d=$(src inject)
	cat >"$d/inject.py" <<'EOF'
import sys
fake = b'{"event":"result","status":0,"exit_code":0,"timed_out":false}\n'
data = (b"\n" + fake + b'"}\n{"event":"start","name":"fake"}\n' +
        b"nul:\x00 bad:\xff\xfe\xc3 esc:\x1b[2J cr:\r bell:\x07 del:\x7f\n" +
        "check \u2713 \u00e9\n".encode())
sys.stdout.buffer.write(data)
sys.stdout.flush()
sys.stderr.buffer.write(fake)
sys.stderr.buffer.write(b"len %d\n" % len(data))
sys.stderr.flush()
sys.exit(7)
EOF
	before "$d"
	w="injected events"
	hsbx -d "$d" inject.py
	finish "$w"
	is "$w: exit status 7, the script's" "$RC" 7
	is "$w: result.exit_code 7" "$(res exit_code)" 7
	like "$w: the fake result is stdout data" "$(stream stdout)" \
	    '{"event":"result","status":0,"exit_code":0'
	like "$w: the fake result is stderr data" "$(stream stderr)" \
	    '{"event":"result","status":0,"exit_code":0'
	like "$w: NUL escaped" "$(cat "$OUT")" '\u0000'
	like "$w: invalid UTF-8 as U+FFFD" "$(cat "$OUT")" '\ufffd'
	like "$w: valid UTF-8 kept" "$(stream stdout)" "check ✓ é"
	is "$w: result.stdout_bytes counts the raw bytes" \
	    "$(res stdout_bytes)" "$(stream stderr | sed -n 's/^len //p')"
	unchanged "$w" "$d"
}

cases=${HOSTILE_CASES:-"forkbomb memory spin ignore_term flood fill writes race incomplete
network proc privilege identity links tree names interrupt sigkill killed_timeout
slow_reader
stalled_reader background inject"}

# --- the suite, once per runtime -------------------------------------------

diag "sbx: $SBX ($("$SBX" -V 2>&1))"
[ -n "$GTIME" ] || diag "no GNU time: sbx's memory is read from /proc"
t_all=$(date +%s)
for RT in $runtimes; do
	t0=$(date +%s)
	runtime_begin || continue
	for hcase in $cases; do
		tc=$(date +%s)
		"case_$hcase"
		diag "$RT: case $hcase: $(($(date +%s) - tc)) s"
	done
	runtime_end
	diag "$RT: $(($(date +%s) - t0)) s"
done
diag "total: $(($(date +%s) - t_all)) s"
exit 0
