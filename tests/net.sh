#!/bin/sh
# allow_hosts, on podman and docker: the container has no network, and
# sbx's proxy on the host reaches the hosts of the list alone.  The one
# server is ours, on the host's 127.0.0.1 (tests/lib/netserver.py),
# reached from the container as ok.test mapped there; nothing else is
# ever contacted, and no container has a network: a name is never
# looked up but in /etc/hosts (localhost).  Checks: urllib and busybox
# wget follow the proxy variables; CONNECT tunnels bytes exactly; a name
# not in the list, and localhost unmapped, get 403 with the reason;
# plain HTTP has its Host checked and its URL made a path; no raw
# socket, DNS or route in the container; net_bytes and net_connections
# bound a flood; a run that times out still reports its connections;
# a session's steps (plain and repl) and a pool's run each have a proxy
# of their own; bad entries and
# network = true are refused (125).
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtime_suite net "$@"
res() { jq -r "select(.event == \"result\") | $1" "$t/out"; }
out() { jq -j 'select(.event == "stdout") | .data' "$t/out"; }
net() { jq -r "select(.event == \"net\") | $1" "$t/out"; }
net_server
ok "the test server listens on 127.0.0.1:$web and :$echo"

mkdir "$t/ws"
cat >"$t/ws/get.py" <<'PY'
import os, sys, urllib.request
print(os.environ["HTTP_PROXY"], os.environ["https_proxy"],
      repr(os.environ["NO_PROXY"]))
for url in sys.argv[1:]:
    try:
        r = urllib.request.urlopen(url, timeout=5)
        print(r.status, r.headers["X-Host-Seen"], r.read().decode().strip())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode().strip())
PY
cat >"$t/ws/stdin.py" <<'PY'
import sys
print(sys.stdin.read().strip())
PY
cat >"$t/ws/takeport.py" <<'PY'
import os, signal, socket
for p in os.listdir("/proc"):
    if p.isdigit() and int(p) > 1 and int(p) != os.getpid():
        try:
            if open("/proc/%s/cmdline" % p, "rb").read().startswith(b"/sbx/"):
                os.kill(int(p), signal.SIGKILL)
        except OSError:
            pass
held = socket.socket()
try:
    held.bind(("127.0.0.1", 3128))
    held.listen()
    print("bound")
except OSError as e:
    print("bind:", e.strerror)
PY
cat >"$t/ws/tunnel.py" <<'PY'
import hashlib, os, socket, sys
host, n = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (host.encode(), host.encode()))
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(1)
print(head.split(b"\r\n")[0].decode())
data = os.urandom(n)
got = b""
s.sendall(data)
s.shutdown(socket.SHUT_WR)
while True:
    x = s.recv(65536)
    if not x:
        break
    got += x
print(len(got), hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest())
PY
cat >"$t/ws/raw.py" <<'PY'
import socket, sys
head = sys.argv[1].encode().decode("unicode_escape").encode()
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(head)
got = b""
while True:
    x = s.recv(65536)
    if not x:
        break
    got += x
print(got.split(b"\r\n")[0].decode())
for line in got.split(b"\r\n"):
    if line.startswith(b"X-"):
        print(line.decode())
print(got.split(b"\r\n\r\n", 1)[-1].decode().strip())
PY
cat >"$t/ws/nonet.py" <<'PY'
import socket
for what, f in (
        ("route", lambda: socket.create_connection(("192.0.2.1", 80), timeout=2)),
        ("raw", lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)),
        ("dns", lambda: socket.getaddrinfo("ok.test", 80)),
        ("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("192.0.2.1", 53)))):
    try:
        f()
        print(what, "WORKED")
    except OSError as e:
        print(what, "refused")
PY
cat >"$t/ws/hold.py" <<'PY'
import socket, sys, time
socks = []
for i in range(int(sys.argv[2])):
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(b"CONNECT %s HTTP/1.1\r\n\r\n" % sys.argv[1].encode())
    print(s.recv(200).split(b"\r\n")[0].decode(), flush=True)
    socks.append(s)
time.sleep(float(sys.argv[3]))
PY
cat >"$t/ws/wget.sh" <<'SH'
wget -q -O - "$1"
SH
cat >"$t/ws/post.py" <<'PY'
import sys, urllib.request
data = b"\x00\x01binary\x00" * 100
print(urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=data),
                             timeout=5).read().decode().strip())
