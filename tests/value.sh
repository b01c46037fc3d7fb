#!/bin/sh
# $SBX_RESULT, on podman and docker: valid JSON comes back as the
# result's value, on one line, even with a read-only workspace; bad,
# too large or linked results are a value_error and never followed.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtimes_of "$@"
suite_base value
t=$BASE
private_tmpdir
mkdir "$t/src"
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
    on && NF { exit }' "$root/README.md" >readme.py
[ -s readme.py ]
say $? "README's Python snippet found"

show() { diag "$(tail -n 3 "$t/out")"; }
res() { jq -c "select(.event == \"result\") | $1" "$t/out"; }
for RT in $runtimes; do
	run() { timeout 60 "$SBX" -c "$root/tests/test.ini" -r "$RT" \
	    -d "$t/src" "$@" >"$t/out" 2>/dev/null </dev/null; }
	run ok.py
	[ "$(res '[.status, .value, .value_error]')" = \
	    '[0,{"answer":42,"s":"é\n"},null]' ] &&
	    [ "$(grep -c '"event":"result"' "$t/out")" = 1 ]
	say $? "a JSON result comes back as value, on one line"
	run -w none ok.py
	[ "$(res .value.answer)" = 42 ]
	say $? "also with no workspace"
	for c in bad:"not valid JSON" big:"larger than 1 MiB" \
	    deep:"not valid JSON" link:"a symbolic link"; do
		run "${c%%:*}.py"
		[ "$(res '[.status, .value, .value_error]')" = \
		    "[0,null,\"${c#*:}\"]" ]
		say $? "${c%%:*}: value_error '${c#*:}'"
	done
	run none.py
	[ "$(res '[.value, .value_error]')" = '[null,null]' ]
	say $? "no result, no value, no error"
	# The README's snippet, under every shipped template that has no
	# network (those are tested by their dry-run argv only).
	for tp in $("$SBX" -c "$root/sbx.ini" -l |
	    jq -r 'select(.limits.network == false) | .name'); do
		timeout 120 "$SBX" -c "$root/sbx.ini" -t "$tp" -r "$RT" \
		    -d "$t/src" readme.py >"$t/out" 2>/dev/null </dev/null
		[ "$(res '[.status, .value, .import_refused]')" = \
		    '[0,{"score":0.93},null]' ]
		say $? "the README's value snippet under template $tp"
	done
	[ -z "$(ls -A "$TMPDIR")" ]
	say $? "nothing left in TMPDIR"
done
exit 0
