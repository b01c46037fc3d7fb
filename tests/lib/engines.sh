# tests/lib/engines.sh: "remote" container engines, a second podman
# service or dockerd, for the suites that test sbx against one.  POSIX
# sh, sourced; needs root.
#
# The engine keeps all its state in DIR and runs in mount and pid
# namespaces of its own: fresh tmpfs on /tmp, /var/tmp, /dev/shm,
# /run/containerd and /run/runc hide the host's temporary files (what
# sbx stages in TMPDIR) and runtime state from it, its mounts stay in
# its namespace, and when it ends the kernel kills all it started.
#
#   engine_start podman|docker DIR
#	starts one in DIR (made; must be new or empty, and not under
#	/tmp), loads into it the images $ENGINE_IMAGES (default
#	"sbx-python sbx-sh") of the local engine of that name, then
#	exports ENGINE_URL, and prints "ENGINE_URL=...":
#	unix://DIR/podman.sock, or tcp://127.0.0.1:PORT, a free port.
#	A failure: one line on stderr, status 1, nothing left.
#   engine_stop podman|docker DIR
#	removes its containers, stops it (SIGTERM, 20 s later SIGKILL),
#	removes DIR.
# Clients: podman --url "$ENGINE_URL" (or CONTAINER_HOST=$ENGINE_URL
# podman --remote), docker -H "$ENGINE_URL" (or DOCKER_HOST).

# _engine_ns DIR CMD [ARG...]: runs CMD in the namespaces, TMPDIR in
# their /tmp, its output in DIR/log.  Their init, a sh whose pid goes
# to DIR/init.pid, reaps orphans (conmons) and passes SIGTERM on.  DIR
# is bound aside while the tmpfs go on, so it may be under /var/tmp.
_engine_ns() {
	setsid unshare --mount --propagation private --pid --fork \
	    --kill-child --mount-proc sh -c 'd=$1
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
		[ $_en = 50 ] && return 1
		_en=$((_en + 1))
		sleep 0.1
	done
	echo "$_ep" >"$1/init.pid"
}

# _engine_down DIR: ends the namespaces' init (SIGTERM, then SIGKILL),
# and so all in them, then removes DIR.
_engine_down() {
	if [ -s "$1/init.pid" ]; then
		_ep=$(cat "$1/init.pid")
		kill -TERM "$_ep" 2>/dev/null
		_en=0
		while kill -0 "$_ep" 2>/dev/null; do
			[ $_en = 200 ] && kill -KILL "$_ep"
			_en=$((_en + 1))
			sleep 0.1
		done
		wait "$(cat "$1/unshare.pid")" 2>/dev/null
	fi
	rm -rf "$1"
}

# _engine_fail DIR TEXT: TEXT as one line on stderr, DIR down, status 1.
_engine_fail() {
	printf 'engine_start: %s\n' "$(printf '%s' "$2" | tr '\n' ' ' |
	    cut -c 1-300)" >&2
	_engine_down "$1"
	return 1
}

engine_start() {
	case $1 in
	podman) _ef=--url ;;
	docker) _ef=-H ;;
	*) echo "engine_start: $1: neither podman nor docker" >&2; return 1 ;;
	esac
	if ! mkdir -p "$2" || [ -n "$(ls -A "$2")" ]; then
		echo "engine_start: $2: cannot be made, or not empty" >&2
		return 1
	fi
	_ed=$(cd "$2" && pwd -P) || return 1
	case $_ed in
	/tmp | /tmp/*)
		rmdir "$_ed"
		echo "engine_start: $2: under /tmp, which it cannot see" >&2
		return 1
		;;
	esac
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
		# Its own config, not /etc/docker/daemon.json; no network.
		echo '{}' >"$_ed/daemon.json"
		_engine_ns "$_ed" dockerd --config-file "$_ed/daemon.json" \
		    --host "$_eu" --data-root "$_ed/data" \
		    --exec-root "$_ed/exec" --pidfile "$_ed/docker.pid" \
		    --bridge=none --iptables=false --ip6tables=false \
		    --ip-masq=false --ip-forward=false
	fi || { _engine_fail "$_ed" "$1 did not start"; return; }
	_en=0
	until timeout 5 "$1" "$_ef" "$_eu" version >/dev/null 2>&1; do
		if [ $_en = 60 ] ||
		    ! kill -0 "$(cat "$_ed/init.pid")" 2>/dev/null; then
			_engine_fail "$_ed" "$1 does not answer on $_eu: $(tail \
			    -n 1 "$_ed/log")"
			return
		fi
		_en=$((_en + 1))
		sleep 0.5
	done
	_em=
	[ "$1" = podman ] && _em=-m
	# shellcheck disable=SC2086
	_el=$("$1" save $_em ${ENGINE_IMAGES:-sbx-python sbx-sh} |
	    timeout 300 "$1" "$_ef" "$_eu" load 2>&1) ||
	    { _engine_fail "$_ed" "loading the images: $_el"; return; }
	echo "$_eu" >"$_ed/url"
	ENGINE_URL=$_eu
	export ENGINE_URL
	echo "ENGINE_URL=$ENGINE_URL"
}

engine_stop() {
	case $1 in
	podman) _ef=--url ;;
	docker) _ef=-H ;;
	esac
	if ! _ed=$(cd "$2" 2>/dev/null && pwd -P) ||
	    [ "$(cat "$_ed/engine" 2>/dev/null)" != "$1" ]; then
		echo "engine_stop: $2: no $1 engine there" >&2
		return 1
	fi
	# Removed first, so that their cgroups go too.
	if _eu=$(cat "$_ed/url" 2>/dev/null); then
		_el=$(timeout 30 "$1" "$_ef" "$_eu" ps -aq 2>/dev/null)
		# shellcheck disable=SC2086
		[ -z "$_el" ] || timeout 60 "$1" "$_ef" "$_eu" rm -f $_el \
		    >/dev/null 2>&1
	fi
	_engine_down "$_ed"
}
