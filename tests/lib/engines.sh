# tests/lib/engines.sh: "remote" container engines for the suites that
# test sbx against one: a second podman service or dockerd.  POSIX sh,
# sourced; needs root.
#
# The engine keeps its state in DIR and runs in mount and pid namespaces
# of its own.  Fresh tmpfs on /tmp, /var/tmp (where podman's load
# unpacks), /dev/shm (podman's locks), /run/containerd (dockerd then
# starts a containerd of its own) and /run/runc hide the host's
# temporary files (what sbx stages in TMPDIR) and runtime state from
# it; its mounts stay in its namespace; when it ends, the kernel kills
# all it started.  A DIR on a tmpfs halves the start.
#
#   engine_start podman|docker DIR
#	starts one in DIR (new or empty, its parent there, not under
#	/tmp), loads into it $ENGINE_IMAGES (default "sbx-python sbx-sh")
#	from the local engine of that name, then exports ENGINE_URL and
#	prints "ENGINE_URL=...": unix://DIR/podman.sock, or
#	tcp://127.0.0.1:PORT, a free port.  A failure: one line on
#	stderr, status 1, nothing left.
#   engine_stop podman|docker DIR
#	removes its containers, stops it (SIGTERM, 20 s later SIGKILL)
#	and removes DIR; no DIR, nothing to do.
# Clients: podman --url "$ENGINE_URL", or CONTAINER_HOST=$ENGINE_URL
# podman (remote by that alone); docker -H "$ENGINE_URL", or
# DOCKER_HOST.  The caller's CONTAINER_HOST and DOCKER_HOST are ignored.

# _engine_kind KIND: _ef, the client's option for the engine's address.
_engine_kind() {
	case $1 in
	podman) _ef=--url ;;
	docker) _ef=-H ;;
	*) echo "engine: $1: neither podman nor docker" >&2; return 1 ;;
	esac
}

# _engine_alive PID: it runs (a zombie does not).
_engine_alive() {
	case $(ps -o stat= -p "$1") in
	'' | Z*) return 1 ;;
	esac
}

# _engine_ns DIR CMD [ARG...]: runs CMD in the namespaces, TMPDIR in
# their /tmp, its output in DIR/log.  Their init, a sh whose pid goes
# to DIR/init.pid, reaps orphans (conmons) and passes SIGTERM on.  DIR
# is bound aside while the tmpfs go on, so it may be under /var/tmp.
_engine_ns() {
	# shellcheck disable=SC2016
	env -u CONTAINER_HOST -u DOCKER_HOST setsid unshare --mount \
	    --propagation private --pid --fork --kill-child --mount-proc \
	    sh -c 'd=$1
shift
mount -t tmpfs -o mode=1777 tmpfs /tmp && mkdir /tmp/.d &&
    mount --bind "$d" /tmp/.d || exit 1
for p in /var/tmp /dev/shm /run/containerd /run/runc; do
	[ ! -d $p ] || mount -t tmpfs -o mode="$(stat -c %a $p)" tmpfs $p ||
	    exit 1
done
mkdir -p "$d" && mount --move /tmp/.d "$d" && rmdir /tmp/.d &&
    mkdir -m 700 /tmp/engine || exit 1
TMPDIR=/tmp/engine "$@" &
p=$!
trap "kill -TERM $p" TERM
wait $p
wait $p' sh "$@" >"$1/log" 2>&1 </dev/null &
	echo $! >"$1/unshare.pid"
	_en=0
	until _ep=$(pgrep -P $!); do
		_engine_alive $! && [ $_en -lt 50 ] || return 1
		_en=$((_en + 1))
		sleep 0.1
	done
	echo "$_ep" >"$1/init.pid"
}

# _engine_down DIR: ends the namespaces' init (SIGTERM, then SIGKILL),
# and so all in them, then removes DIR.  Containers so killed leave
# their (empty) cgroups: engine_stop removes the containers first.
_engine_down() {
	if _ep=$(cat "$1/init.pid" 2>/dev/null ||
	    cat "$1/unshare.pid" 2>/dev/null); then
		kill -TERM "$_ep" 2>/dev/null
		_en=0
		while _engine_alive "$_ep" && [ $_en -lt 300 ]; do
			[ $_en = 200 ] && kill -KILL "$_ep"
			_en=$((_en + 1))
			sleep 0.1
		done
		wait "$(cat "$1/unshare.pid")" 2>/dev/null
	fi
	rm -rf "$1"
}

