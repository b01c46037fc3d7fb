#!/bin/sh
# tests/supervise.sh: sbx-supervise, the pid 1 of a session container and
# a run's init, for real under podman and docker.
#
# usage: tests/supervise.sh [podman|docker ...]	(default: both)
#
# Run from anywhere, as root (the FIFOs are given to uid 65534, the
# container's user).  Builds supervise.c with ${CC:-cc} into a temp dir,
# or takes the binary in $SUPERVISE or $SBX_SUPERVISE (as make check
# passes it).  Prints "ok - supervise: WHAT" or
# "not ok - supervise: WHAT" per assertion and "# " diagnostics; exits 1
# if any failed, 2 if it cannot run at all.
#
# The host side here is a small python3 client (host.py, below) that
# speaks the protocol as sbx should: it opens the step's output FIFOs
# before it sends "run", sends every line with a '\n' in front, skips
# empty lines and takes as the answer the line that starts with its own
# nonce, as sbx's session.c does.
#
# No container ever gets a network, and images are never pulled.
# The steps' shell code is single-quoted on purpose: it expands in the
# container.
# shellcheck disable=SC2016
set -u

# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
CUID=65534
names=

runtimes_of "$@"
[ "$(id -u)" = 0 ] || cannot "must run as root"
for tool in python3 mkfifo timeout awk; do
	command -v "$tool" >/dev/null 2>&1 || cannot "$tool is needed"
done
exec </dev/null

# Whatever a case leaves, its containers go with the directory.
ON_EXIT='for n in $names; do
	podman rm -f -t 0 "$n" >/dev/null 2>&1
	docker rm -f "$n" >/dev/null 2>&1
done'
suite_base sup
D=$BASE
chmod 755 "$D"

SUPERVISE=${SUPERVISE:-${SBX_SUPERVISE:-}}
if [ -n "$SUPERVISE" ]; then
	cp "$SUPERVISE" "$D/supervise" || cannot "$SUPERVISE: cannot copy"
else
	# Warnings fail the build here, as they would in review.
	if ! msg=$(${CC:-cc} -static -std=c99 -pedantic -Wall \
	    -Wextra -Werror -D_DEFAULT_SOURCE -D_XOPEN_SOURCE=700 -O2 \
	    -o "$D/supervise" supervise.c pump.c 2>&1); then
		notok "static build of supervise.c"
		diag "$msg"
		exit 1
	fi
	ok "static build of supervise.c without warnings"
fi

# --- the host side -----------------------------------------------------

cat >"$D/host.py" <<'EOF'
# host.py BOX CMD ARGS...: the host end of the supervise protocol, for
# tests.  BOX holds ctl/ (the FIFOs), sbx/steps/ and res/ (results).
import os, secrets, select, sys, time

box, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
ctl, steps, res = box + "/ctl", box + "/sbx/steps", box + "/res"
CUID = int(os.environ.get("CUID", "65534"))


def now():
    return time.monotonic()


def send(data):
    # O_NONBLOCK: ENXIO at once if no supervisor holds the FIFO.
    fd = os.open(ctl + "/req", os.O_WRONLY | os.O_NONBLOCK)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


class Rsp:
    def __init__(self):
        self.fd = os.open(ctl + "/rsp", os.O_RDONLY | os.O_NONBLOCK)
        self.buf = b""

    def line(self, deadline):
        """The next line, or None at the deadline."""
        while b"\n" not in self.buf:
            left = deadline - now()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            try:
                self.buf += os.read(self.fd, 65536)
            except BlockingIOError:
                pass
        l, self.buf = self.buf.split(b"\n", 1)
        return l


def answer(line, nonce):
    """STATUS VALUE MS if the line is the answer with our nonce (its
    next fields, OOM and LOST, are checked by tests/session.sh and
    tests/repl.sh; the usage after them, CPU_US RSS_KB PEAK, must be
    numbers, and is checked by tests/usage.sh)."""
    f = line.decode(errors="replace").split(" ")
    if len(f) != 9 or f[0] != nonce:
        return None
    if not all(x.lstrip("-").isdigit() for x in f[6:9]):
        return None
    return f[1:4]


def ready(timeout):
    r = Rsp()
    end = now() + float(timeout)
    while True:
        l = r.line(end)
        if l is None:
            print("no ready line")
            return 1
        if l == b"ready":
            print("ready")
            return 0


