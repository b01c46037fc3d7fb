#!/bin/sh
# What gVisor costs, side by side in one run, for podman and docker:
#   a cold `sbx -t gvisor` run of a Python script that prints a line
#   against the same under `sbx -t hardened` (runc), and the raw
#   `RUNTIME run --rm --network=none sbx-python python3 -c 'print(1)'`
#   under runc and under runsc, as medians of N runs taken in turn
#   (hardened, gvisor, raw runc, raw runsc) so that drift lands on all
#   alike; then, median of 3, a CPU-bound loop (sum(range(10**7)), no
#   system calls) and a system-call-bound one (20000 os.stat("/")), each
#   timed from outside (sbx's wall time) and inside (the script's own
#   clock, start-up left out), under hardened and under gvisor at the
#   same 0.5 CPU.
#   Prints one table: the medians in ms, runsc/runc across, sbx/raw down;
#   and a row of -t gvisor at hardened's 0.5 CPU, whose quota gVisor's
#   own start pays for (the template has 1 CPU for that reason).
# Usage: bench/gvisor.sh [N]   (from the top of the tree, after make;
# default 10; needs runsc, and for docker runsc in daemon.json's runtimes)
set -eu
cd "$(dirname "$0")/.."
n=${1:-10}
make -s sbx sbx-supervise
command -v runsc >/dev/null 2>&1 || { echo "bench: no runsc" >&2; exit 1; }
t=$(mktemp -d)
tmp=$(mktemp -d)
trap 'rm -rf "$t" "$tmp"' EXIT
export TMPDIR="$tmp" SBX_SUPERVISE="${SBX_SUPERVISE:-$PWD/sbx-supervise}"
mkdir "$t/src"
echo 'print("ok")' >"$t/src/s.py"
cat >"$t/src/cpu.py" <<'PY'
import time
t = time.perf_counter()
sum(range(10**7))
print(int((time.perf_counter() - t) * 1e6))
PY
cat >"$t/src/stat.py" <<'PY'
import os, time
t = time.perf_counter()
for _ in range(20000):
    os.stat("/")
print(int((time.perf_counter() - t) * 1e6))
PY
sbx=$PWD/sbx

ms() { date +%s%N; }
# time_cmd FILE cmd...: appends the command's wall time in us to FILE
time_cmd() {
	f=$1
	shift
	a=$(ms)
	"$@" >/dev/null 2>"$t/err" || {
		echo "bench: failed: $*" >&2
		cat "$t/err" >&2
		exit 1
	}
	echo $(( ($(ms) - a) / 1000 )) >>"$f"
}
# time_in WALL INNER TEMPLATE SCRIPT: a sbx run of SCRIPT, its wall time
# in us to WALL and what the script printed (its own us) to INNER
time_in() {
	a=$(ms)
	"$sbx" --json -c "$t/half.ini" -r "$rt" -t "$3" -d "$t/src" "$4" \
	    >"$t/out" 2>"$t/err" || {
		echo "bench: failed: sbx -r $rt -t $3 $4" >&2
		cat "$t/err" "$t/out" >&2
		exit 1
	}
	echo $(( ($(ms) - a) / 1000 )) >>"$1"
	jq -j 'select(.event == "stdout") | .data' "$t/out" >>"$2"
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2);
	printf "%.1f", NR % 2 ? v[m] / 1000 : (v[m] + v[m + 1]) / 2000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
row() { printf '%-7s %-30s %10s %10s %10s\n' "$@"; }

# raw_runc / raw_runsc: the baselines, with no network under either.
raw_runc() {
	"$rt" run --rm --pull=never --network=none sbx-python \
	    python3 -c 'print(1)'
}
raw_runsc() {
	if [ "$rt" = podman ]; then
		podman --runtime=runsc --runtime-flag=network=none run --rm \
		    --pull=never --network=none sbx-python python3 -c 'print(1)'
	else
		docker run --rm --pull=never --runtime=runsc --network=none \
		    sbx-python python3 -c 'print(1)'
	fi
}
run_sbx() { "$sbx" --json -c "$t/half.ini" -r "$rt" -t "$1" -d "$t/src" s.py; }
printf '[gvisor-half]\ninherit = gvisor\ncpus = 0.5\n' >"$t/half.ini"

echo "medians in ms; cold runs: N=$n, in turn; cpu and syscall loops: 3"
row runtime case runc runsc runsc/runc
for rt in ${BENCH_RUNTIMES-podman docker}; do
	# One untimed round: images and runsc paged in before the first.
	for c in "run_sbx hardened" "run_sbx gvisor" "run_sbx gvisor-half" \
	    raw_runc raw_runsc; do
		# shellcheck disable=SC2086
		time_cmd "$t/warm" $c
	done
	rm -f "$t"/h "$t"/g "$t"/g5 "$t"/rc "$t"/rs "$t"/[hg][cs][wi]
	i=0
	while [ $i -lt "$n" ]; do
		time_cmd "$t/h" run_sbx hardened
		time_cmd "$t/g" run_sbx gvisor
		time_cmd "$t/g5" run_sbx gvisor-half
		time_cmd "$t/rc" raw_runc
		time_cmd "$t/rs" raw_runsc
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 3 ]; do
		time_in "$t/hcw" "$t/hci" hardened cpu.py
		time_in "$t/gcw" "$t/gci" gvisor-half cpu.py
		time_in "$t/hsw" "$t/hsi" hardened stat.py
		time_in "$t/gsw" "$t/gsi" gvisor-half stat.py
		i=$((i + 1))
	done
	h=$(median "$t/h") g=$(median "$t/g")
	rc=$(median "$t/rc") rs=$(median "$t/rs")
	row "$rt" "raw python3 -c 'print(1)'" "$rc" "$rs" "$(ratio "$rs" "$rc")"
	row "$rt" 'sbx -t hardened | -t gvisor' "$h" "$g" "$(ratio "$g" "$h")"
	row "$rt" '  sbx/raw' "$(ratio "$h" "$rc")" "$(ratio "$g" "$rs")" ""
	g5=$(median "$t/g5")
	row "$rt" '  -t gvisor at cpus 0.5' "$h" "$g5" "$(ratio "$g5" "$h")"
	for k in cw:'cpu sum(range(10**7)), wall' \
	    ci:'cpu ..., in the script' \
	    sw:'20000 os.stat("/"), wall' \
	    si:'20000 os.stat, in the script'; do
		a=$(median "$t/h${k%%:*}") b=$(median "$t/g${k%%:*}")
		row "$rt" "${k#*:}" "$a" "$b" "$(ratio "$b" "$a")"
	done
done
