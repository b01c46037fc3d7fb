# tests/lib/harness.sh: what every suite shares.  POSIX sh, sourced first
# thing, as
#	. "$(dirname "$0")/lib/harness.sh"
#
# Every assertion prints one line, "ok - PREFIX: WHAT" or
# "not ok - PREFIX: WHAT", and diagnostics "# " lines; tests/lib/run.sh
# counts them.  PREFIX is SUITE, the suite's file name without .sh (a
# suite may set another), then RT, the runtime under test, while a suite
# has one set.
#
# Sourcing it sets
#   here     the tests directory, absolute
#   root     the tree, which becomes the current directory
#   SBX      the sbx under test, absolute: $SBX (relative to where the
#            suite was started), else the tree's own
#   SUITE, RT (empty), FAILED (0, 1 once an assertion failed), nl
# and unsets SBX_CONFIG and XDG_CONFIG_HOME: the configuration of the
# user who runs the tests must not steer them.

here=$(cd "$(dirname "$0")" && pwd -P) || exit 2
root=${here%/*}
SBX=${SBX:-$root/sbx}
case $SBX in
/*) ;;
*) SBX=$(pwd)/${SBX#./} ;;
esac
cd "$root" || exit 2
unset SBX_CONFIG XDG_CONFIG_HOME
SUITE=${0##*/}
SUITE=${SUITE%.sh}
RT=
FAILED=0
nl='
'

# --- reporting: one line per assertion, "# " for diagnostics ---------

ok() {
	printf 'ok - %s%s%s\n' "${SUITE:+$SUITE: }" "${RT:+$RT: }" "$1"
}

notok() {
	printf 'not ok - %s%s%s\n' "${SUITE:+$SUITE: }" "${RT:+$RT: }" "$1"
	FAILED=1
}

# diag TEXT...: TEXT as "# " lines, at most 40 of them: a failure must
# not bury the lines after it.  No text, no line.
diag() {
	[ -n "$*" ] || return 0
	printf '%s\n' "$*" | head -n 40 | sed 's/^/# /'
}

# show: what a suite shows of its last run when an assertion fails; a
# suite that has something to show defines its own.
show() {
	:
}

# say STATUS DESC: passes if STATUS, a command's $?, is 0; else shows.
say() {
	if [ "$1" = 0 ]; then
		ok "$2"
		return 0
	fi
	notok "$2"
	show
	return 1
}

# check DESC CMD [ARG...]: passes if CMD succeeds.
check() {
	_cd=$1
	shift
	if "$@"; then
		ok "$_cd"
		return 0
	fi
	notok "$_cd"
	return 1
}

# is DESC GOT WANT: string equality.
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
		return 0
	fi
	notok "$1"
	diag "got:  '$2'"
	diag "want: '$3'"
	return 1
}

# isnt DESC GOT UNWANTED
isnt() {
	if [ "$2" != "$3" ]; then
		ok "$1"
		return 0
	fi
	notok "$1"
	diag "got the unwanted value '$2'"
	return 1
}

# like DESC TEXT NEEDLE: TEXT contains NEEDLE.
like() {
	case $2 in
	*"$3"*)
		ok "$1"
		return 0
		;;
	esac
	notok "$1"
	diag "'$3' not found in:$nl$2"
	return 1
}

# num DESC A OP B: numeric comparison (OP: < <= > >= ==), A may be a
# decimal; anything that is not a number fails.
num() {
	if printf '%s\n' "$2" | grep -Eq '^-?[0-9]+(\.[0-9]+)?$' &&
	    awk -v a="$2" -v b="$4" "BEGIN { exit !(a $3 b) }"; then
		ok "$1"
		return 0
	fi
	notok "$1"
	diag "got '$2', want $3 $4"
	return 1
}

# --- setup ---------------------------------------------------------------

usage() {
	echo "usage: $0 [podman|docker ...]" >&2
	exit 2
}

# cannot TEXT...: the suite cannot run at all; run.sh counts status 2
# as a failure.
cannot() {
	echo "# cannot run: $*"
	echo "$0: cannot run: $*" >&2
	exit 2
}