def lines(secs):
    r = Rsp()
    end = now() + float(secs)
    while True:
        l = r.line(end)
        if l is None:
            return 0
        if l:
            print(l.decode(errors="replace"))


def prepare(n, timeout, argv, raw, fifos="open", pad=0):
    d = "%s/%d" % (steps, n)
    os.makedirs(d, exist_ok=True)
    if raw != "none":
        data = bytes.fromhex(raw) if raw else \
            b"".join(s.encode() + b"\0" for s in [timeout, "step"] + argv)
        data += b"x" * pad + b"\0" if pad else b""
        with open(d + "/req", "wb") as f:
            f.write(data)
    fds = []
    for ext in ("out", "err"):
        p = "%s/%d.%s" % (ctl, n, ext)
        if fifos == "none":
            continue
        os.mkfifo(p, 0o600)
        os.chown(p, CUID, CUID)
        if fifos == "open":
            fds.append(os.open(p, os.O_RDONLY | os.O_NONBLOCK))
    return fds


def step(n, timeout, opts, argv):
    """Runs step n; prints "STATUS VALUE MS WALL_MS"; the output goes
    to res/N.out, N.err, and the lines with other nonces to N.foreign."""
    o = dict(x.split("=", 1) if "=" in x else (x, "") for x in opts)
    nonce = secrets.token_hex(16)
    outs = prepare(n, timeout, argv, o.get("raw", None),
                   o.get("fifos", "open"), int(o.get("pad", "0")))
    data = {fd: b"" for fd in outs}
    rsp = Rsp()
    foreign = []
    t0 = now()
    if "wrongkill" in o:
        send(b"\nkill " + secrets.token_hex(16).encode() + b"\n")
    send(b"\nrun %d %s\n" % (n, nonce.encode()))
    if "wrongkill" in o:
        send(b"\nkill " + secrets.token_hex(16).encode() + b"\n")
    if "delay" in o:
        time.sleep(float(o["delay"]))
    kill_at = t0 + float(o["kill"]) if "kill" in o else None
    end = t0 + int(timeout) + float(o.get("grace", "10"))
    got = None
    live = set(outs)
    while got is None and now() < end:
        if kill_at is not None and now() >= kill_at:
            send(b"\nkill " + nonce.encode() + b"\n")
            kill_at = None
        if b"\n" in rsp.buf:
            l = rsp.line(end)
            got = answer(l, nonce)
            if l == b"open " + nonce.encode():
                continue    # its stdin is open: we have none to end
            if got is None and l:
                foreign.append(l)
            continue
        wait = 0.2 if kill_at is None else max(0, kill_at - now())
        rd = select.select([rsp.fd] + list(live), [], [], wait)[0]
        for fd in rd:
            if fd == rsp.fd:
                try:
                    rsp.buf += os.read(fd, 65536)
                except BlockingIOError:
                    pass
                continue
            try:
                b = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if b:
                data[fd] += b
            else:
                live.discard(fd)    # until the answer: a HUP, not EOF
    wall = (now() - t0) * 1000
    # With the answer, every writer is dead: read to EOF, but bounded.
    eof = 0
    dl = now() + 5
    for fd in outs:
        while now() < dl:
            select.select([fd], [], [], 0.1)
            try:
                b = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not b:
                eof += 1
                break
            data[fd] += b
        os.close(fd)
    os.makedirs(res, exist_ok=True)
    for fd, ext in zip(outs or [-1, -2], ("out", "err")):
        with open("%s/%d.%s" % (res, n, ext), "wb") as f:
            f.write(data.get(fd, b""))
    with open("%s/%d.foreign" % (res, n), "wb") as f:
        f.write(b"".join(l + b"\n" for l in foreign))
    with open("%s/%d.eof" % (res, n), "w") as f:
        f.write("%d\n" % eof)
    if got is None:
        print("none - - %d" % wall)
        return 1
    print("%s %d" % (" ".join(got), wall))
    return 0