PY
cat >"$t/ws/heads.py" <<'PY'
# Requests with 8000 bytes of headers each, to spend net_bytes on heads.
import socket, sys
host, n = sys.argv[1], int(sys.argv[2])
codes = {}
for i in range(n):
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(b"GET /index.txt HTTP/1.1\r\nHost: %s\r\nX-Pad: %s\r\n\r\n"
              % (host.encode(), b"p" * 8000))
    got = b""
    while True:
        x = s.recv(65536)
        if not x:
            break
        got += x
    code = got.split(b" ", 2)[1].decode() if got else "none"
    codes[code] = codes.get(code, 0) + 1
print(sorted(codes.items()))
PY
cat >"$t/ws/many.py" <<'PY'
# Connections one after another, each refused, until none are taken.
import socket
n = 0
for i in range(1100):
    try:
        s = socket.create_connection(("127.0.0.1", 3128))
        s.sendall(b"CONNECT denied.test:1 HTTP/1.1\r\n\r\n")
        if not s.recv(100):
            break
        n += 1
    except OSError:
        break
print(n)
PY
cat >"$t/ws/halfclose.py" <<'PY'
# A tunnel straight through the proxy's socket, closed by the script
# while the host says nothing: the proxy's end is hung up.
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect("/sbx/proxy")
s.sendall(b"CONNECT %s HTTP/1.1\r\n\r\n" % sys.argv[1].encode())
print(s.recv(100).split(b"\r\n")[0].decode(), flush=True)
s.close()
time.sleep(3)
PY
ok_host="ok.test:$web=127.0.0.1"
run() { "$SBX" -c "$conf" -r "$rt" -t net -d "$t/ws" "$@" >"$t/out" 2>"$t/err"; }

for rt in $runtimes; do
	RT=$rt
	run --allow-host "$ok_host" get.py "http://ok.test:$web/index.txt" \
	    "http://denied.test:$web/x"
	is "urllib through the proxy: status 0" "$(res .status)" 0 || show
	is "urllib: the proxy variables, NO_PROXY empty; the page; a 403 with its reason" \
	    "$(out)" "http://127.0.0.1:3128 http://127.0.0.1:3128 ''
200 ok.test:$web hello-from-host
403 sbx: not in allow_hosts"
	is "net events, one a connection: the denied one, the allowed one" \
	    "$(net '[.method, .host, .port, .allowed, .address, .status, .reason] | @csv' | sort)" \
	    "\"GET\",\"denied.test\",$web,false,,403,\"not in allow_hosts\"
