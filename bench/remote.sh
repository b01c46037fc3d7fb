#!/bin/sh
# What a remote engine costs, side by side in one run, for podman and
# docker: each engine is started here a second time, in a mount
# namespace of its own (tests/lib/engines.sh: a podman API service on a
# unix socket, a second dockerd on 127.0.0.1), and the same Python
# script is run N times in turn
#   raw:    RUNTIME run --rm sbx-python python3 -c 'print(1)', local
#           and remote;
#   sbx:    sbx -w ro and -w rw on a small tree, local and remote;
#   tree:   sbx -w rw on a tree of 1000 files, 10 MB, local and remote;
# so that drift lands on all alike.  Prints the medians in ms, remote
# over local, and where a remote sbx run's time goes: the result's
# remote member (create, copy_in, copy_out, remove) and the attached
# run itself (duration).
# Usage: bench/remote.sh [N]   (from the top of the tree, as root, after
# make; default 10)
set -eu
cd "$(dirname "$0")/.."
n=${1:-10}
make -s sbx sbx-supervise
. tests/lib/engines.sh
t=$(mktemp -d)
tmp=$(mktemp -d)
edir=$(mktemp -d /var/tmp/sbx-bench.XXXXXX)
trap 'engine_stop podman "$edir/podman" 2>/dev/null
engine_stop docker "$edir/docker" 2>/dev/null
rm -rf "$t" "$tmp" "$edir"' EXIT
export TMPDIR="$tmp" SBX_SUPERVISE="${SBX_SUPERVISE:-$PWD/sbx-supervise}"
unset CONTAINER_HOST DOCKER_HOST
mkdir "$t/small" "$t/tree"
echo 'print("ok")' >"$t/small/s.py"
cp "$t/small/s.py" "$t/tree/s.py"
i=0
while [ $i -lt 1000 ]; do
	mkdir -p "$t/tree/d$((i / 100))"
	head -c 10000 /dev/urandom >"$t/tree/d$((i / 100))/f$i"
	i=$((i + 1))
done
sbx=$PWD/sbx

ms() { date +%s%N; }
# timed FILE cmd...: appends the command's wall time in us to FILE
timed() {
	f=$1
	shift
	a=$(ms)
	"$@" >"$t/out" 2>"$t/err" || {
		echo "bench: failed: $*" >&2
		cat "$t/err" "$t/out" >&2
		exit 1
	}
	echo $(( ($(ms) - a) / 1000 )) >>"$f"
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2);
	printf "%.1f", NR % 2 ? v[m] / 1000 : (v[m] + v[m + 1]) / 2000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
row() { printf '%-7s %-28s %10s %10s %8s\n' "$@"; }
# phases FILE: the remote member's seconds of the last run, appended in
# us to FILE.create, FILE.copy_in, ... FILE.duration
phases() {
	for k in create copy_in copy_out remove; do
		jq -r "select(.event == \"result\") | .remote.$k * 1000000 |
		    floor" "$t/out" >>"$1.$k"
	done
	jq -r 'select(.event == "result") | .duration * 1000000 | floor' \
	    "$t/out" >>"$1.duration"
}
raw() { "$rt" run --rm --pull=never --network=none sbx-python \
    python3 -c 'print(1)'; }
run() { "$sbx" --json -r "$rt" -t default -d "$t/$1" -w "$2" s.py; }

row engine run local remote ratio
for rt in podman docker; do
	engine_start "$rt" "$edir/$rt" >/dev/null
	case $rt in
	podman) var=CONTAINER_HOST ;;
	docker) var=DOCKER_HOST ;;
	esac
	d=$t/$rt
	mkdir "$d"
	i=0
	while [ $i -lt "$n" ]; do
		timed "$d/raw.l" raw
		timed "$d/ro.l" run small ro
		timed "$d/rw.l" run small rw
		timed "$d/tree.l" run tree rw
		export "$var=$ENGINE_URL"
		timed "$d/raw.r" raw
		timed "$d/ro.r" run small ro
		phases "$d/ro"
		timed "$d/rw.r" run small rw
		timed "$d/tree.r" run tree rw
		phases "$d/tree"
		unset "$var"
		i=$((i + 1))
	done
	for k in raw ro rw tree; do
		case $k in
		raw) what="raw run --rm" ;;
		ro) what="sbx -w ro, 1 file" ;;
		rw) what="sbx -w rw, 1 file" ;;
		tree) what="sbx -w rw, 1000 files 10 MB" ;;
		esac
		l=$(median "$d/$k.l")
		r=$(median "$d/$k.r")
		row "$rt" "$what" "$l" "$r" "$(ratio "$r" "$l")"
	done
	for k in ro tree; do
		printf '%-7s remote %-5s: create %s, copy_in %s, run %s, copy_out %s, remove %s ms\n' \
		    "$rt" "$k" "$(median "$d/$k.create")" "$(median "$d/$k.copy_in")" \
		    "$(median "$d/$k.duration")" "$(median "$d/$k.copy_out")" \
		    "$(median "$d/$k.remove")"
	done
	engine_stop "$rt" "$edir/$rt"
done