def bench(first, count):
    """Round trips of /bin/true: from before the request file is
    written to the answer, and from the "run" line to the answer."""
    full, rt = [], []
    r = Rsp()
    for n in range(int(first), int(first) + int(count)):
        nonce = secrets.token_hex(16)
        t0 = now()
        outs = prepare(n, "10", ["/bin/true"], None)
        t1 = now()
        send(b"\nrun %d %s\n" % (n, nonce.encode()))
        while True:
            l = r.line(t1 + 10)
            if l is None:
                print("none")
                return 1
            a = answer(l, nonce)
            if a is not None:
                break
        t2 = now()
        for fd in outs:
            os.close(fd)
        if a[:2] != ["exit", "0"]:
            print("bad", " ".join(a))
            return 1
        full.append((t2 - t0) * 1000)
        rt.append((t2 - t1) * 1000)
    full.sort()
    rt.sort()
    print("%.2f %.2f %.2f %.2f" % (rt[len(rt) // 2], rt[0], rt[-1],
                                   full[len(full) // 2]))
    return 0


if cmd == "ready":
    sys.exit(ready(args[0]))
elif cmd == "send":
    send(args[0].encode().decode("unicode_escape").encode("latin-1"))
elif cmd == "lines":
    sys.exit(lines(args[0]))
elif cmd == "step":
    n, timeout, rest = int(args[0]), args[1], args[2:]
    i = rest.index("--")
    sys.exit(step(n, timeout, rest[:i], rest[i + 1:]))
elif cmd == "bench":
    sys.exit(bench(args[0], args[1]))
else:
    sys.exit("host.py: unknown command " + cmd)
EOF

# box NAME IDLE MAX [RUNTIME-OPTION...]: a fresh tree and a container of
# that name running the supervisor; sets B (the tree), N (last step).
# The FIFOs belong to the container's user, the directory they are in
# to root: a step can open them, but not remove or replace them.
box() {
	_bn=sbx-sup-$$-$RT-$1
	_bi=$2
	_bm=$3
	shift 3
	B=$D/$_bn
	N=0
	mkdir -p "$B/sbx/steps" "$B/sbx/ctl" "$B/ctl" "$B/ws" "$B/res"
	cp "$D/supervise" "$B/sbx/supervise"
	mkfifo -m 600 "$B/ctl/req" "$B/ctl/rsp"
	chown "$CUID:$CUID" "$B/ctl/req" "$B/ctl/rsp" "$B/ws"
	chmod 755 "$B" "$B/sbx" "$B/sbx/steps" "$B/ctl"
	names="$names $_bn"
	NAME=$_bn
	if ! _bo=$(timeout 60 "$RT" run -d --pull=never --name="$_bn" \
	    --network=none --user="$CUID:$CUID" --cap-drop=ALL \
	    --security-opt=no-new-privileges --read-only \
	    --ulimit=nofile=1024:1024 --ulimit=nproc=1024:1024 \
	    --pids-limit=64 --memory=256m \
	    --mount="type=bind,source=$B/sbx,target=/sbx,ro" \
	    --mount="type=bind,source=$B/ctl,target=/sbx/ctl" \
	    --mount="type=bind,source=$B/ws,target=/workspace" \
	    --entrypoint=/sbx/supervise "$@" sbx-sh "$_bi" "$_bm" 2>&1); then
		diag "$RT run: $_bo"
		return 1
	fi
	return 0
}

# up NAME IDLE MAX: box, and its "ready" line read.
up() {
	if ! box "$@"; then
		notok "$1: container starts"
		return 1
	fi
	if ! is "$1: ready line" "$(host ready 20)" ready; then
		logs
		return 1
	fi
	return 0
}

host() {
	CUID=$CUID timeout 120 python3 "$D/host.py" "$B" "$@"
}

# step TIMEOUT [OPTION...] -- ARGV...: the next step; sets R ("STATUS
# VALUE"), MS (its duration by the supervisor), WALL (by the host), OUT
# and ERR (its output), FOREIGN (the rsp lines with other nonces).
step() {
	N=$((N + 1))
	_sr=$(host step "$N" "$@")
	R=${_sr% * *}
	_sr=${_sr#* * }
	MS=${_sr% *}
	WALL=${_sr#* }
	WALL=${WALL%.*}
	OUT=$(cat "$B/res/$N.out" 2>/dev/null)
	ERR=$(cat "$B/res/$N.err" 2>/dev/null)
	FOREIGN=$(cat "$B/res/$N.foreign" 2>/dev/null)
	EOF2=$(cat "$B/res/$N.eof" 2>/dev/null)
}

# procs: sets P to the commands of the processes in the container as a
# step sees them, by pid: pid 1 and the step itself should be all.
# Not for $(...): step numbers must not be counted in a subshell.
PROCS='for p in /proc/[0-9]*; do read c <$p/comm && echo "${p#/proc/} $c"; done'
procs() {
	step 10 -- /bin/sh -c "$PROCS"
	P=$(printf '%s\n' "$OUT" | sort -n | awk '{ print $2 }' | tr '\n' ' ')
}

# running: the container is still up.
running() {
	[ "$(timeout 30 "$RT" inspect -f '{{.State.Running}}' "$NAME" \
	    2>/dev/null)" = true ]
}

# ended SECONDS: waits for the container to stop; sets EXITED (its
# status) and ELAPSED (ms the wait took).
ended() {
	_t0=$(date +%s%N)
	_en=0
	while running && [ "$_en" -lt "$(($1 * 20))" ]; do
		sleep 0.05
		_en=$((_en + 1))
	done
	ELAPSED=$((($(date +%s%N) - _t0) / 1000000))
	EXITED=$(timeout 30 "$RT" inspect -f '{{.State.ExitCode}}' \
	    "$NAME" 2>/dev/null)
	running && EXITED=running
}

logs() {
	diag "container log: $(timeout 30 "$RT" logs "$NAME" 2>&1 | head -n 10)"
}

# --- the cases -----------------------------------------------------------

case_steps() {
	up main 60 600 || return

	step 10 -- /bin/sh -c 'echo to-out; echo to-err >&2; exit 3'
	is "exit 3" "$R" "exit 3"
	is "stdout on N.out" "$OUT" to-out
	is "stderr on N.err" "$ERR" to-err
	is "N.out and N.err at EOF after the answer" "$EOF2" 2
	diag "a trivial step: $MS ms"

	step 10 -- /bin/sh -c 'kill -KILL $$'
	is "killed by SIGKILL: signal 9" "$R" "signal 9"
	step 10 -- /bin/sh -c 'kill -USR1 $$'
	is "killed by SIGUSR1: signal 10" "$R" "signal 10"

	step 10 -- /no/such/program
	is "missing program: exit 127" "$R" "exit 127"
	step 10 -- /workspace
	is "not executable: exit 126" "$R" "exit 126"
	step 10 -- /bin/sh -c 'pwd; echo "$PATH"; read x || echo stdin-eof'
	is "cwd /workspace, the image's PATH, stdin at EOF" "$OUT" \
	    "/workspace$nl/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin${nl}stdin-eof"

	step 10 raw=none -- /bin/true
	is "no request file: error 125" "$R" "error 125"
	# "10\0step\0true\0": the timeout, the mode, argv.
	step 10 raw=31300073746570007472756500 -- x
	is "a raw request file: exit 0" "$R" "exit 0"
	step 10 raw=300073746570007472756500 -- x
	is "timeout 0: error 125" "$R" "error 125"
	step 10 raw=3130 -- x
	is "no mode: error 125" "$R" "error 125"
	step 10 raw=31300073746570 -- x
	is "mode not NUL-terminated: error 125" "$R" "error 125"
	step 10 raw=3130007374657000 -- x
	is "no argv: error 125" "$R" "error 125"
	step 10 raw=31300078007472756500 -- x
	is "an unknown mode: error 125" "$R" "error 125"
	step 10 raw=313000737465700074727565 -- x
	is "argv not NUL-terminated: error 125" "$R" "error 125"
	step 10 raw=2d310073746570007472756500 -- x
	is "timeout -1: error 125" "$R" "error 125"
	step 10 raw=3630343830310073746570007472756500 -- x
	is "timeout over a week: error 125" "$R" "error 125"
	step 10 -- /bin/sh -c 'echo "$0/$1/$2"' a '' 'c d'
	is "argv with empty and spaced words" "$OUT" "a//c d"
	step 10 pad=100000 -- /bin/sh -c 'echo ${#1}' sh
	is "a 100 KB argument" "$OUT" 100000
	step 10 pad=262144 -- /bin/sh -c 'echo ${#1}' sh
	is "a request file over 256 KiB: error 125" "$R" "error 125"

	step 1 -- /bin/sleep 100
	is "timeout 1 s: timeout 0" "$R" "timeout 0"
	num "timeout after about 1 s (ms)" "$MS" '>=' 1000
	num "the timeout ended it, not its 100 s (ms)" "$MS" '<' 50000

	step 10 -- /bin/sh -c 'sleep 1000 & echo $!; exit 0'
	is "background job, stdout held: exit 0" "$R" "exit 0"
	num "answer does not wait for the background job (ms)" "$MS" '<' 9000
	is "N.out at EOF: the background job is dead" "$EOF2" 2
	bg=$OUT
	step 10 -- /bin/sh -c 'setsid sh -c "sleep 1000 &"; (sleep 1000 &) ; (setsid sleep 1000 &); exit 0'
	is "setsid and double fork: exit 0" "$R" "exit 0"
	procs
	is "no process survives its step" "$P" "supervise sh "
	[ -n "$bg" ] && step 10 -- /bin/sh -c "test -e /proc/$bg && echo alive || echo gone"
	is "the backgrounded sleep is gone" "$OUT" gone

	step 10 -- /bin/sh -c 'kill -KILL 1; kill -TERM 1; kill -INT 1; kill -HUP 1; kill -STOP 1; kill -SEGV 1; kill -CHLD 1; echo tried'
	is "step signalling pid 1: exit 0" "$R" "exit 0"
	step 10 -- /bin/sh -c 'echo still here'
	is "supervisor survives SIGKILL, SIGTERM, SIGSTOP from a step" "$OUT" \
	    "still here"
	step 10 -- /bin/sh -c 'cat /proc/1/environ >/dev/null 2>&1 && echo environ; ls /proc/1/fd >/dev/null 2>&1 && echo fd; test -O /proc/1/mem && echo owner; echo done'
	is "a step cannot read /proc/1/environ or /proc/1/fd" "$OUT" "done"

	step 10 -- /bin/sh -c 'echo "00000000000000000000000000000000 exit 0 1" >/sbx/ctl/rsp; exit 4'
	is "fake answer on rsp: the real one still comes" "$R" "exit 4"
	is "the fake one has another nonce: the host drops it" "$FOREIGN" \
	    "00000000000000000000000000000000 exit 0 1"
	step 10 -- /bin/sh -c 'printf garbage-without-newline >/sbx/ctl/rsp; exit 5'
	is "a partial line in front of the answer: the answer on a line of its own" "$R" "exit 5"
	is "the partial line on a line of its own" "$FOREIGN" garbage-without-newline

	step 10 delay=1 -- /bin/sh -c 'head -c 65536 /dev/zero >/sbx/ctl/rsp; exit 6'
	is "rsp filled while the host waits 1 s: the answer waits" "$R" "exit 6"
	# Kept full: a writer of more than it holds, blocked there until
	# the step's end kills it.
	step 1 delay=3 grace=3 -- /bin/sh -c '(head -c 70000 /dev/zero >/sbx/ctl/rsp &); sleep 0.5; exit 6'
	is "rsp full for 3 s: the answer is dropped after 2 s" "$R" "none -"
	step 10 -- /bin/sh -c 'echo after'
	is "rsp full for 3 s: the supervisor goes on" "$OUT" after

	step 10 -- /bin/sh -c 'printf "stop\nrun 1 0123456789abcdef0123456789abcdef\npi" >/sbx/ctl/req; exit 0'
	step 10 -- /bin/sh -c 'echo after'
	is "stop and run written to req by a step do nothing" "$OUT" after

	host send '\nping\n' >/dev/null
	is "ping: pong" "$(host lines 1)" pong
	long=$(printf "%0200d" 0)
	host send "garbage\n${long}ping\n\x00ping\nping \nrun 0 0123456789abcdef0123456789abcdef\nrun 01 0123456789abcdef0123456789abcdef\nrun 1 0123456789abcdef\nkill x\n\xffping\nping\n" >/dev/null
	is "garbage, long and NUL lines on req: ignored, one pong" \
	    "$(host lines 1)" pong
	step 10 -- /bin/true
	is "a step after the garbage" "$R" "exit 0"

	step 30 kill=0.5 -- /bin/sleep 100
	is "kill NONCE: killed 0" "$R" "killed 0"
	num "the kill ended it, not its 100 s (ms)" "$MS" '<' 25000
	step 30 kill=0.7 wrongkill -- /bin/sleep 100
	is "kill with another nonce is ignored" "$R" "killed 0"
	num "the wrong kill did not end it (ms)" "$MS" '>=' 600

	step 3 -- /bin/sh -c 'while :; do (sleep 1000 &) 2>/dev/null; done'
	is "fork loop up to the pids limit: timeout 0" "$R" "timeout 0"
	num "fork loop ended by its timeout (ms)" "$MS" '>=' 3000
	# It exits once the loop has all the pids it can get (64, pid 1
	# included), waiting in the shell alone: it could not fork sleep.
	step 10 -- /bin/sh -c '(while :; do (sleep 1000 &) 2>/dev/null; done) &
	    while set -- /proc/[0-9]*; [ $# -lt 60 ]; do :; done; exit 0'
	is "a fork loop left running at the pids limit: exit 0" "$R" "exit 0"
	diag "fork loop: answer $WALL ms after run, $MS ms of it the step"
	procs
	is "nothing left of the fork loop" "$P" "supervise sh "

	step 10 fifos=none -- /bin/true
	is "no N.out FIFO: error 125, the supervisor's" "$R" "error 125"
	step 10 fifos=closed -- /bin/true
	is "nobody reading N.out: error 125, the supervisor's" "$R" "error 125"
	num "nobody reading N.out: not its 10 s timeout (ms)" "$MS" '<' 10000

	# While a step runs only its own kill counts: the host (or the
	# step) must not start a second one, stop or ping.
	(sleep 0.3 && host send \
	    '\nrun 999 0123456789abcdef0123456789abcdef\nstop\nping\n') &
	step 10 -- /bin/sleep 1
	wait
	is "run, stop, ping during a step: it runs on" "$R" "exit 0"
	is "run, stop, ping during a step: no answer to them" \
	    "$(host lines 1)" ""
	step 10 -- /bin/true
	is "steps still work" "$R" "exit 0"

	host send '\nstop\n' >/dev/null
	ended 10
	is "stop: the container exits 0" "$EXITED" 0
	num "stop: not the idle timeout of 60 s (ms)" "$ELAPSED" '<' 60000
}

case_idle() {
	up idle 2 600 || return
	ended 10
	is "idle 2 s: the container exits 0" "$EXITED" 0
	num "idle 2 s: not before (ms)" "$ELAPSED" '>=' 1000

	up idle2 2 600 || return
	step 10 -- /bin/sleep 3
	is "idle: a step longer than IDLE runs to its end" "$R" "exit 0"
	sleep 1
	is "idle: counted from the step's end" "$(running && echo up)" up
	ended 10
	is "idle: then exits 0" "$EXITED" 0
}

case_lifetime() {
	up life 60 4 || return
	step 60 -- /bin/sh -c 'sleep 1000 & sleep 100'
	is "MAX during a step: lifetime 0" "$R" "lifetime 0"
	ended 10
	is "MAX: then the container exits 0" "$EXITED" 0
}

case_notpid1() {
	up pid1 60 600 || return
	# Not pid 1 (the shell is): it must refuse, before it kills anything.
	step 10 -- /bin/sh -c '/sbx/supervise 60 600; echo "status $?"'
	is "not pid 1: refuses with 125" "$OUT" "status 125"
	like "not pid 1: says why" "$ERR" "pid 1"
	step 10 -- /bin/true
	is "not pid 1: the refusing copy killed nothing" "$R" "exit 0"
	host send '\nstop\n' >/dev/null
	ended 10

	box args 0 600
	ended 10
	is "IDLE 0: setup error 125" "$EXITED" 125
	box args2 60 x
	ended 10
	is "MAX x: setup error 125" "$EXITED" 125
}

case_latency() {
	up bench 60 600 || return
	b=$(host bench 1 20)
	# shellcheck disable=SC2086
	set -- $b
	if [ $# -eq 4 ]; then
		ok "20 steps of /bin/true"
		diag "$RT: /bin/true round trip, run line to answer: median $1 ms (min $2, max $3); with the host's request file and FIFOs: median $4 ms"
	else
		notok "20 steps of /bin/true"
		diag "$b"
	fi
	host send '\nstop\n' >/dev/null
}

# init ARGS...: sbx-supervise as a run's init (-t SECONDS -- ARGV), in a
# container of its own as sbx starts one; sets OUT, ERR, RC and SECS.
init() {
	_in=sbx-sup-$$-$RT-init
	names="$names $_in"
	_t0=$(date +%s)
	timeout 60 "$RT" run --rm --pull=never --name="$_in" --network=none \
	    --user="$CUID:$CUID" --cap-drop=ALL \
	    --security-opt=no-new-privileges --read-only \
	    --ulimit=nofile=1024:1024 --ulimit=nproc=1024:1024 \
	    --pids-limit=64 --memory=256m \
	    --mount="type=bind,source=$D/supervise,target=/sbx/init,ro" \
	    --entrypoint=/sbx/init sbx-sh "$@" >"$D/init.out" 2>"$D/init.err"
	RC=$?
	SECS=$(($(date +%s) - _t0))
	OUT=$(cat "$D/init.out")
	ERR=$(cat "$D/init.err")
}

# A run's init does as tini does, and ends the run at its deadline.
case_init() {
	init -t 30 -- sh -c 'echo out; echo err >&2; exit 7'
	is "init: the script's exit status, output and errors" \
	    "$RC $OUT $ERR" "7 out err"
	init -t 30 -- sh -c 'kill -TERM $$'
	is "init: a script its own signal ends is 128+n" "$RC" 143
	init -t 30 -- /nonexistent
	is "init: a missing program is 127" "$RC" 127
	like "init: and says so" "$ERR" "sbx-supervise: exec /nonexistent:"
	init -t 30 -- /etc/passwd
	is "init: a program that cannot be executed is 126" "$RC" 126
	init -t 30 -- sh -c 'echo $$ $(cut -d" " -f5 /proc/$$/stat)'
	set -- $OUT
	is "init: the script is in a process group of its own" "${2:-}" \
	    "${1:-none}"
	init -t 2 -- sh -c 'sleep 60 & sleep 60'
	is "init: the deadline ends the run, 137" "$RC" 137
	num "init: at the deadline, not the script's end (s)" "$SECS" '<' 30
	init -t 30 -- sh -c 'for i in 1 2 3; do (sleep 0.1 &); done; sleep 1; \
	    grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l'
	is "init: orphans are reaped" "$OUT" 0
	init -t 30 -- sh -c '/sbx/init -t 1 -- true; echo "status $?"'
	is "init: not pid 1, it refuses" "$OUT" "status 125"

	# A signal sent to the container (pid 1) reaches the script.
	_in=sbx-sup-$$-$RT-initsig
	names="$names $_in"
	timeout 60 "$RT" run -d --pull=never --name="$_in" --network=none \
	    --user="$CUID:$CUID" --cap-drop=ALL --read-only \
	    --ulimit=nofile=1024:1024 --ulimit=nproc=1024:1024 \
	    --mount="type=bind,source=$D/supervise,target=/sbx/init,ro" \
	    --entrypoint=/sbx/init sbx-sh -t 30 -- \
	    sh -c 'trap "echo got TERM; exit 3" TERM; echo up; while :; do sleep 0.1; done' \
	    >/dev/null 2>&1
	_i=0
	while [ $_i -lt 50 ] &&
	    ! timeout 30 "$RT" logs "$_in" 2>/dev/null | grep -q up; do
		sleep 0.1
		_i=$((_i + 1))
	done
	timeout 30 "$RT" kill --signal=TERM "$_in" >/dev/null 2>&1
	timeout 30 "$RT" wait "$_in" >"$D/init.wait" 2>&1
	is "init: SIGTERM to the container goes to the script" \
	    "$(tail -n 1 "$D/init.wait") $(timeout 30 "$RT" logs "$_in" 2>&1 | tail -n 1)" \
	    "3 got TERM"
	timeout 30 "$RT" rm -f "$_in" >/dev/null 2>&1
}

for RT in $runtimes; do
	if ! command -v "$RT" >/dev/null 2>&1 ||
	    ! timeout 30 "$RT" image inspect sbx-sh >/dev/null 2>&1; then
		notok "runtime and image sbx-sh present"
		continue
	fi
	case_steps
	case_idle
	case_lifetime
	case_notpid1
	case_init
	case_latency
done
exit "$FAILED"