\"GET\",\"ok.test\",$web,true,\"127.0.0.1\",,"
	num "net event: bytes from the host" "$(net 'select(.allowed) | .bytes_in')" '>' 100
	num "net event: the request's bytes, sent on" "$(net 'select(.allowed) | .bytes_out')" '>' 30
	is "net events come before the result" \
	    "$(jq -r .event "$t/out" | grep -n . | grep -E 'net|result' | tail -1 | cut -d: -f2)" result

	"$SBX" --human -c "$conf" -r "$rt" -t net -d "$t/ws" --allow-host "$ok_host" \
	    get.py "http://denied.test:$web/x" >"$t/out" 2>"$t/err"
	like "--human: a refused connection, why, on stderr" "$(cat "$t/err")" \
	    "sbx: net: denied.test:$web: not in allow_hosts"

	run --allow-host "$ok_host" wget.sh "http://ok.test:$web/index.txt"
	is "busybox wget follows http_proxy" "$(out)" hello-from-host || show
	mkdir -p "$t/batch/c1"
	printf 'wget -q -O - http://ok.test:%s/index.txt\n' "$web" \
	    >"$t/batch/c1/fetch.sh"
	(cd "$t/batch" && "$SBX" batch -j 1 --allow-host "$ok_host" -c "$conf" \
	    -r "$rt" -t net fetch.sh c1 >"$t/out" 2>"$t/err" </dev/null)
	is "sbx batch --allow-host: each case has the proxy" \
	    "$(out):$(jq -r 'select(.event == "batch") | .ok' "$t/out")" \
	    "hello-from-host:1" || show

	run --allow-host "ok.test:$echo=127.0.0.1" tunnel.py "ok.test:$echo" 400000
	is "CONNECT: 200, and 400 kB back byte for byte" "$(out)" \
	    "HTTP/1.1 200 Connection established
400000 True" || show
	is "CONNECT: its event counts both ways" \
	    "$(net '[.method, .status, .bytes_out, .bytes_in] | @csv')" \
	    '"CONNECT",200,400000,400000'

	run --allow-host "localhost:$web" get.py "http://localhost:$web/index.txt"
	like "localhost, not mapped: 403, naming the address" "$(out)" \
	    "403 sbx: localhost is 127.0.0.1, a loopback, private or link-local address: map it as localhost:$web=ADDR"
	is "localhost, not mapped: the event says refused" \
	    "$(net '[.allowed, .status] | @csv')" "false,403"

	run --allow-host "$ok_host" get.py "http://ok.test:$((web + 1))/"
	is "the right name on another port: 403" "$(out | tail -1)" "403 sbx: not in allow_hosts"

	run --allow-host "$ok_host" raw.py \
	    "GET /index.txt HTTP/1.0\r\nHost: ok.test:$web\r\n\r\n"
	is "plain HTTP with a path and Host: passed on" "$(out)" "HTTP/1.0 200 OK
X-Host-Seen: ok.test:$web
X-Path-Seen: /index.txt
X-Conn-Seen: close
hello-from-host" || show
	run --allow-host "$ok_host" raw.py \
	    "GET http://ok.test:$web/index.txt HTTP/1.0\r\nHost: ok.test:$web\r\n\r\n"
	like "plain HTTP with a URL: the host gets the path alone" "$(out)" \
	    "X-Path-Seen: /index.txt"
	run --allow-host "$ok_host" raw.py \
	    "GET http://ok.test:$web/index.txt HTTP/1.0\r\nHost: evil.test\r\n\r\n"
	is "a Host header that is not the URL's host: 400" "$(out)" \
	    "HTTP/1.1 400 Bad Request
sbx: the Host header is not the URL's host"
	run --allow-host "$ok_host" raw.py "SSH-2.0-OpenSSH\r\n\r\n"
	is "not HTTP: 400" "$(out | head -1)" "HTTP/1.1 400 Bad Request"
	run --allow-host "$ok_host" raw.py \
	    "GET http://ok.test:$web HTTP/1.0\r\nHost: ok.test:$web\r\n\r\n"
	like "a URL with no path: the host gets /" "$(out)" "X-Path-Seen: /"
	like "a plain request: the host gets Connection: close, ours" "$(out)" \
	    "X-Conn-Seen: close"
	for bad in "Host: ok.test:$web\r\nHost: evil.test" \
	    "X: y\nHost: ok.test:$web" "Host : ok.test:$web" "Host: ok.test:1" \
	    "X-No-Host: ok.test"; do
		run --allow-host "$ok_host" raw.py \
		    "GET http://ok.test:$web/ HTTP/1.1\r\n$bad\r\n\r\n"
		is "a head that hosts could read apart ($bad): 400" \
		    "$(out | head -1)" "HTTP/1.1 400 Bad Request"
	done
	run --allow-host "$ok_host" post.py "http://ok.test:$web/up"
	is "a body with NUL bytes, sent with the head: passed on" "$(out)" \
	    "got 900 bytes, 200 NUL" || show

	run --allow-host "$ok_host" nonet.py
	is "in the container: no route, no raw socket, no DNS, no UDP" "$(out)" \
	    "route refused
