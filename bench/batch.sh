#!/bin/sh
# sbx batch against what a grader writes by hand, in one run: CASES
# small cases (a Python script that prints a line) one by one, as a
# plain `xargs -P N` of sbx, as `sbx batch -j N`, and as
# `sbx batch --slurm -j N` on the local Slurm; for podman and docker.
# Prints the seconds of each, the ratios, and Slurm's cost per case.
# Usage: bench/batch.sh [CASES]   (from the top of the tree, after make;
# default 64; N is the number of CPUs)
set -eu
cd "$(dirname "$0")/.."
n=${1:-64}
j=$(nproc)
make -s sbx sbx-supervise
t=$(mktemp -d "$PWD/bench-batch.XXXXXX")
tmp=$(mktemp -d)
trap 'rm -rf "$t" "$tmp"' EXIT
export TMPDIR=$tmp SBX_SUPERVISE=$PWD/sbx-supervise
i=0
while [ $i -lt $n ]; do
	mkdir "$t/c$i"
	echo 'print("ok")' >"$t/c$i/s.py"
	i=$((i + 1))
done
sbx=$PWD/sbx
cd "$t"
ms() { date +%s%N | cut -c1-13; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
cases() { i=0; while [ $i -lt $n ]; do echo "c$i"; i=$((i + 1)); done; }

for rt in ${BENCH_RUNTIMES-podman docker}; do
	a=$(ms)
	for d in $(cases); do
		"$sbx" --json -r "$rt" -d "$d" s.py >/dev/null
	done
	b=$(ms)
	cases | xargs -P "$j" -I{} "$sbx" --json -r "$rt" -d {} s.py >/dev/null
	c=$(ms)
	"$sbx" batch -j "$j" -r "$rt" s.py $(cases) >"$t/local.jsonl"
	d=$(ms)
	"$sbx" batch --slurm -j "$j" -r "$rt" s.py $(cases) >"$t/slurm.jsonl"
	e=$(ms)
	for f in local slurm; do
		ok=$(jq -r 'select(.event == "batch") | .ok' "$t/$f.jsonl")
		[ "$ok" = "$n" ] || { echo "bench: $f batch: $ok of $n ok" >&2; exit 1; }
	done
	one=$(secs "$a" "$b") xa=$(secs "$b" "$c") ba=$(secs "$c" "$d")
	sl=$(secs "$d" "$e")
	echo "$rt: $n cases, N=$j: one by one ${one} s, xargs -P ${xa} s," \
	    "sbx batch -j ${ba} s, --slurm ${sl} s"
	echo "$rt: batch/xargs $(ratio "$ba" "$xa"), batch/one-by-one" \
	    "$(ratio "$ba" "$one"), slurm/batch $(ratio "$sl" "$ba")," \
	    "Slurm per case $(awk -v a="$sl" -v b="$ba" -v n="$n" \
	    'BEGIN { printf "%.0f", (a - b) * 1000 / n }') ms"
done
