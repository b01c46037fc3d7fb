#!/bin/sh
# tests/transparency.sh: is sbx transparent?  The differential test.
#
# usage: tests/transparency.sh [podman|docker ...]	(default: both)
#
# Each script of the corpus in tests/transparency/ runs once by a plain
# "podman run" / "docker run" of the same image and interpreter with the
# corpus mounted at /workspace, and once through sbx with the shipped
# sbx.ini; its stdout, stderr and exit status must be the same, byte for
# byte.  Python scripts run under default and under every other shipped
# template that allows their imports (the guard's base set, the
# template's authorized_imports, the corpus's own modules), shell and
# node scripts under default and secure; each comparison is a job of its
# own, "$0 --job RUNTIME SEQ FILE TEMPLATE", several at once.  One line
# "ok - transparency: RUNTIME: FILE under TEMPLATE" per comparison; the
# differences of a failure follow as "# " lines.  Every difference that
# remains is documented in sbx(1) CAVEATS.  A runtime or an image that
# is missing is a failure, never a skip.  Exits 0 even when comparisons
# fail, 2 when it cannot run at all.
#
# Environment: SBX (the sbx under test, default the tree's; a copy of it
# and of sbx.ini taken at the start is what runs), TRANSPARENCY_CASES
# (file names: only those scripts), TRANSPARENCY_JOBS (comparisons run at
# once, default 4).
#
# The corpus: a .py file is a script if one of its first lines is
# "# imports: MODULE ..." naming the top-level modules its own code
# imports (none is fine); other .py files are local modules the scripts
# import.  Every .sh and .js file is a script.  FILE.stdin, if there, is
# the script's stdin (else /dev/null); FILE.args its arguments, one a
# line; FILE.caveat a documented difference (see caveat below).  A
# script may import only what default allows.
#
# What the plain run mirrors.  Its flags are taken from sbx's own argv
# (sbx -D, for the same template and script) and each one is sorted into
# one of three kinds; a flag of no kind fails the comparison, so that a
# new option of sbx is never mirrored, or left out, unseen:
#   mirrored, as sbx gives it: podman's --runtime and --runtime-flag
#     before "run", docker's --runtime, --interactive (and the same stdin),
#     --pull=never, --network=none, --read-only, --read-only-tmpfs=false,
#     --tmpfs=/tmp:..., --shm-size, --cap-drop=ALL,
#     --security-opt=no-new-privileges, --user, --hostname=sbx, --memory,
#     --memory-swap, --cpus, --pids-limit, --ulimit=..., --http-proxy=false,
#     --workdir=/workspace,
#     --env=SBX_RESULT=/sbx/out/result.json, docker's --env=HTTP_PROXY and
#     the like with no value (the plain run's client has none of them set:
#     see the runs);
#   replaced by its plain equivalent: sbx's init (--entrypoint=/sbx/init,
#     its "-t SECONDS --" and its mount) by tini (--init, and for podman
#     --init-path=/usr/bin/tini-static, as docker's init is tini); the
#     read-only workspace mount (the
#     corpus directory itself, read-only, where sbx mounts its copy) and
#     the writable /sbx/out (an empty directory of the same owner);
#   sbx's own, left out: --name and --label (the plain run has a name of
#     its own, to clean up after a timeout), --log-driver=none, --rm (the
#     plain run always has --rm; sbx removes docker containers itself),
#     the read-only /sbx mount that holds the import guard, and the key
#     of sbx's init (--env=SBX_INIT_KEY=..., which the init takes out of
#     the script's environment: see the env_view cases).
# The command is not taken from sbx but written here, per language:
# "python3 -u -B", "sh", "node", then /workspace/FILE and its arguments;
# a comparison fails if sbx runs anything else (the import guard aside:
# "/sbx/sbx_guard.py TEMPLATE LIST" between the two).
#
# "Paths of frames aside": the script is /workspace/FILE in both runs, so
# nothing is normalized.  Through sbx, stdout and stderr are the data of
# its stdout and stderr events, concatenated; sbx makes invalid UTF-8
# U+FFFD, so the plain output is compared after Python's replacement
# (bytes.decode("utf-8", "replace"): one U+FFFD for each maximal invalid
# subpart, as the Unicode standard recommends; the identity on valid
# UTF-8), and result.stdout_bytes and stderr_bytes must equal the plain
# run's raw byte counts.  The order between the two streams cannot be
# compared and is not.
#
# Templates with network = true (web) are not run: no container here ever
# gets a network.
set -u

# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
# shellcheck source=tests/lib/runtime.sh
. "$here/lib/runtime.sh"
CORPUS=$here/transparency

# The base set of modules that every guarded template authorizes, until
# guard.py defines it (between 'BASE = frozenset("""' and '""".split())').
BASE_FALLBACK='__future__ abc array bisect calendar cmath collections
contextlib copy dataclasses datetime decimal enum fractions functools heapq
io itertools json math numbers operator os pprint queue random re stat
statistics string struct sys textwrap time traceback typing unicodedata
warnings'

# --- one comparison (run as "$0 --job RT SEQ FILE TEMPLATE") --------------

# interp FILE: the interpreter of FILE's language, as words.
interp() {
	case $1 in
	*.py) echo "python3 -u -B" ;;
	*.sh) echo "sh" ;;
	*.js) echo "node" ;;
	esac
}

# plan ARGV_JSON NAME OUTDIR FILE ARGS: from sbx's dry-run argv event,
# five lines: the flags of no kind; "true" if sbx runs the interpreter on
# FILE with the arguments (the complete lines of the file ARGS, as the
# shell's read takes them); the --user; sbx's command; the argv of the
# plain run, quoted for eval.
plan() {
	jq -r --arg corpus "$CORPUS" --arg name "$2" --arg out "$3" \
	    --arg file "$4" --rawfile args "$5" --arg interp "$(interp "$4")" \
	    --arg tini "$TINI" '
	def kind:
		if IN("--interactive", "--pull=never", "--network=none",
		    "--read-only", "--read-only-tmpfs=false", "--cap-drop=ALL",
		    "--security-opt=no-new-privileges", "--hostname=sbx",
		    "--http-proxy=false", "--workdir=/workspace",
		    "--env=SBX_RESULT=/sbx/out/result.json") or
		    test("^--runtime(-flag)?=[A-Za-z0-9._=:/-]+$") or
		    test("^--(" + (["tmpfs=/tmp:[a-z0-9,=]+",
		    "shm-size=[0-9]+", "user=[0-9]+:[0-9]+", "memory=[0-9]+",
		    "memory-swap=[0-9]+", "cpus=[0-9.]+", "pids-limit=[0-9]+",
		    "ulimit=(nofile|nproc|cpu|fsize)=[0-9]+:[0-9]+",
		    "env=(HTTP|HTTPS|FTP|NO|ALL|http|https|ftp|no|all)_(PROXY|proxy)"] |
		    join("|")) + ")$")
		then {mirror: .}
		elif test("^--mount=type=bind,source=[^,]*,target=/workspace,ro$")
		then {mirror: "--mount=type=bind,source=\($corpus),target=/workspace,ro"}
		elif . == "--entrypoint=/sbx/init"
		then {mirror: (["--init"] + if $tini == "" then [] else
		    ["--init-path=" + $tini] end)}
		elif test("^--mount=type=bind,source=[^,]*,target=/sbx/out$")
		then {mirror: "--mount=type=bind,source=\($out),target=/sbx/out"}
		elif test("^--(name|label)=") or IN("--log-driver=none", "--rm") or
		    test("^--mount=type=bind,source=[^,]*,target=/sbx(/init)?,ro$") or
		    test("^--env=SBX_INIT_KEY=[0-9a-f]{32}$")
		then {sbx: .}
		else {unknown: .} end;
	.argv as $v | ($interp | split(" ")) as $in |
	(["/workspace/" + $file] + ($args | split("\n") | .[:-1])) as $tail |
	($v | index("run")) as $r |
	([range($r + 1; $v | length) | select($v[.] | startswith("-") | not)]
	    [0]) as $i |
	[$v[$r + 1:$i][] | kind] as $k |
	# podman'"'"'s own options before "run": the OCI runtime and its flags.
	[$v[1:$r][] | kind] as $g |
	# sbx-supervise as init: "-t SECONDS --" before the command.
	$v[$i + 1:] as $c0 |
	(if $c0[0] == "-t" and $c0[2] == "--" then $c0[3:] else ["?"] end)
	    as $c |
	([$g[], $k[] | .unknown // empty] | join(" ")),
	($c[:$in | length] == $in and
	    $c[$c | length - ($tail | length):] == $tail and
	    ((($c | length) - ($in | length) - ($tail | length)) as $m |
	    $m == 0 or ($m == 3 and $c[$in | length] == "/sbx/sbx_guard.py"))),
	([$k[] | .mirror // empty | strings |
	    select(startswith("--user="))][0] //
	    "" | ltrimstr("--user=")),
	($c | join(" ")),
	([$v[0]] + [$g[] | .mirror // empty] + ["run", "--rm", "--name=" + $name] +
	    [$k[] | .mirror // empty | arrays // [.] | .[]] + [$v[$i]] +
	    $in + $tail | map(@sh) |
	    join(" "))
	' "$1"
}

# utf8ok FILE: FILE with invalid UTF-8 replaced as sbx replaces it.
utf8ok() {
	if iconv -f UTF-8 -t UTF-8 <"$1" >/dev/null 2>&1; then
		cat "$1"
		return
	fi
	python3 -c 'import sys
sys.stdout.buffer.write(sys.stdin.buffer.read().decode("utf-8", "replace")
    .encode("utf-8"))' <"$1"
}

# differs WHAT PLAIN SBX: how two files differ, in a few lines: where
# first (lines may be long), then a diff of lines cut to 200 bytes.
differs() {
	printf '%s differs (< plain, > sbx): %s\n' "$1" "$(cmp "$2" "$3" 2>&1 |
	    sed -e "s#^$2 $3 differ: #first at #" \
	    -e "s#^cmp: EOF on $2#the plain run's ends#" \
	    -e "s#^cmp: EOF on $3#sbx's ends#")"
	diff -a "$2" "$3" | cut -c 1-200 | head -n 30
}

# fault TEXT...: one difference of this comparison, shown after its line.
fault() {
	_bad=1
	diag "$@" >>"$_d/diag"
}

# runs FILE ARG...: sbx's run and the plain one, in $_d, and compare.  The
# plain run is the same user as sbx's was: with user = auto, each run of
# sbx draws one of its own.
runs() {
	timeout -k 5 60 env TMPDIR="$T" "$SBX" -c "$CONF" -r "$RT" -t "$_tpl" \
	    -d "$CORPUS" "$@" <"$_in" >"$_d/s.jsonl" 2>"$_d/s.log"
	_src=$?
	# Not lib.sh's J: jq 1.6 makes U+FFFD of a character that its raw
	# input (-R) cuts at a 4 KB boundary (jq issues 2259, 3389); --rawfile
	# reads whole characters.
	jq -n -r --rawfile s "$_d/s.jsonl" '[$s | split("\n")[] | fromjson?] |
	    (map(select(.event == "start"))[0] // {} |
	    "\(.name) \(.uid):\(.gid)"),
	    (map(select(.event == "result"))[0] // {} |
	    "\(.stdout_bytes) \(.stderr_bytes)"),
	    ([(.[] | select(.event == "error") | .message),
	    (.[] | select(.event == "result") | .error // empty)] |
	    join(" / ") | gsub("\n"; " ")),
	    (map(select(.event == "stdout") | .data) | join("") | @base64),
	    (map(select(.event == "stderr") | .data) | join("") | @base64)' \
	    >"$_d/s.lines"
	{ read -r _nm _su; read -r _sb; IFS= read -r _e; } <"$_d/s.lines"
	[ "$_nm" = null ] || printf '%s\n' "$_nm" >>"$NAMES"
	sed -n 4p "$_d/s.lines" | base64 -d >"$_d/s.out"
	sed -n 5p "$_d/s.lines" | base64 -d >"$_d/s.err"

	case $_su in
	[0-9]*:[0-9]*) _user=$_su ;;
	esac
	_pargs=$(printf '%s\n' "$_sargs" |
	    sed "s/'--user=[0-9]*:[0-9]*'/'--user=$_user'/")
	# As sbx makes its /sbx/out: the container user's, or open to all.
	if chown "$_user" "$_d/out" 2>/dev/null; then
		chmod 700 "$_d/out"
	else
		chmod 777 "$_d/out"
	fi
	(eval "set -- $_pargs" && exec timeout -k 5 60 "$@") \
	    <"$_in" >"$_d/p.out" 2>"$_d/p.err"
	_prc=$?
	if [ "$_prc" = 124 ] || [ "$_prc" = 137 ]; then
		fault "the 60 s safety timeout stopped the plain run"
		"$RT" rm -f "$_name" >/dev/null 2>&1
	fi

	compare
}

# job RT SEQ FILE TEMPLATE: one comparison, its lines in res/SEQ.
job() {
	RT=$1 _seq=$2 _file=$3 _tpl=$4
	_d=$BASE/$RT/job/$_seq
	mkdir -p "$_d/out" || exit 1
	exec >"$BASE/$RT/res/$_seq"
	_in=/dev/null
	[ -f "$CORPUS/$_file.stdin" ] && _in=$CORPUS/$_file.stdin
	_args=/dev/null
	[ -f "$CORPUS/$_file.args" ] && _args=$CORPUS/$_file.args
	set -- "$_file"
	while IFS= read -r _a; do set -- "$@" "$_a"; done <"$_args"
	_what="$_file under $_tpl"
	_bad=0
	: >"$_d/diag"

	# sbx's argv, and from it the plain run's.
	if ! "$SBX" -c "$CONF" -r "$RT" -t "$_tpl" -D -d "$CORPUS" "$@" \
	    >"$_d/argv" 2>"$_d/argv.err"; then
		notok "$_what"
		diag "sbx -D failed: $(cat "$_d/argv" "$_d/argv.err")"
		return
	fi
	_name=sbx-transparency-$$-$_seq
	if ! plan "$_d/argv" "$_name" "$_d/out" "$_file" "$_args" \
	    >"$_d/plan" 2>&1; then
		notok "$_what"
		diag "cannot read sbx's argv: $(cat "$_d/plan")"
		return
	fi
	{ IFS= read -r _unk; read -r _cmdok; read -r _user
	    IFS= read -r _cmd; IFS= read -r _sargs; } <"$_d/plan"
	[ -z "$_unk" ] ||
	    fault "sbx flags neither mirrored nor known to be sbx's own: $_unk"
	[ "$_cmdok" = true ] ||
	    fault "sbx does not run '$(interp "$_file") /workspace/$*': $_cmd"
	runs "$@"
	if [ "$_bad" = 0 ]; then
		ok "$_what"
	else
		notok "$_what"
		cat "$_d/diag"
		[ -z "$_e" ] || diag "sbx's errors: $_e"
		[ -s "$_d/s.log" ] &&
		    diag "sbx's own stderr:$nl$(head -c 600 "$_d/s.log")"
	fi
	rm -rf "$_d"
}

# caveat: a difference that sbx(1) CAVEATS documents, as FILE.caveat, a
# sed script that turns sbx's output (stdout and stderr alike) into the
# plain run's, or both into one form (where the plain run's init differs
# by runtime).  It must change something, so that a caveat that no
# longer holds is noticed; the byte counts are then not compared.
caveat() {
	_cv=$CORPUS/$_file.caveat
	[ -f "$_cv" ] || return 1
	for _s in s.out s.err p.outv p.errv; do
		sed -f "$_cv" "$_d/$_s" >"$_d/$_s.c"
		cmp -s "$_d/$_s" "$_d/$_s.c" || _cvhit=1
		mv "$_d/$_s.c" "$_d/$_s"
	done
	[ -n "${_cvhit:-}" ] ||
	    fault "$_file.caveat: the documented difference is gone"
	return 0
}

# compare: the plain run's output and status against sbx's, in $_d.
compare() {
	utf8ok "$_d/p.out" >"$_d/p.outv"
	utf8ok "$_d/p.err" >"$_d/p.errv"
	_cvhit=
	caveat && _nocount=1 || _nocount=
	cmp -s "$_d/p.outv" "$_d/s.out" ||
	    fault "$(differs stdout "$_d/p.outv" "$_d/s.out")"
	cmp -s "$_d/p.errv" "$_d/s.err" ||
	    fault "$(differs stderr "$_d/p.errv" "$_d/s.err")"
	[ "$_prc" = "$_src" ] ||
	    fault "exit status: plain $_prc, sbx $_src"
	_pb="$(wc -c <"$_d/p.out" | tr -d ' ') $(wc -c <"$_d/p.err" | tr -d ' ')"
	[ -n "$_nocount" ] || [ "$_pb" = "$_sb" ] ||
	    fault "stdout and stderr bytes: plain $_pb, sbx $_sb"
}

if [ "${1:-}" = --job ]; then
	shift
	job "$@"
	exit 0
fi

# --- the suite -------------------------------------------------------------

suite_init ../sbx.ini "$@"
for tool in jq timeout python3 xargs cmp diff; do
	command -v "$tool" >/dev/null 2>&1 || cannot "$tool is needed"
done
[ -d "$CORPUS" ] || cannot "$CORPUS: missing"
case $CORPUS in
*,* | *\"* | *\'*) cannot "$CORPUS: its path must not hold , \" or '" ;;
esac
suite_base tr
# sbx's docker client runs without them; so does the plain run's.
unset HTTP_PROXY http_proxy HTTPS_PROXY https_proxy FTP_PROXY ftp_proxy \
    NO_PROXY no_proxy ALL_PROXY all_proxy
# What is tested is what was there at the start, not a binary or a
# config rebuilt while the suite runs.
# The supervisor, sbx's init, goes beside the copy of sbx.
sup=${SBX_SUPERVISE:-$(dirname "$SBX")/sbx-supervise}
if ! cp "$SBX" "$BASE/sbx" || ! cp "$sup" "$BASE/sbx-supervise" ||
    ! cp "$CONF" "$BASE/sbx.ini"; then
	cannot "cannot copy $SBX, $sup and $CONF"
fi
unset SBX_SUPERVISE
SBX=$BASE/sbx CONF=$BASE/sbx.ini
export SBX CONF CORPUS BASE

# The base set, from guard.py once it has one.
base=$(sed -n '/^BASE = frozenset("""/,/^""".split())/p' "$here/../guard.py" |
    sed '1d;$d')
if [ -n "$base" ]; then
	echo "# base set of authorized imports: from guard.py"
else
	base=$BASE_FALLBACK
	echo "# base set of authorized imports: guard.py has none yet, the" \
	    "fallback list"
fi
# shellcheck disable=SC2086
base=$(printf '%s\n' $base)

# Templates: name, image (or "-") and authorized imports, one a line;
# network ones are named and left out.
"$SBX" -c "$CONF" -l >"$BASE/templates" 2>&1 ||
    cannot "sbx -l failed: $(cat "$BASE/templates")"
for t in $(jq -r 'select(.limits.network) | .name' "$BASE/templates"); do
	echo "# template $t has network = true: not run, no container here" \
	    "gets a network"
done
jq -r 'select(.limits.network | not) | [.name, .image // "-"] +
    .limits.authorized_imports | join(" ")' "$BASE/templates" \
    >"$BASE/tpls"
# Under gVisor (sbx(1) CAVEATS): a pipe takes part of a large write,
# and python3 -u drops the rest, plain or through sbx alike, so the
# outputs of the cases that write more than a pipe holds differ from run
# to run; and gVisor checks permission before a read-only mount, so a
# write to /workspace fails with EROFS in sbx's copy, which the
# container user owns, and EACCES in the plain run's, which it does
# not.  Those cases are not compared under a template with an OCI
# runtime of its own.
oci=$(jq -r 'select(.limits.oci_runtime) | .name' "$BASE/templates")
big="large_output.py unicode_out.py tmp_write.py"
for o in $oci; do
	echo "# template $o has its own OCI runtime: $big not compared" \
	    "under it (gVisor's partial writes and permission check)"
done

# allows IMPORTS TPL_LINE: the template of that line allows every module.
allows() {
	# shellcheck disable=SC2086
	set -- "$1" $2
	_ai=$1 _an=$2
	shift 3
	[ "$_an" = default ] && return 0
	[ $# = 0 ] && return 0		# no list, no guard
	for _m in $_ai; do
		printf '%s\n' "$base" "$@" | grep -qxF -- "$_m" && continue
		[ -f "$CORPUS/$_m.py" ] || [ -d "$CORPUS/$_m" ] && continue
		return 1
	done
	return 0
}

# The comparisons, "FILE TEMPLATE" a line.
: >"$BASE/cmp"
for f in $(cd "$CORPUS" && ls); do
	case " ${TRANSPARENCY_CASES:-$f} " in *" $f "*) ;; *) continue ;; esac
	case $f in
	*.py)
		im=$(sed -n '1,5{/^# imports:/{p;q;}}' "$CORPUS/$f")
		[ -n "$im" ] || continue	# a local module
		im=${im#\# imports:}
		while read -r line; do
			case " $oci " in *" ${line%% *} "*)
				case " $big " in *" $f "*) continue ;; esac ;;
			esac
			allows "$im" "$line" &&
			    echo "$f ${line%% *}" >>"$BASE/cmp"
		done <"$BASE/tpls"
		;;
	*.sh | *.js)
		echo "$f default" >>"$BASE/cmp"
		echo "$f secure" >>"$BASE/cmp"
		;;
	esac
