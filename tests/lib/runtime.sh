# tests/lib/runtime.sh: running sbx under a runtime and judging its
# events, for the suites that drive it case by case (integration.sh,
# hostile.sh, transparency.sh).  POSIX sh, sourced after harness.sh.
#
# The caller sets these globals (suite_init and runtime_begin set most):
#   CONF  absolute path of the suite's configuration, tests/test.ini
#   RT    the runtime under test, "podman" or "docker"
#   T     the TMPDIR that sbx gets: private to the suite, must stay empty
#   W     where the source trees of the cases are made
#   OUT   file that receives sbx's stdout of the last run
#   ERR   file that receives sbx's stderr of the last run
#   NAMES file that collects the container names of the runs
# Each run sets RC, sbx's exit status.

XENV=

# show: the last run's command output, for a failed assertion.
show() {
	diag "sbx exit status: $RC"
	diag "sbx stdout:$nl$(head -c 3000 "$OUT")"
	diag "sbx stderr:$nl$(head -c 1500 "$ERR")"
}

# --- running sbx -------------------------------------------------------

# run_sbx CONFIG [ARG...]: runs sbx for runtime RT with config CONFIG
# and the private TMPDIR, stdin as the caller gives it, under a safety
# timeout.  XENV, if set, is one more VAR=value for sbx's environment.
run_sbx() {
	_cfg=$1
	shift
	timeout -k 5 60 env ${XENV:+"$XENV"} TMPDIR="$T" XDG_CONFIG_HOME="$T/.." \
	    "$SBX" -c "$_cfg" -r "$RT" "$@" >"$OUT" 2>"$ERR"
	RC=$?
	if { [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; } &&
	    [ "$(count result)" = 0 ]; then
		diag "the 60 s safety timeout stopped sbx $*"
	fi
}

# sbx [ARG...]: run_sbx with tests/test.ini.
sbx() {
	run_sbx "$CONF" "$@"
}

# sbx_env VAR=value [ARG...]: sbx with one more environment variable.
sbx_env() {
	XENV=$1
	shift
	sbx "$@"
	XENV=
}

# sbx_bg [ARG...]: starts sbx with tests/test.ini in the background,
# sets PID (sbx's own: env execs it).  Finish with sbx_wait.
sbx_bg() {
	env TMPDIR="$T" XDG_CONFIG_HOME="$T/.." "$SBX" -c "$CONF" -r "$RT" "$@" \
	    >"$OUT" 2>"$ERR" &
	PID=$!
}

# alive: the background sbx still runs.
alive() {
	kill -0 "$PID" 2>/dev/null
}

# wait_for TEXT SECONDS: waits until sbx's stdout holds TEXT; fails if
# that takes longer.
wait_for() {
	_wn=0
	while ! grep -qF -- "$1" "$OUT"; do
		[ "$_wn" -ge "$(($2 * 10))" ] && return 1
		sleep 0.1
		_wn=$((_wn + 1))
	done
	return 0
}

# sbx_wait DESC [SECONDS]: waits up to SECONDS (30) for the background
# sbx to end (a failure, and a SIGKILL, if it does not), then sets RC.
sbx_wait() {
	_ws=${2:-30}
	_wn=0
	while alive && [ "$_wn" -lt "$((_ws * 10))" ]; do
		sleep 0.1
		_wn=$((_wn + 1))
	done
	if alive; then
		notok "$1: sbx exits within $_ws s"
		# Its runtime clients too: a client blocked on a pipe that
		# it holds open itself would outlive sbx and keep the
		# container.
		for _wc in $(children "$PID"); do
			diag "killing sbx's child $_wc: $(tr '\0' ' ' \
			    </proc/"$_wc"/cmdline 2>/dev/null | cut -c 1-60)"
			kill -KILL "$_wc" 2>/dev/null
		done
		kill -KILL "$PID"
	else
		ok "$1: sbx exits within $_ws s"
	fi
	wait "$PID"
	RC=$?
}

# children PID: the pids of the processes whose parent is PID.
children() {
	_cpp=$1
	for _cp in /proc/[0-9]*; do
		_cs=$(cat "$_cp/stat" 2>/dev/null) || continue
		_cs=${_cs##*) }		# after "pid (comm) ": state ppid ...
		_cs=${_cs#* }
		[ "${_cs%% *}" = "$_cpp" ] && printf '%s\n' "${_cp#/proc/}"
	done
	return 0
}

# --- reading the events ------------------------------------------------

# J FILTER: applies the jq FILTER to the array of the last run's events
# (lines that are not JSON are left out); strings come out raw, with no
# newline added.
J() {
	# --rawfile, not -R -s: jq 1.6 mangles a character that a 4 KB
	# read cuts in two.
	jq -n -j --rawfile s "$OUT" '[$s | split("\n")[] | fromjson?] | '"$1" \
	    2>/dev/null
}

# res FIELD: a field of the (first) result event, "null" if none.
res() {
	J '(map(select(.event == "result"))[0] // {}) | .'"$1"
}

# start_field FIELD: a field of the (first) start event.
start_field() {
	J '(map(select(.event == "start"))[0] // {}) | .'"$1"
}

# count EVENT: how many events of that type.
count() {
	J 'map(select(.event == "'"$1"'")) | length'
}

# stream stdout|stderr: the data of those events, concatenated.
stream() {
	J 'map(select(.event == "'"$1"'") | .data) | join("")'
}

# errors: every error text of the run, from error events and from the
# result's error field, one a line.
errors() {
	J '[(.[] | select(.event == "error") | .message),
	    (.[] | select(.event == "result") | .error // empty)] | join("\n")'
}

# has_arg WORD: "true" if the argv event of a dry run holds WORD.
has_arg() {
	jq -R -s -j --arg a "$1" '[split("\n")[] | fromjson? |
	    select(.event == "argv")][0].argv // [] | any(.[]; . == $a)' \
	    "$OUT" 2>/dev/null
}

# net_off: "true" if the argv event of a dry run turns the network off
# (--network=none or --net=none, joined or as two words).
net_off() {
	jq -R -s -j '[split("\n")[] | fromjson? |
	    select(.event == "argv")][0].argv // [] |
	    . as $v | [range(length) | $v[.] as $a |
	    ($a == "--network=none" or $a == "--net=none" or
	    (($a == "--network" or $a == "--net") and $v[. + 1] == "none"))] |
	    any' "$OUT" 2>/dev/null
}

# --- checks every run gets ---------------------------------------------

# json_lines: every line of sbx's stdout is a JSON object with an
# "event" member, and the last line is complete.
json_lines() {
	_jbad=0
	[ -s "$OUT" ] || { diag "no output at all"; return 1; }
	if [ "$(tail -c 1 "$OUT" | od -An -tx1 | tr -d ' \n')" != 0a ]; then
		diag "last line not terminated by a newline"
		_jbad=1
	fi
	while IFS= read -r _jl; do
		case $_jl in
		'{"event":"'*) ;;
		*)
			diag "event is not the first member: $(printf "%s" "$_jl" | cut -c 1-200)"
			_jbad=1
			;;
		esac
		if ! printf '%s\n' "$_jl" | jq -e . >/dev/null 2>&1 ||
		    ! printf '%s\n' "$_jl" | jq -e 'type == "object" and
		    (.event | type) == "string"' >/dev/null 2>&1; then
			diag "not a JSON event: $(printf "%s" "$_jl" | cut -c 1-200)"
			_jbad=1
		fi
	done <"$OUT"
	return "$_jbad"
}

