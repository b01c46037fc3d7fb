#!/bin/sh
# tests/sanitize.sh [asan] [valgrind]: sbx under memory checkers (both
# parts by default).  Builds in copies of the tree, so it is untouched.
#
# asan      sbx, tests/unit, tests/tartest (and tests/sbx-sys, if the
#           Makefile has it) built with clang -fsanitize=address,undefined;
#           then the unit, diff, tar, cli, golden (guard, system) suites and
#           the integration, changes, session, net and remote suites on
#           podman and docker run with them.  One line for each
#           suite's own verdict, one for its sanitizer reports: every
#           report is written to a file (log_path), so even a report from
#           a run whose exit status no test looks at fails.
# valgrind  a plain -O1 -g build of sbx, under valgrind (memcheck, leaks
#           definitely or indirectly lost count), for a set of real runs
#           on each runtime: hello world, timeout, OOM, stdin, the script
#           "-", -w rw, -w none, the output cap, a missing image, -l, -D
#           and a bad configuration.  The runtime client that sbx forks
#           runs outside valgrind (--trace-children=no).
#
# SANITIZE_RUNTIMES="podman docker" (the default) picks the runtimes; empty
# for none.  Needs
# what tests/integration.sh needs (the images of tests/lib/mkimage.sh, jq),
# clang with libclang-rt-14-dev, llvm-symbolizer (llvm-14), valgrind.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
parts=${*:-asan valgrind}
runtimes=${SANITIZE_RUNTIMES-podman docker}
suite_base sanitize
t=$BASE
# The suites below test the sbx they are given, not this one.
unset SBX

# copy DIR: the tree, without .git and what the last build left.
copy() {
	mkdir -p "$1" &&
	    tar -cf - --exclude=./.git . | tar -xf - -C "$1" &&
	    make -s -C "$1" clean >/dev/null 2>&1
}

# reports NAME: the sanitizer reports written since the last call.
reports() {
	_rn=$(find "$t/rep" -type f | wc -l)
	if [ "$_rn" -eq 0 ]; then
		ok "$1: no sanitizer report"
		return
	fi
	notok "$1: $_rn sanitizer report(s)"
	for _rf in $(find "$t/rep" -type f | head -n 3); do
		diag "$_rf:$nl$(grep -v '^ *$' "$_rf" | head -n 40)"
	done
	mkdir -p "$t/kept"
	find "$t/rep" -type f -exec mv {} "$t/kept/" \;
}

# suite NAME CMD [ARG...]: a test program of tests/, its ok and not ok
# lines summed into one, then its sanitizer reports.
suite() {
	_sn=$1
	shift
	_s0=$(date +%s)
	"$@" >"$t/suite.out" 2>&1 </dev/null
	_src=$?
	_sp=$(grep -c '^ok ' "$t/suite.out")
	_sf=$(grep -c '^not ok ' "$t/suite.out")
	_st=$(($(date +%s) - _s0))
	if [ "$_src" -eq 0 ] && [ "$_sf" -eq 0 ] && [ "$_sp" -gt 0 ]; then
		ok "$_sn under ASan+UBSan: $_sp passed ($_st s)"
	else
		notok "$_sn under ASan+UBSan: $_sp passed, $_sf failed, status $_src ($_st s)"
		grep -A 6 '^not ok ' "$t/suite.out" | head -n 60 | sed 's/^/# /'
		[ "$_sf" -eq 0 ] && tail -n 20 "$t/suite.out" | sed 's/^/# /'
	fi
	reports "$_sn"
}

# --- ASan and UBSan ------------------------------------------------------