done
[ -s "$BASE/cmp" ] || cannot "no scripts to compare"
jobs=${TRANSPARENCY_JOBS:-4}

for RT in $runtimes; do
	runtime_begin || continue
	# The plain run's init: docker's is tini, podman's too when here.
	TINI=
	[ "$RT" = podman ] && [ -x /usr/bin/tini-static ] &&
	    TINI=/usr/bin/tini-static
	export RT T NAMES TINI
	mkdir -p "$BASE/$RT/res" "$BASE/$RT/job"
	# The images: each language's, each template's own.
	imgs="sbx-node $(awk '$2 != "-" { print $2 }' "$BASE/tpls" | sort -u)"
	: >"$BASE/$RT/skip"
	for im in $imgs; do
		if check "image $im present" images "$im"; then :; else
			awk -v im="$im" '$2 == im { print $1 }' "$BASE/tpls" \
			    >>"$BASE/$RT/skip"
			[ "$im" = sbx-node ] && echo "*.js" >>"$BASE/$RT/skip"
		fi
	done
	: >"$BASE/$RT/jobs"
	n=0
	while read -r f tpl; do
		if grep -qxF -- "$tpl" "$BASE/$RT/skip" ||
		    { case $f in *.js) grep -qxF '*.js' "$BASE/$RT/skip" ;;
		    *) false ;; esac; }; then
			continue
		fi
		n=$((n + 1))
		echo "$n $f $tpl" >>"$BASE/$RT/jobs"
	done <"$BASE/cmp"
	skipped=$(($(wc -l <"$BASE/cmp") - n))
	[ "$skipped" = 0 ] ||
	    diag "$RT: $skipped comparisons not run for want of an image"
	t0=$(date +%s)
	xargs -P "$jobs" -L 1 sh "$here/transparency.sh" --job "$RT" \
	    <"$BASE/$RT/jobs"
	t1=$(date +%s)
	i=1
	while [ "$i" -le "$n" ]; do
		if [ -s "$BASE/$RT/res/$i" ]; then
			cat "$BASE/$RT/res/$i"
		else
			notok "comparison $i ($(sed -n \
			    "${i}s/^[0-9]* //p" "$BASE/$RT/jobs")) gave no result"
		fi
		i=$((i + 1))
	done
	diag "$RT: $n comparisons in $((t1 - t0)) s"
	check "TMPDIR empty again" tmp_empty
	runtime_end
	left=$(timeout 30 "$RT" ps -a --filter name=sbx-transparency- -q 2>&1)
	is "no plain container left" "$left" ""
done
exit 0