# tmp_empty: the private TMPDIR holds nothing.
tmp_empty() {
	_left=$(ls -A "$T")
	[ -z "$_left" ] && return 0
	diag "left in TMPDIR: $_left"
	# Cleared, so that one failure is not blamed on every later run.
	rm -rf "${T:?}"/* "${T:?}"/.[!.]* 2>/dev/null
	return 1
}

# after NAME MODE: the checks of every run.  MODE is
#   run   a container was to run: exactly one start and one result
#         event, sbx's exit status equals result.status
#   keep  like run, but -k keeps the temp tree: TMPDIR is not checked
#   dry   a dry run (-D): exactly one event, an argv one, exit 0
#   fail  sbx refused before running anything: an error event, exit 125
after() {
	_an=$1
	_am=$2
	_nm=$(start_field name)
	[ "$_nm" = null ] || [ -z "$_nm" ] || printf '%s\n' "$_nm" >>"$NAMES"
	check "$_an: stdout is JSON lines" json_lines || show
	case $_am in
	run | keep)
		is "$_an: one start event" "$(count start)" 1
		is "$_an: one result event" "$(count result)" 1 || show
		is "$_an: exit status equals result.status" "$RC" \
		    "$(res status)"
		;;
	dry)
		is "$_an: exit status 0" "$RC" 0 || show
		is "$_an: one line, an argv event" \
		    "$(wc -l <"$OUT" | tr -d ' ') $(count argv)" "1 1"
		;;
	fail)
		is "$_an: exit status 125" "$RC" 125 || show
		num "$_an: an error event" "$(count error)" '>=' 1
		is "$_an: no result event" "$(count result)" 0
		;;
	esac
	if [ "$_am" != keep ]; then
		check "$_an: TMPDIR empty again" tmp_empty
	fi
}

# --- the host side -----------------------------------------------------

# src NAME: a fresh, empty source tree; prints its path.
src() {
	_sd=$W/$1
	rm -rf "$_sd"
	mkdir -p "$_sd"
	printf '%s' "$_sd"
}

# snap DIR: a digest of the whole tree (names, types, modes, owners,
# sizes, mtimes, link targets and contents).
snap() {
	(cd "$1" && tar --sort=name --numeric-owner --format=gnu -cf - .) |
	    sha256sum | cut -d ' ' -f 1
}

# listing DIR: the tree as text, to show what changed.
listing() {
	find "$1" -printf '%P %y %m %U:%G %s %T@ %l\n' | LC_ALL=C sort
}

# snap_before DIR: remembers the state of DIR for same_tree.
snap_before() {
	SNAP=$(snap "$1")
	listing "$1" >"$W/.listing"
}

# same_tree DESC DIR: DIR is byte for byte as snap_before saw it.
same_tree() {
	if [ "$(snap "$2")" = "$SNAP" ]; then
		ok "$1"
		return 0
	fi
	notok "$1"
	diag "changes (before/after):$nl$(listing "$2" | diff "$W/.listing" -)"
	return 1
}

# gone NAME: no container of that name exists.
gone() {
	if [ -z "$1" ] || [ "$1" = null ]; then
		diag "no container name (no start event)"
		return 1
	fi
	_gl=$(timeout 30 "$RT" ps -a --filter "name=$1" -q 2>&1)
	[ -z "$_gl" ] && return 0
	diag "still there: $_gl"
	return 1
}

# no_sbx_containers: no container with the label sbx, of the names
# this suite's runs used, is left.  Others (someone else's sbx running
# on the same host) are only shown.
no_sbx_containers() {
	if ! _gl=$(timeout 30 "$RT" ps -a --filter label=sbx \
	    --format '{{.Names}} {{.Status}}' 2>&1); then
		diag "$RT ps failed: $_gl"
		return 1
	fi
	_gbad=0
	while read -r _gn _gs; do
		[ -n "$_gn" ] || continue
		if grep -qxF -- "$_gn" "$NAMES"; then
			diag "left by this suite: $_gn $_gs"
			printf '%s\n' "$_gn" >>"$NAMES.left"
			_gbad=1
		else
			diag "not from this suite, ignored: $_gn $_gs"
		fi
	done <<EOF
$_gl
EOF
	return "$_gbad"
}

# available: the runtime is installed and answers.
available() {
	if ! command -v "$RT" >/dev/null 2>&1; then
		diag "$RT: not found in PATH"
		return 1
	fi
	if ! _ai=$(timeout 30 "$RT" info 2>&1 >/dev/null); then
		diag "$RT info failed: $_ai"
		return 1
	fi
	return 0
}

# images NAME...: the images exist locally.
images() {
	for _im; do
		if ! timeout 30 "$RT" image inspect "$_im" >/dev/null 2>&1; then
			diag "$RT: no image $_im (tests/lib/mkimage.sh builds it)"
			return 1
		fi
	done
	return 0
}

# suite_init INI [runtime ...]: the runtimes to test in $runtimes (both
# by default), and the suite's config, tests/INI, in $CONF.
suite_init() {
	CONF=$here/$1
	shift
	runtimes_of "$@"
	[ -x "$SBX" ] || cannot "$SBX: no such executable (run make first)"
	[ -r "$CONF" ] || cannot "$CONF: missing"
}

# runtime_begin: is $RT there with the test images?  Then the per-runtime
# paths: T (TMPDIR for sbx), W (work), OUT, ERR, NAMES (containers run).
runtime_begin() {
	if ! available; then
		notok "runtime available"
		return 1
	fi
	ok "runtime available"
	diag "$RT: $("$RT" --version 2>&1 | head -n 1)"
	check "images sbx-python and sbx-sh present" \
	    images sbx-python sbx-sh || return 1
	mkdir -p "$BASE/$RT/tmp" "$BASE/$RT/work" || cannot "mkdir in $BASE"
	chmod 700 "$BASE/$RT/tmp"
	T=$BASE/$RT/tmp
	W=$BASE/$RT/work
	OUT=$BASE/$RT/out
	ERR=$BASE/$RT/err
	NAMES=$BASE/$RT/names
	: >"$NAMES"
}

# runtime_end: after the cases of one runtime, no container of the
# suite's runs is left; those a failed case left are removed, so that
# the next runtime starts clean.
runtime_end() {
	check "no container labelled sbx of this suite left" no_sbx_containers
	if [ -s "$NAMES.left" ]; then
		while read -r _rn; do
			timeout 30 "$RT" rm -f "$_rn" >/dev/null 2>&1
		done <"$NAMES.left"
	fi
	diag "$RT: $(wc -l <"$NAMES" | tr -d ' ') containers started"
}
