#!/bin/sh
# $SBX_RESULT, on podman and docker: valid JSON comes back as the
# result's value, on one line, even with a read-only workspace; bad,
# too large or linked results are a value_error and never followed.
set -u
cd "$(dirname "$0")/.." || exit 1
sbx=${SBX:-sbx}
case $sbx in /*) ;; *) sbx=$(pwd)/$sbx ;; esac
t=$(mktemp -d) || exit 1
trap 'rm -rf "$t"' EXIT
mkdir "$t/tmp" "$t/src"
export TMPDIR="$t/tmp"
cd "$t/src" || exit 1
w='import os\nwith open(os.environ["SBX_RESULT"], "w") as f:\n    f.write(%s)\n'
cat >ok.py <<'EOT'
import os
with open(os.environ["SBX_RESULT"], "w") as f:
    f.write('{\n  "answer": 42,\n  "s": "\\u00e9\\n"\n}\n')
EOT
printf "$w" '"{bad"' >bad.py
printf "$w" '"[" + "1," * 600000 + "1]"' >big.py
printf "$w" '"[" * 100 + "]" * 100' >deep.py
printf 'import os\nos.symlink("/etc/hostname", os.environ["SBX_RESULT"])\n' \
    >link.py
printf 'print("no value")\n' >none.py
awk '/From Python:$/ { on = 1; next }
    on && /^    / { sub(/^    /, ""); print; next }
    on && NF { exit }' "$OLDPWD/README.md" >readme.py
[ -s readme.py ] || echo "not ok - value: README's Python snippet found"

say() { if [ "$1" = 0 ]; then echo "ok - value: $2"; else
	echo "not ok - value: $2"; sed 's/^/# /' "$t/out" | tail -3; fi; }
res() { jq -c "select(.event == \"result\") | $1" "$t/out"; }
for rt in ${*:-podman docker}; do
	run() { timeout 60 "$sbx" -c "$OLDPWD/tests/test.ini" -r "$rt" \
	    -d "$t/src" "$@" >"$t/out" 2>/dev/null </dev/null; }
	run ok.py
	[ "$(res '[.status, .value, .value_error]')" = \
	    '[0,{"answer":42,"s":"é\n"},null]' ] &&
	    [ "$(grep -c '"event":"result"' "$t/out")" = 1 ]
	say $? "$rt: a JSON result comes back as value, on one line"
	run -w none ok.py
	[ "$(res .value.answer)" = 42 ]
	say $? "$rt: also with no workspace"
	for c in bad:"not valid JSON" big:"larger than 1 MiB" \
	    deep:"not valid JSON" link:"a symbolic link"; do
		run "${c%%:*}.py"
		[ "$(res '[.status, .value, .value_error]')" = \
		    "[0,null,\"${c#*:}\"]" ]
		say $? "$rt: ${c%%:*}: value_error '${c#*:}'"
	done
	run none.py
	[ "$(res '[.value, .value_error]')" = '[null,null]' ]
	say $? "$rt: no result, no value, no error"
	# The README's snippet, under every shipped template that has no
	# network (those are tested by their dry-run argv only).
	for tp in $("$sbx" -c "$OLDPWD/sbx.ini" -l |
	    jq -r 'select(.limits.network == false) | .name'); do
		timeout 120 "$sbx" -c "$OLDPWD/sbx.ini" -t "$tp" -r "$rt" \
		    -d "$t/src" readme.py >"$t/out" 2>/dev/null </dev/null
		[ "$(res '[.status, .value, .import_refused]')" = \
		    '[0,{"score":0.93},null]' ]
		say $? "$rt: the README's value snippet under template $tp"
	done
	[ -z "$(ls -A "$TMPDIR")" ]
	say $? "$rt: nothing left in TMPDIR"
done
exit 0
