#!/bin/sh
# Benchmarks, side by side in one run, as medians of N runs (default 15):
#   raw `RUNTIME run --rm IMAGE true` against sbx running the same `true`,
#   for podman and docker; a warm session step (sbx exec) against a cold
#   sbx run of the same Python script, with `RUNTIME exec` for scale; and
#   the shadow copy of a generated 10k-file tree against `cp -a`, as a
#   ro run makes it and as a rw run makes it (with its manifest).
#   Prints each median and the ratio.
# Usage: bench/run.sh [N]      (from the top of the tree, after make)
# BENCH_RUNTIMES="" times the copy alone; TMPDIR picks its file system
# (on a slow disk both copies wait on file creation alike: try /dev/shm
# to compare the work each does).
set -eu
cd "$(dirname "$0")/.."
n=${1:-15}
make -s sbx bench/copy
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
mkdir "$t/src" "$t/tmp"
echo true >"$t/src/true.sh"

ms() { date +%s%N; }
# time_cmd FILE cmd...: appends the command's wall time in ms to FILE
time_cmd() {
	f=$1
	shift
	a=$(ms)
	"$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }
	echo $(( ($(ms) - a) / 1000 )) >>"$f"
}
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2);
	printf "%.1f", NR % 2 ? v[m] / 1000 : (v[m] + v[m + 1]) / 2000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

for rt in ${BENCH_RUNTIMES-podman docker}; do
	# The raw run plain, and with the very flags sbx passes (plus --rm
	# for docker, whose containers sbx removes itself); the second
	# ratio is sbx's own cost.
	TMPDIR=$t/tmp ./sbx -D -r "$rt" -w none -d "$t/src" true.sh |
	    jq -r '.argv[1:][]' | sed "s|$t/tmp/sbx\.[0-9]*\.XXXXXX|$t/same|" \
	    >"$t/argv"
	# What sbx stages in its run directory: the empty workspace of
	# -w none, out/, and the mount points in sbx/.
	mkdir -p "$t/same/sbx/out" "$t/same/out" "$t/same/ws"
	chmod 777 "$t/same/ws" "$t/same/out"
	: >"$t/same/sbx/init"
	cp "$t/src/true.sh" "$t/same/sbx/"
	[ "$rt" = docker ] && sed -i '1a --rm' "$t/argv"
	rm -f "$t/raw" "$t/flags" "$t/sbx"
	i=0
	while [ $i -lt "$n" ]; do
		time_cmd "$t/raw" "$rt" run --rm --pull=never --network=none \
		    sbx-sh true
		# shellcheck disable=SC2046
		time_cmd "$t/flags" sh -c 'tr "\n" "\0" <"$1" |
		    xargs -0 "$2"' sh "$t/argv" "$rt"
		time_cmd "$t/sbx" env TMPDIR="$t/tmp" ./sbx -r "$rt" -w none \
		    -d "$t/src" true.sh
		i=$((i + 1))
	done
	r=$(median "$t/raw") f=$(median "$t/flags") s=$(median "$t/sbx")
	printf '%-7s raw %7s ms  same flags %7s ms  sbx %7s ms  ratio %s (vs same flags %s)\n' \
	    "$rt" "$r" "$f" "$s" "$(ratio "$s" "$r")" "$(ratio "$s" "$f")"
done

