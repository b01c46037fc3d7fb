#!/bin/sh
# The Python import guard, on podman and docker.  It judges only the
# imports the script's own code executes: allowed ones and the script's
# own modules run; others raise ModuleNotFoundError where the script
# made them (a try/except fallback works) and are reported; the
# interpreter's and the standard library's own imports, lazy ones
# included, always go through; the script's failures look exactly as
# under plain python; an empty list means no guard at all.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtimes_of "$@"
suite_base guard
t=$BASE
private_tmpdir
mkdir "$t/src"
cat >"$t/g.ini" <<'EOT'
[default]
memory = 128m
timeout = 20
authorized_imports = collections importlib

[open]
authorized_imports =

[language py]
command = python3 -u -B
image = sbx-python
EOT
cd "$t/src" || exit 1
printf 'import json\nimport helper\nprint(json.dumps(helper.x))\n' >ok.py
printf 'import collections\nx = list(collections.Counter("aab").items())\n' \
    >helper.py
printf 'import json\nprint("ran")\nimport socket\n' >late.py
printf 'import json\nprint("ran")\n__import__("subprocess")\n' >dyn.py
printf 'print("ran")\nm = "sock" + "et"\nexec("import " + m)\n' >exec.py
printf 'from subprocess import run\n' >from.py
printf 'import importlib\nimportlib.import_module("ctypes")\n' >imod.py
printf 'import importlib\nimportlib.__import__("ctypes")\n' >imp.py
printf 'echo ctypes >/sbx/out/refused\n' >forge.sh
# What looks like the interpreter's own import, code with globals of its
# own, a relative import into a module, a directory named like one.
printf 'import json\n__import__("socket", fromlist=[])\n' >likec.py
printf 'import json\nexec("import socket", {})\n' >ownglobals.py
printf 'import json\n__import__("", {"__package__": "socket"}, None, (), 1)\n' \
    >relative.py
printf 'import json, os\nos.mkdir("/workspace/socket")\nimport socket\n' \
    >emptydir.py
printf 'import importlib\nprint(importlib.import_module("json").dumps(1))\n' \
    >imodok.py
printf 'import badhelper\n' >viahelper.py
printf 'import json\nimport shutil\n' >badhelper.py
printf 'import json\nprint(json.dumps({"a": [1]}))\nimport json.decoder\n' \
    >stdlib.py
printf 'import socket, os\nprint(os.getpid() > 0)\n' >open.py
printf 'try:\n    import socket\nexcept ImportError:\n    socket = None\nprint(socket)\n' \
    >fallback.py
printf 'if False:\n    import socket\nprint("fine")\n' >never.py
# The everyday failures and lazy imports that the old guard refused.
printf 'def f():\n    return 1/0\nf()\n' >zero.py
printf 'import datetime\nprint(datetime.datetime.strptime("2020-03-04", "%%Y-%%m-%%d").month)\n' \
    >strptime.py
printf 'print("b\\u00fccher.example".encode("idna"))\n' >idna.py
printf 'x = (\n' >syntax.py
printf 'import sys\nprint(sys.stdin.readline().strip().upper())\n' >stdin.py
printf 'import warnings\nwarnings.warn("careful")\nprint(__name__)\n' >warn.py

# run RT NAME TEMPLATE: result in $t/out, status echoed
run() {
	timeout 60 "$SBX" -c "$t/g.ini" -r "$1" -t "$3" -d "$t/src" "$2" \
	    >"$t/out" 2>/dev/null </dev/null
	echo $?
}
field() { jq -r "select(.event == \"result\") | .$1" "$t/out"; }
stream() { jq -j "select(.event == \"$1\") | .data" "$t/out"; }
show() { diag "$(head -n 8 "$t/out")"; }
# plain RT NAME: the same script by plain python in the same image
plain() {
	"$1" run --rm --network=none --user=65534:65534 --read-only \
	    --mount=type=bind,source="$t/src",target=/workspace,ro \
	    --workdir=/workspace -i sbx-python python3 -u -B "/workspace/$2" \
	    >"$t/pout" 2>"$t/perr" </dev/null
	echo $?
}
# same RT NAME TEMPLATE: stdout, stderr and status as under plain python
same() {
	prc=$(plain "$1" "$2")
	rc=$(run "$1" "$2" "$3")
	stream stdout >"$t/sout"
	stream stderr >"$t/serr"
	[ "$rc" = "$prc" ] && cmp -s "$t/pout" "$t/sout" &&
	    cmp -s "$t/perr" "$t/serr" && [ "$(field import_refused)" = null ]
	r=$?
	if [ $r != 0 ]; then
		echo "# plain status $prc, sbx $rc; plain stderr:"
		sed 's/^/#   /' "$t/perr" | head -8
	fi
	return $r
}