raw refused
dns refused
udp refused" || show

	run --allow-host "$ok_host" get.py "http://ok.test:$web/big/8000000"
	is "net_bytes 1m: a flood is cut" "$(net .reason)" "net_bytes reached" || show
	num "net_bytes 1m: what passed" "$(net .bytes_in)" '<=' $((1048576 + 16384))

	run --allow-host "$ok_host" heads.py "ok.test:$web" 300
	num "net_bytes 1m: heads count too (bytes out, in all)" \
	    "$(jq -s '[.[] | select(.event == "net") | .bytes_out] | add' "$t/out")" \
	    '<=' 1048576
	like "net_bytes 1m: past it, 503" "$(out)" "('503', "

	run --allow-host "$ok_host" many.py
	is "1000 connections a run, a 503, then no more" "$(out)" 1001 || show
	is "1000 connections a run: 1001 events, the last says so" \
	    "$(net .reason | wc -l | tr -d ' ') $(net .reason | tail -1)" \
	    "1001 1000 connections in this run: no more"

	# The proxy's CPU is sbx's children's: a hang-up must not spin it.
	sh -c '"$@" >"$0" 2>/dev/null; times' "$t/out" "$SBX" -c "$conf" -r "$rt" \
	    -t net -d "$t/ws" --allow-host "ok.test:$sink=127.0.0.1" halfclose.py \
	    "ok.test:$sink" >"$t/times"
	is "a tunnel its script closed: 200" "$(out)" "HTTP/1.1 200 Connection established"
	num "a tunnel its script closed, 3 s on: the proxy did not spin (CPU s)" \
	    "$(tail -1 "$t/times" | awk '{ split($1, u, "m"); split($2, s, "m");
	    print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' | tr -d s)" '<' 1.5

	run --allow-host "ok.test:$echo=127.0.0.1" hold.py "ok.test:$echo" 3 0.5
	is "net_connections 2: the third gets 503" "$(out)" \
	    "HTTP/1.1 200 Connection established
HTTP/1.1 200 Connection established
HTTP/1.1 503 Service Unavailable" || show
	is "net_connections 2: three events" \
	    "$(net '.status' | sort | tr '\n' ' ')" "200 200 503 "

	"$SBX" -c "$conf" -r "$rt" -t net -T 2 -d "$t/ws" \
	    --allow-host "ok.test:$echo=127.0.0.1" hold.py "ok.test:$echo" 1 60 \
	    >"$t/out" 2>"$t/err"
	is "a run that times out with a tunnel open: 124" "$?" 124
	is "its tunnel's event, before the result" \
	    "$(jq -r 'select(.event == "net" or .event == "result") | .event' "$t/out" | tr '\n' ' ')" \
	    "net result "

	# A session's steps and a pool's run: each step its own proxy,
	# its own events.
	want="http://127.0.0.1:3128 http://127.0.0.1:3128 ''