# ready_wait POOL: until the pool is full again, untimed: the refill of
# one pooled run must not land on the next timed command.
ready_wait() {
	j=0
	while [ "$(TMPDIR=$t/tmp ./sbx pool ls | jq -r "select(.name == \"$1\") |
	    .ready == .size")" != true ] && [ $j -lt 200 ]; do
		sleep 0.05
		j=$((j + 1))
	done
}

# Warm against cold: the same script, in a session, in a pool's
# container and in a fresh run.
printf 'import sys\nprint(sys.version_info[0])\n' >"$t/src/hello.py"
export SBX_SUPERVISE="${SBX_SUPERVISE:-$(pwd)/sbx-supervise}"
make -s sbx-supervise
for rt in ${BENCH_RUNTIMES-podman docker}; do
	id=$(TMPDIR=$t/tmp ./sbx start -r "$rt" -w none -d "$t/src" |
	    jq -r .id)
	name=sbx-session-$id
	TMPDIR=$t/tmp ./sbx pool start bench -r "$rt" -w none -n 2 >/dev/null
	rm -f "$t/cold" "$t/warm" "$t/exec" "$t/pooled"
	i=0
	while [ $i -lt "$n" ]; do
		time_cmd "$t/cold" env TMPDIR="$t/tmp" ./sbx -r "$rt" -w none \
		    -d "$t/src" hello.py
		time_cmd "$t/warm" env TMPDIR="$t/tmp" ./sbx exec "$id" \
		    "$t/src/hello.py"
		time_cmd "$t/exec" "$rt" exec "$name" python3 -c 'print(3)'
		time_cmd "$t/pooled" env TMPDIR="$t/tmp" ./sbx -P bench \
		    -d "$t/src" hello.py
		ready_wait bench
		i=$((i + 1))
	done
	TMPDIR=$t/tmp ./sbx stop "$id" >/dev/null
	c=$(median "$t/cold") w=$(median "$t/warm") e=$(median "$t/exec")
	p=$(median "$t/pooled")
	printf '%-7s cold run %7s ms  warm exec %7s ms  %s exec %7s ms  cold/warm %s\n' \
	    "$rt" "$c" "$w" "$rt" "$e" "$(ratio "$c" "$w")"
	printf '%-7s pooled run %5s ms  pooled/warm %s  cold/pooled %s\n' \
	    "$rt" "$p" "$(ratio "$p" "$w")" "$(ratio "$c" "$p")"
	# Sustained: 4 claimers, 4n runs in all, against a pool of 4; the
	# same runs cold.  Runs a second, and how many found a container.
	TMPDIR=$t/tmp ./sbx pool stop bench >/dev/null
	TMPDIR=$t/tmp ./sbx pool start bench -r "$rt" -w none -n 4 >/dev/null
	for how in pooled cold; do
		a=$(ms)
		for k in 1 2 3 4; do
			(
				j=0
				while [ $j -lt "$n" ]; do
					if [ $how = pooled ]; then
						TMPDIR=$t/tmp ./sbx -P bench \
						    -d "$t/src" hello.py
					else
						TMPDIR=$t/tmp ./sbx -r "$rt" \
						    -w none -d "$t/src" hello.py
					fi
					j=$((j + 1))
				done
			) >"$t/through.$how.$k" 2>&1 &
		done
		wait
		ms_all=$(( ($(ms) - a) / 1000000 ))
		got=$(cat "$t"/through.$how.* | grep -c '"pooled":true' || true)
		printf '%-7s 4 claimers %-6s %3d runs in %6d ms: %5.1f runs/s, %d in a pool container\n' \
		    "$rt" "$how" $((4 * n)) "$ms_all" \
		    "$(awk -v r=$((4 * n)) -v m="$ms_all" 'BEGIN { print r * 1000 / m }')" \
		    "$got"
		ready_wait bench
	done
	TMPDIR=$t/tmp ./sbx pool stop bench >/dev/null
done

# 10 000 files of 1 KiB in 100 directories.
mkdir "$t/tree"
head -c 1024 /dev/urandom >"$t/blob"
d=0
while [ $d -lt 100 ]; do
	mkdir "$t/tree/d$d"
	f=0
	while [ $f -lt 100 ]; do
		cp "$t/blob" "$t/tree/d$d/f$f"
		f=$((f + 1))
	done
	d=$((d + 1))
done
rm -f "$t/cp" "$t/copy" "$t/copyrw"
i=0
while [ $i -lt "$n" ]; do
	# Alternate which goes first: the disk's write-back from one
	# copy would otherwise always land on the other.
	rm -rf "$t/c1" "$t/c2" "$t/c3"
	mkdir "$t/c2" "$t/c3"	# run directories: the copy is their ws/
	sync
	if [ $((i % 2)) = 0 ]; then
		time_cmd "$t/cp" cp -a "$t/tree" "$t/c1"
		time_cmd "$t/copy" bench/copy "$t/tree" "$t/c2"
	else
		time_cmd "$t/copy" bench/copy "$t/tree" "$t/c2"
		time_cmd "$t/cp" cp -a "$t/tree" "$t/c1"
	fi
	time_cmd "$t/copyrw" bench/copy "$t/tree" "$t/c3" rw
	i=$((i + 1))
done
c=$(median "$t/cp") s=$(median "$t/copy") w=$(median "$t/copyrw")
printf 'copy    cp -a   %7s ms   shadow %7s ms ratio %s   rw with manifest %7s ms ratio %s\n' \
    "$c" "$s" "$(ratio "$s" "$c")" "$w" "$(ratio "$w" "$c")"