# runtimes_of [ARG...]: $runtimes, the runtimes the suite's arguments
# name, both by default.
runtimes_of() {
	runtimes=
	for _ra; do
		case $_ra in
		podman | docker) runtimes="$runtimes $_ra" ;;
		*) usage ;;
		esac
	done
	[ -n "$runtimes" ] || runtimes="podman docker"
}

# suite_base NAME: BASE, the suite's private directory in $TMPDIR (or
# /tmp), resolved, as sbx reports paths.  At exit ON_EXIT, if set, is
# run, then BASE removed (files a run made unwritable included), unless
# KEEP is 1.  Its path must not hold what would break a mount option.
suite_base() {
	case ${TMPDIR:-} in
	/*) _tmp=$TMPDIR ;;
	*) _tmp=/tmp ;;
	esac
	BASE=$(mktemp -d "$_tmp/sbx-$1.XXXXXX") || cannot "mktemp in $_tmp failed"
	trap 'eval "${ON_EXIT:-}"; [ "${KEEP:-0}" = 1 ] ||
	    { chmod -R u+rwx "$BASE" 2>/dev/null; rm -rf "$BASE"; }' EXIT
	BASE=$(cd "$BASE" && pwd -P) || cannot "$BASE: cannot resolve"
	trap 'exit 130' INT
	trap 'exit 143' TERM
	case $BASE in
	*,* | *\"* | *\'*) cannot "$BASE: TMPDIR must not hold , \" or '" ;;
	esac
}

# runtime_suite NAME [ARG...]: what a suite that runs containers starts
# with: $runtimes from its arguments, conf (tests/test.ini), the
# supervisor of the tree, BASE and t (its directory, as suite_base), a
# private TMPDIR, and a show() of the last lines of $t/out and $t/err.
# The sessions in $ids and the pools in $pools are stopped at exit,
# before the suite's own ON_EXIT, if it set one first.
runtime_suite() {
	_rs=$1
	shift
	runtimes_of "$@"
	conf=$root/tests/test.ini
	SBX_SUPERVISE=${SBX_SUPERVISE:-$root/sbx-supervise}
	export SBX_SUPERVISE
	ids= pools=
	ON_EXIT='for i in $ids; do "$SBX" stop "$i" >/dev/null 2>&1; done
for p in $pools; do "$SBX" pool stop "$p" >/dev/null 2>&1; done
'"${ON_EXIT:-}"
	suite_base "$_rs"
	t=$BASE
	private_tmpdir
	show() {
		diag "$(tail -n 4 "$t/out" | cut -c1-300)"
		diag "$(tail -n 3 "$t/err" | cut -c1-300)"
	}
}

# pool_ready NAME: how many of pool NAME's containers are ready.
pool_ready() { "$SBX" pool ls | jq -r "select(.name == \"$1\") | .ready"; }
# pool_wait NAME N: up to 20 s for N ready (a start, a refill).
pool_wait() {
	_i=0
	while [ "$(pool_ready "$1")" != "$2" ] && [ $_i -lt 100 ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
	[ "$(pool_ready "$1")" = "$2" ]
}

# net_server: tests/lib/netserver.py, ours, on 127.0.0.1 alone, killed
# at exit; its HTTP, echo and sink ports in $web, $echo and $sink.
net_server() {
	python3 "$root/tests/lib/netserver.py" "$BASE/ports" &
	ON_EXIT="kill $! 2>/dev/null
${ON_EXIT:-}"
	_ns=0
	while [ ! -s "$BASE/ports" ] && [ $_ns -lt 50 ]; do
		sleep 0.2
		_ns=$((_ns + 1))
	done
	read -r web echo sink <"$BASE/ports" ||
	    cannot "tests/lib/netserver.py did not start"
}

# private_tmpdir: TMPDIR, for the suite and all it runs, is BASE/tmp,
# new and empty, so that what is left in it is this suite's doing.
private_tmpdir() {
	mkdir "$BASE/tmp" || cannot "mkdir $BASE/tmp"
	TMPDIR=$BASE/tmp
	export TMPDIR
}