# _engine_fail DIR TEXT...: TEXT as one line on stderr, DIR down.
_engine_fail() {
	printf 'engine_start: %.300s\n' \
	    "$(shift; printf '%s' "$*" | tr '\n' ' ')" >&2
	_engine_down "$1"
	return 1
}

engine_start() {
	_engine_kind "$1" || return 1
	_ed=$(cd "$(dirname "$2")" 2>/dev/null && pwd -P) &&
	    _ed=${_ed%/}/$(basename "$2")
	case $_ed in
	/tmp | /tmp/*) _ed= ;;
	esac
	if [ -z "$_ed" ] || ! mkdir -p "$_ed" || [ -n "$(ls -A "$_ed")" ]; then
		echo "engine_start: $2: not a new or empty directory" \
		    "outside /tmp" >&2
		return 1
	fi
	echo "$1" >"$_ed/engine"
	if [ "$1" = podman ]; then
		_eu=unix://$_ed/podman.sock
		_engine_ns "$_ed" podman --root "$_ed/root" \
		    --runroot "$_ed/runroot" --tmpdir /tmp/libpod \
		    --runtime runc --cgroup-manager cgroupfs \
		    --events-backend file --storage-driver overlay \
		    system service --time=0 "$_eu"
	else
		_eu=tcp://127.0.0.1:$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
		# Its own config, not /etc/docker/daemon.json; no network;
		# gVisor's runsc as setup-debian.sh registers it.
		echo '{"runtimes": {"runsc": {"path": "/usr/bin/runsc",
"runtimeArgs": ["--network=none", "--host-fifo=open", "--host-uds=open"]}}}' \
		    >"$_ed/daemon.json"
		_engine_ns "$_ed" dockerd --config-file "$_ed/daemon.json" \
		    --host "$_eu" --data-root "$_ed/data" \
		    --exec-root "$_ed/exec" --pidfile "$_ed/docker.pid" \
		    --bridge=none --iptables=false --ip6tables=false \
		    --ip-masq=false --ip-forward=false
	fi || { _engine_fail "$_ed" "$1 did not start:" \
	    "$(tail -n 1 "$_ed/log")"; return; }
	_en=0
	_ep=$(cat "$_ed/init.pid")
	until timeout 5 "$1" "$_ef" "$_eu" version >/dev/null 2>&1; do
		if [ $_en = 60 ] || ! _engine_alive "$_ep"; then
			_engine_fail "$_ed" "$1 does not answer on $_eu:" \
			    "$(tail -n 1 "$_ed/log")"
			return
		fi
		_en=$((_en + 1))
		sleep 0.5
	done
	_em=
	[ "$1" = podman ] && _em=-m
	# shellcheck disable=SC2086
	_el=$(env -u CONTAINER_HOST -u DOCKER_HOST "$1" save $_em \
	    ${ENGINE_IMAGES:-sbx-python sbx-sh} 2>"$_ed/save.err" |
	    timeout 300 "$1" "$_ef" "$_eu" load 2>&1) || {
		_engine_fail "$_ed" "loading the images:" \
		    "$(cat "$_ed/save.err")" "$_el"
		return
	}
	echo "$_eu" >"$_ed/url"
	ENGINE_URL=$_eu
	export ENGINE_URL
	echo "ENGINE_URL=$ENGINE_URL"
}

engine_stop() {
	_engine_kind "$1" || return 1
	[ -e "$2" ] || return 0
	if ! _ed=$(cd "$2" && pwd -P) ||
	    [ "$(cat "$_ed/engine" 2>/dev/null)" != "$1" ]; then
		echo "engine_stop: $2: no $1 engine there" >&2
		return 1
	fi
	# podman's at once too, not after 10 s.
	_et=
	[ "$1" = podman ] && _et=--time=0
	if _eu=$(cat "$_ed/url" 2>/dev/null) &&
	    _el=$(timeout 30 "$1" "$_ef" "$_eu" ps -aq) && [ -n "$_el" ]; then
		# shellcheck disable=SC2086
		timeout 60 "$1" "$_ef" "$_eu" rm -f $_et $_el >/dev/null
	fi
	_engine_down "$_ed"
}