200 ok.test:$web hello-from-host
403 sbx: not in allow_hosts"
	for how in "" --repl; do
		timeout 120 "$SBX" start -c "$conf" -r "$rt" -t net $how -e py \
		    --allow-host "$ok_host" -d "$t/ws" >"$t/out" 2>"$t/err" </dev/null
		id=$(jq -r 'select(.event == "session") | .id' "$t/out")
		ids="$ids $id"
		for i in 1 2; do
			timeout 60 "$SBX" exec -c "$conf" "$id" "$t/ws/get.py" \
			    "http://ok.test:$web/index.txt" "http://denied.test:$web/x" \
			    >"$t/out" 2>"$t/err"
			is "a session's step $i${how:+ ($how)}: the page, and a 403" \
			    "$(out)" "$want" || show
			is "a session's step $i${how:+ ($how)}: its two net events" \
			    "$(net '[.host, .allowed] | @csv' | sort | tr '\n' ' ')" \
			    "\"denied.test\",false \"ok.test\",true "
		done
		# Its stdin ends as it does without a proxy: the proxy holds
		# none of the step's FIFOs.
		echo piped | timeout 20 "$SBX" exec -c "$conf" "$id" \
		    "$t/ws/stdin.py" >"$t/out" 2>"$t/err"
		is "a session's step${how:+ ($how)} reads its stdin to its end" \
		    "$(res .status):$(out)" "0:piped" || show
		# A step that kills its forwarder and would take the port
		# for the steps after it (a repl's socket lives on): the
		# port is the supervisor's, for the session's life.
		timeout 20 "$SBX" exec -c "$conf" "$id" "$t/ws/takeport.py" \
		    >"$t/out" 2>"$t/err"
		is "a step cannot take the proxy's port${how:+ ($how)}" "$(out)" \
		    "bind: Address already in use" || show
		timeout 60 "$SBX" exec -c "$conf" "$id" "$t/ws/get.py" \
		    "http://ok.test:$web/index.txt" "http://denied.test:$web/x" \
		    >"$t/out" 2>"$t/err"
		is "and the next step has the proxy${how:+ ($how)}" "$(out)" "$want" ||
		    show
		"$SBX" stop "$id" >/dev/null 2>&1
	done
	pools="$pools net$$"
	timeout 120 "$SBX" pool start "net$$" -c "$conf" -r "$rt" -t net \
	    --allow-host "$ok_host" -e py -n 1 >"$t/out" 2>"$t/err" </dev/null
	pool_wait "net$$" 1
	timeout 60 "$SBX" -c "$conf" -P "net$$" -d "$t/ws" get.py \
	    "http://ok.test:$web/index.txt" "http://denied.test:$web/x" \
	    >"$t/out" 2>"$t/err"
	is "a pooled run: in the pool's container" \
	    "$(jq -r 'select(.event == "start") | .pooled' "$t/out")" true
	is "a pooled run: the page, and a 403" "$(out)" "$want" || show
	is "a pooled run: its net events" "$(net .allowed | sort | tr '\n' ' ')" \
	    "false true "
	"$SBX" pool stop "net$$" >/dev/null 2>&1
	is "nothing left in TMPDIR" "$(ls -A "$TMPDIR")" ""
done


"$SBX" -c "$conf" -D --allow-host 'bad host!' -d "$t/ws" get.py >"$t/out" 2>"$t/err"
is "a bad entry: 125" "$?" 125
is "a bad entry: one line naming it" "$(cat "$t/err")" \
    "sbx: --allow-host: allow_hosts: invalid value 'bad host!'"
"$SBX" -c "$conf" -D -n --allow-host "$ok_host" -d "$t/ws" get.py >"$t/out" 2>"$t/err"
is "with network on: 125" "$?" 125
like "with network on: says why" "$(cat "$t/err")" "allow_hosts: with network = true"
"$SBX" start -c "$conf" -D --allow-host "$ok_host" >"$t/out" 2>"$t/err"
is "a session's dry run: 0" "$?" 0
is "a session's dry run: its supervisor forwards (-n), the proxy variables set" \
    "$(jq -r 'select(.event == "argv") | [.argv[-1], (.argv |
    index("--env=HTTP_PROXY=http://127.0.0.1:3128") != null)] | @csv' "$t/out")" \
    '"-n",true'
"$SBX" -c "$conf" -P nopool --allow-host "$ok_host" -d "$t/ws" get.py >"$t/out" 2>"$t/err"
is "-P with --allow-host: 125" "$?" 125
exit "$FAILED"