asan() {
	a=$t/asan
	san="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
	targets="sbx tests/unit tests/difftest"
	grep -q '^tests/tartest:' Makefile && targets="$targets tests/tartest"
	grep -q '^tests/sbx-sys:' Makefile && [ -x tests/system.sh ] &&
	    targets="$targets tests/sbx-sys"
	# shellcheck disable=SC2086
	if ! copy "$a" || ! out=$(make -C "$a" CC=clang CFLAGS="$san" \
	    LDFLAGS="$san" $targets 2>&1); then
		notok "build with clang -fsanitize=address,undefined"
		printf '%s\n' "${out:-copy failed}" | tail -n 30 | sed 's/^/# /'
		return
	fi
	ok "build with clang -fsanitize=address,undefined ($targets)"
	mkdir -p "$t/rep"
	# halt/abort: the first report ends the process, with a status that
	# the suites see; log_path: every report is also kept, for reports.
	ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:log_path=$t/rep/asan"
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$t/rep/ubsan"
	LSAN_OPTIONS=
	export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
	for sym in llvm-symbolizer llvm-symbolizer-14; do
		command -v "$sym" >/dev/null 2>&1 || continue
		ASAN_SYMBOLIZER_PATH=$(command -v "$sym")
		export ASAN_SYMBOLIZER_PATH
		break
	done
	# The check of the checker: a report of a known bug reaches rep/
	# (UBSan's, here: -fsanitize=object-size sees it first).
	printf '#include <stdlib.h>\nint main(void) { char *p = malloc(1); p[1] = 0; free(p); return 0; }\n' \
	    >"$t/bug.c"
	# shellcheck disable=SC2086
	if clang $san -o "$t/bug" "$t/bug.c" && ! "$t/bug" 2>/dev/null &&
	    [ -n "$(find "$t/rep" -type f -size +0)" ]; then
		ok "a known overflow is reported to the report directory"
	else
		notok "a known overflow is reported to the report directory"
	fi
	rm -f "$t"/rep/*
	# The supervisor is static and runs in containers: not ours to
	# sanitize here, but the session suite needs it.
	make -s -C "$a" sbx-supervise >/dev/null 2>&1 ||
	    notok "build sbx-supervise"
	# Timed limits are for -O2 builds, not ASan's.
	export DIFFTEST_TIME=0
	for s in unit diff tar cli golden guard; do
		[ -x "$a/tests/$s.sh" ] && suite "tests/$s.sh" "$a/tests/$s.sh"
	done
	case $targets in
	*sbx-sys*) suite tests/system.sh "$a/tests/system.sh" ;;
	esac
	for rt in $runtimes; do
		# shellcheck disable=SC2016
		for s in integration changes session net remote; do
			# shellcheck disable=SC2016
			suite "tests/$s.sh $rt" env SBX="$a/sbx" \
			    SBX_SUPERVISE="$a/sbx-supervise" \
			    sh -c 'cd "$1" && exec tests/$3.sh "$2"' \
			    sh "$a" "$rt" "$s"
		done
	done
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
}

# --- valgrind --------------------------------------------------------------

# vg NAME STATUS CHECK [ARG...]: sbx under valgrind with ARGs (stdin as
# given); passes if valgrind reports nothing, sbx exits STATUS and leaves
# TMPDIR empty, and CHECK, a jq expression over the array of events,
# holds.
vg() {
	_vn=$1
	_vw=$2
	_vc=$3
	shift 3
	rm -rf "$t/vglog" "$T"
	mkdir -p "$t/vglog" "$T"
	timeout -k 5 300 env TMPDIR="$T" valgrind -q --error-exitcode=99 \
	    --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --track-fds=no --trace-children=no \
	    --log-file="$t/vglog/%p.log" \
	    "$v/sbx" "$@" >"$t/vg.out" 2>"$t/vg.err"
	_vrc=$?
	_vwhy=
	for _vl in "$t"/vglog/*.log; do
		[ -s "$_vl" ] && _vwhy="$_vwhy${nl}valgrind: $(head -n 60 "$_vl")"
	done
	[ "$_vrc" = "$_vw" ] || _vwhy="$_vwhy${nl}exit status $_vrc, want $_vw"
	[ -z "$(ls -A "$T")" ] || _vwhy="$_vwhy${nl}left in TMPDIR: $(ls -A "$T")"
	if ! jq -e -s "$_vc" "$t/vg.out" >/dev/null 2>&1; then
		_vwhy="$_vwhy${nl}events do not satisfy: $_vc"
	fi
	if [ -z "$_vwhy" ]; then
		ok "valgrind: $_vn"
		return
	fi
	notok "valgrind: $_vn"
	diag "${_vwhy#"$nl"}"
	diag "sbx stdout: $(head -c 1500 "$t/vg.out")"
	diag "sbx stderr: $(head -c 800 "$t/vg.err")"
}

valgrind_runs() {
	v=$t/vg
	if ! command -v valgrind >/dev/null 2>&1; then
		notok "valgrind installed"
		return
	fi
	if ! copy "$v" || ! out=$(make -C "$v" CFLAGS="-O1 -g" sbx 2>&1); then
		notok "build sbx for valgrind"
		printf '%s\n' "${out:-copy failed}" | tail -n 30 | sed 's/^/# /'
		return
	fi
	T=$t/vgtmp
	d=$t/vgsrc
	mkdir -p "$d"
	printf 'print("hello, world")\n' >"$d/hello.py"
	printf 'sleep 100\n' >"$d/sleep.sh"
	printf 'chunks = []\nwhile True:\n    chunks.append(b"x" * (8 << 20))\n' \
	    >"$d/oom.py"
	printf 'import hashlib, sys\nd = sys.stdin.buffer.read()\nprint(len(d), hashlib.sha256(d).hexdigest())\n' \
	    >"$d/digest.py"
	printf 'open("/workspace/new.txt", "w").write("x")\nprint(open("/workspace/new.txt").read())\n' \
	    >"$d/rw.py"
	printf 'import os\nprint(os.listdir("/workspace"))\n' >"$d/ls.py"
	# Two-byte characters past the cap: cut at a character boundary.
	printf 'import sys\nsys.stdout.write("\\u00e9" * 200000)\n' >"$d/cap.py"
	# tests/test.ini, with a template whose output cap is small.
	cfg=$t/vg.ini
	cp tests/test.ini "$cfg"
	printf '\n[cap]\ninherit = test\nmax_output = 4k\n' >>"$cfg"
	printf '[default]\nmemory = 1x\n' >"$t/bad.ini"
	head -c 65536 /dev/urandom >"$t/stdin.bin"
	want="65536 $(sha256sum <"$t/stdin.bin" | cut -d ' ' -f 1)"
	out_is='[.[] | select(.event == "stdout") | .data] | join("")'
	result='(map(select(.event == "result"))[0])'
	for rt in $runtimes; do
		if ! command -v "$rt" >/dev/null 2>&1 ||
		    ! timeout 30 "$rt" info >/dev/null 2>&1; then
			notok "valgrind: $rt available"
			continue
		fi
		r="-c $cfg -r $rt -t test -d $d"
		# shellcheck disable=SC2086
		{
		vg "$rt: hello world" 0 \
		    "$out_is == \"hello, world\n\"" \
		    $r hello.py </dev/null
		vg "$rt: timeout" 124 \
		    "$result.timed_out" \
		    $r -T 2 sleep.sh </dev/null
		vg "$rt: OOM" 137 \
		    "$result.oom_killed" \
		    $r -m 64m oom.py </dev/null
		vg "$rt: stdin" 0 \
		    "$out_is == \"$want\n\"" \
		    $r digest.py <"$t/stdin.bin"
		printf 'print(6*7)\n' >"$t/dash.py"
		vg "$rt: script -" 0 \
		    "$out_is == \"42\n\"" \
		    $r - <"$t/dash.py"
		vg "$rt: -w rw" 0 \
		    "$out_is == \"x\n\"" \
		    $r -w rw rw.py </dev/null
		vg "$rt: -w rw -u: changes and diffs" 0 \
		    'any(.event == "changes" and .added == 1) and
		    any(.event == "diff" and .path == "new.txt")' \
		    $r -w rw -u rw.py </dev/null
		vg "$rt: -w none" 0 \
		    "$out_is == \"[]\n\"" \
		    $r -w none ls.py </dev/null
		vg "$rt: output cap" 137 \
		    "($out_is | utf8bytelength) as \$n | $result.truncated and
		    $result.signal == 9 and
		    \$n > 4000 and \$n <= 4096 and
		    ($out_is | contains(\"\\ufffd\") | not)" \
		    -c "$cfg" -r "$rt" -t cap -d "$d" cap.py </dev/null
		vg "$rt: missing image" 125 \
		    "$result.error != null" \
		    $r -i sbx-no-such-image hello.py </dev/null
		vg "$rt: -D" 0 \
		    'length == 1 and .[0].event == "argv"' \
		    -D $r hello.py </dev/null
		}
		[ -f "$d/new.txt" ] && notok "valgrind: $rt: -w rw wrote the source tree"
	done
	vg "-l" 0 'length > 0 and all(.event == "template")' \
	    -c "$cfg" -l </dev/null
	vg "bad configuration" 125 'length == 1 and .[0].event == "error"' \
	    -c "$t/bad.ini" -d "$d" hello.py </dev/null
}

for p in $parts; do
	case $p in
	asan) asan ;;
	valgrind) valgrind_runs ;;
	*) echo "usage: $0 [asan] [valgrind]" >&2; exit 2 ;;
	esac
done
exit "$FAILED"
