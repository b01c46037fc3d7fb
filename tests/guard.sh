#!/bin/sh
# The Python import guard, on podman and docker: allowed imports run,
# others are refused before the script runs or when it tries at run
# time, the standard library's own imports and the script's own modules
# go through, and an empty list means no guard at all.
set -u
cd "$(dirname "$0")/.." || exit 1
sbx=$(pwd)/${SBX:-sbx}
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
mkdir "$t/tmp" "$t/src"
export TMPDIR="$t/tmp"
cat >"$t/g.ini" <<'EOT'
[default]
memory = 128m
timeout = 20
authorized_imports = json collections

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
printf 'import json\nprint("ran")\nimport socket\n' >static.py
printf 'import json\nprint("ran")\n__import__("subprocess")\n' >dyn.py
printf 'import json\nprint("ran")\nm = "o" + "s"\nexec("import " + m)\n' \
    >exec.py
printf 'from os import path\n' >from.py
printf 'import json\nprint(json.dumps({"a": [1]}))\nimport json.decoder\n' \
    >stdlib.py
printf 'import socket, os\nprint(os.getpid() > 0)\n' >open.py

# run RT NAME TEMPLATE: result in $t/out
run() {
	timeout 60 "$sbx" -c "$t/g.ini" -r "$1" -t "$3" -d "$t/src" "$2" \
	    >"$t/out" 2>/dev/null </dev/null
	echo $?
}
field() { jq -r "select(.event == \"result\") | .$1" "$t/out"; }
say() { if [ "$1" = 0 ]; then echo "ok - guard: $2"; else
	echo "not ok - guard: $2"; sed 's/^/# /' "$t/out" | head -5; fi; }

for rt in ${*:-podman docker}; do
	rc=$(run "$rt" ok.py default)
	[ "$rc" = 0 ] && grep -q '"data":"\[\[\\"a\\", 2\], \[\\"b\\", 1\]\]' \
	    "$t/out"
	say $? "$rt: allowed imports and the script's own module run"
	rc=$(run "$rt" stdlib.py default)
	[ "$rc" = 0 ] && [ "$(field import_refused)" = null ]
	say $? "$rt: the standard library's own imports go through"
	for s in static:socket from:os; do
		rc=$(run "$rt" "${s%:*}.py" default)
		[ "$rc" = 1 ] && [ "$(field import_refused)" = "${s#*:}" ] &&
		    ! grep -q '"data":"ran' "$t/out" &&
		    grep -q "\"import of '${s#*:}' refused by template 'default'\"" \
		    "$t/out"
		say $? "$rt: '${s#*:}' refused before the script runs"
	done
	for s in dyn:subprocess exec:os; do
		rc=$(run "$rt" "${s%:*}.py" default)
		[ "$rc" = 1 ] && [ "$(field import_refused)" = "${s#*:}" ] &&
		    grep -q '"data":"ran' "$t/out"
		say $? "$rt: '${s#*:}' refused at run time"
	done
	rc=$(run "$rt" open.py open)
	[ "$rc" = 0 ] && grep -q '"data":"True' "$t/out" &&
	    "$sbx" -c "$t/g.ini" -r "$rt" -t open -D -d "$t/src" open.py |
	    jq -e '.argv | index("/sbx/sbx_guard.py") == null' >/dev/null
	say $? "$rt: an empty list means no guard"
	[ -z "$(ls -A "$TMPDIR")" ]
	say $? "$rt: nothing left in TMPDIR"
done
exit 0