for RT in $runtimes; do
	rc=$(run "$RT" ok.py default)
	[ "$rc" = 0 ] && grep -q '"data":"\[\[\\"a\\", 2\], \[\\"b\\", 1\]\]' \
	    "$t/out"
	say $? "allowed and base imports and the script's own module run"
	rc=$(run "$RT" stdlib.py default)
	[ "$rc" = 0 ] && [ "$(field import_refused)" = null ]
	say $? "the standard library's own imports go through"
	for s in zero strptime idna syntax warn; do
		same "$RT" "$s.py" default
		say $? "$s.py: output and status as under plain python"
	done
	printf 'hello\n' | timeout 60 "$SBX" -c "$t/g.ini" -r "$RT" \
	    -d "$t/src" stdin.py >"$t/out" 2>/dev/null
	[ $? = 0 ] && [ "$(stream stdout)" = HELLO ]
	say $? "sys and standard input work under a guarded template"
	for s in late:socket:3 from:subprocess:1 dyn:subprocess:3 \
	    exec:socket:1 imod:ctypes:2 imp:ctypes:2 viahelper:shutil:2 \
	    likec:socket:2 ownglobals:socket:1 relative:socket:2; do
		n=${s%%:*} m=${s#*:} line=${m#*:} m=${m%:*}
		rc=$(run "$RT" "$n.py" default)
		err=$(stream stderr)
		[ "$rc" = 1 ] && [ "$(field import_refused)" = "$m" ] &&
		    grep -q "\"import of '$m' refused by template 'default'\"" \
		    "$t/out" &&
		    case $err in *sbx_guard*) false ;; *) true ;; esac &&
		    case $err in *"line $line, in <module>"*"ModuleNotFoundError: import of '$m' refused by sbx"*) true ;;
		    *) false ;; esac
		say $? "$n.py: '$m' refused where it is executed (line $line), as ModuleNotFoundError, no guard frames"
	done
	for s in late exec; do
		run "$RT" "$s.py" default >/dev/null
		[ "$(stream stdout)" = "ran" ]
		say $? "$s.py ran up to its refused import"
	done
	timeout 60 "$SBX" -c "$t/g.ini" -r "$RT" -w rw -d "$t/src" emptydir.py \
	    >"$t/out" 2>/dev/null </dev/null
	[ $? = 1 ] && [ "$(field import_refused)" = socket ]
	say $? "an empty directory named socket does not let socket in"
	rc=$(run "$RT" fallback.py default)
	[ "$rc" = 0 ] && [ "$(stream stdout)" = None ] &&
	    [ "$(field import_refused)" = socket ] &&
	    grep -q '"event":"warning","message":"import of '"'socket'"' refused' \
	    "$t/out"
	say $? "a refused import can be caught like a missing module; reported as a warning"
	timeout 60 "$SBX" -c "$t/g.ini" -r "$RT" -d "$t/src" forge.sh \
	    >"$t/out" 2>/dev/null </dev/null
	[ $? = 0 ] && [ "$(field import_refused)" = null ] &&
	    ! grep -q '"event":"error"' "$t/out"
	say $? "a script's own /sbx/out/refused is not a refusal without the guard"
	rc=$(run "$RT" never.py default)
	[ "$rc" = 0 ] && [ "$(field import_refused)" = null ]
	say $? "an import that never runs is not judged"
	rc=$(run "$RT" imodok.py default)
	[ "$rc" = 0 ] && [ "$(stream stdout)" = 1 ]
	say $? "importlib.import_module of an allowed module"
	rc=$(run "$RT" open.py open)
	[ "$rc" = 0 ] && grep -q '"data":"True' "$t/out" &&
	    "$SBX" -c "$t/g.ini" -r "$RT" -t open -D -d "$t/src" open.py |
	    jq -e '.argv | index("/sbx/sbx_guard.py") == null' >/dev/null
	say $? "an empty list means no guard"
	# The shipped templates: sys and stdin under each (no network
	# ones: those are dry-run only), and ml's packages out of the box.
	for tp in $("$SBX" -c "$root/sbx.ini" -l |
	    jq -r 'select(.limits.network == false) | .name'); do
		printf 'hello\n' | timeout 120 "$SBX" -c "$root/sbx.ini" \
		    -r "$RT" -t "$tp" -d "$t/src" stdin.py >"$t/out" 2>/dev/null
		[ $? = 0 ] && [ "$(stream stdout)" = HELLO ]
		say $? "shipped template $tp: sys and standard input"
	done
	printf 'import numpy, pandas, sklearn, matplotlib\nprint(numpy.arange(3).sum())\n' \
	    >ml.py
	timeout 120 "$SBX" -c "$root/sbx.ini" -r "$RT" -t ml -d "$t/src" \
	    ml.py >"$t/out" 2>/dev/null </dev/null
	[ $? = 0 ] && [ "$(stream stdout)" = 3 ] && [ "$(field stderr_bytes)" = 0 ]
	say $? "shipped template ml: numpy, pandas, sklearn, matplotlib"
	[ -z "$(ls -A "$TMPDIR")" ]
	say $? "nothing left in TMPDIR"
done
exit 0
