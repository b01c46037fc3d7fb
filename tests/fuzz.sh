#!/bin/sh
# tests/fuzz.sh [SECONDS [TARGET...]]: libFuzzer on sbx's parsers.
#
# Builds each target of tests/fuzz (ini, parse, json, diff, tar: see the
# comment at the top of each fuzz_*.c) with clang -fsanitize=fuzzer,
# address,undefined, and runs it for SECONDS (default $FUZZ_SECONDS, else
# 20) from a temporary copy of its seed corpus, tests/fuzz/corpus/TARGET, so
# the tree is never written.  SECONDS 0 runs the seeds only, once each:
# a quick, deterministic regression check.  One "ok - fuzz: ..." or
# "not ok - fuzz: ..." line per target; a crash keeps the work directory
# and names the input that crashed it, with the command that replays it.  FUZZ_CC picks another clang;
# FUZZ_KEEP=1 keeps the work directory (binaries, grown corpora) anyway.
# Needs clang, libclang-rt-14-dev (the fuzzer and sanitizer runtimes),
# libinih-dev, pkg-config and make; llvm-symbolizer for readable stacks.
# The compiler flags are split on white space with their quotes kept,
# -DVERSION="fuzz" as the Makefile passes it:
# shellcheck disable=SC2089,SC2090
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
secs=${1:-${FUZZ_SECONDS:-20}}
[ $# -gt 0 ] && shift
targets=${*:-ini parse json diff tar}
case $secs in
'' | *[!0-9]*) echo "usage: $0 [seconds [ini|parse|json|diff|tar ...]]" >&2; exit 2 ;;
esac
cc=${FUZZ_CC:-clang}

KEEP=${FUZZ_KEEP:-0}
suite_base fuzz
t=$BASE
# The flags below are split on white space.
case $t in
*[!A-Za-z0-9._/-]*) cannot "$t: want a TMPDIR without odd characters" ;;
esac

# Sources copied first: other people may be editing the tree.  builtin.h
# is made there the way the Makefile makes it.
mkdir -p "$t/src/tests" "$t/crash" || exit 1
cp sbx.h policy.c json.c diff.c tar.c util.c sbx.ini Makefile config.mk \
    "$t/src/" &&
    cp -R tests/fuzz "$t/src/tests/" || exit 1
if ! out=$(make -s -C "$t/src" builtin.h 2>&1); then
	notok "make builtin.h"
	printf '%s\n' "$out" | sed 's/^/# /'
	exit 1
fi

if ! command -v "$cc" >/dev/null 2>&1; then
	notok "$cc not found (install clang)"
	exit 1
fi
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n)\n{ (void)d; (void)n; return 0; }\n' \
    >"$t/probe.c"
if ! out=$("$cc" -fsanitize=fuzzer,address,undefined -o "$t/probe" \
    "$t/probe.c" 2>&1); then
	notok "$cc -fsanitize=fuzzer links (install libclang-rt-14-dev)"
	printf '%s\n' "$out" | head -n 5 | sed 's/^/# /'
	exit 1
fi
if ! inih_cflags=$(pkg-config --cflags inih) ||
    ! inih_libs=$(pkg-config --libs inih); then
	notok "pkg-config finds inih (install libinih-dev, pkg-config)"
	exit 1
fi

flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
-fno-omit-frame-pointer -std=c99 -Wall -Wextra -D_DEFAULT_SOURCE
-D_XOPEN_SOURCE=700 -DVERSION=\"fuzz\" -I."
# fuzz_util.c wraps fopen and fclose (see fuzz.h), in every target but tar.
ldflags="-Wl,--wrap=fopen -Wl,--wrap=fclose"
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TMPDIR="$t"

for name in $targets; do
	case $name in
	# The system file is read from SYSCONFDIR: one fuzz_ini writes.
	ini) defs="-DSYSCONFDIR=\"$t/sysconf\" -DFUZZ_SYSCONF"
	    dict=-dict=tests/fuzz/ini.dict ;;
	parse | json | diff) defs="-DSYSCONFDIR=\"/nonexistent\"" dict= ;;
	# tar.c wants the real util.c, not fuzz_util.c: see fuzz_tar.c.
	tar) defs="-DSYSCONFDIR=\"/nonexistent\" -DLIBEXECDIR=\"/nonexistent\""
	    dict='' srcs="tests/fuzz/fuzz_fail.c tar.c util.c json.c" lds='' ;;
	*) notok "$name: no such target (ini, parse, json, diff, tar)"; continue ;;
	esac
	[ "$name" = tar ] || srcs="tests/fuzz/fuzz_fail.c tests/fuzz/fuzz_util.c tests/fuzz/jsoncheck.c
policy.c json.c diff.c" lds=$ldflags
	bin=$t/fuzz_$name
	# shellcheck disable=SC2086
	if ! out=$(cd "$t/src" && "$cc" $flags $defs $inih_cflags -o "$bin" \
	    tests/fuzz/fuzz_$name.c $srcs $lds $inih_libs 2>&1)
	then
		notok "$name: build"
		printf '%s\n' "$out" | head -n 30 | sed 's/^/# /'
		continue
	fi
	[ -n "$out" ] && printf '%s\n' "$out" | head -n 30 | sed 's/^/# warning: /'
	mkdir -p "$t/corpus/$name"
	cp tests/fuzz/corpus/"$name"/* "$t/corpus/$name/" 2>/dev/null
	log=$t/$name.log
	t0=$(date +%s)
	if [ "$secs" -eq 0 ]; then
		how=-runs=0 what="seed corpus, $(find "$t/corpus/$name" -type f | wc -l) inputs"
	else
		how=-max_total_time=$secs what=
	fi
	# shellcheck disable=SC2086
	(cd "$t/src" && "$bin" $how -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 $dict \
	    -artifact_prefix="$t/crash/$name-" "$t/corpus/$name") \
	    >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - t0))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		ok "$name ${what:-$took s}, no crash"
		diag "$name: ${runs:-?} runs, ${cov:-no cov}," \
		    "corpus $(find "$t/corpus/$name" -type f | wc -l) inputs"
		continue
	fi
	KEEP=1
	input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" |
	    head -n 1)
	notok "$name: status $rc after $took s"
	diag "crashing input: ${input:-none written}"
	[ -n "$input" ] && diag "replay: (cd $t/src && $bin $input)"
	diag "full log: $log"
	grep -n -m 1 -E '^==[0-9]+==ERROR|runtime error|fuzz invariant failed|deadly signal|ERROR: libFuzzer' \
	    "$log" | cut -d: -f1 | while read -r n; do
		sed -n "$n,$((n + 24))p" "$log" | sed 's/^/# /'
	done
done
[ "$KEEP" = 1 ] && diag "kept: $t"
exit "$FAILED"
