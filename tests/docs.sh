#!/bin/sh
# The man pages: clean under mandoc -Tlint, and complete against the
# code, so they cannot drift apart: every option usage() prints and every
# key the INI parser accepts must be documented.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"

for m in man/sbx.1 man/sbx.ini.5; do
	# STYLE notes only concern pages not installed yet.
	out=$(mandoc -Tlint -Wwarning "$m" 2>&1)
	[ -z "$out" ]
	say $? "mandoc -Tlint $m" || diag "$out"
done

# Options: the letters in usage's brackets.
opts=$("$SBX" -h 2>&1 | tr -c 'A-Za-z-' '\n' | sed -n 's/^-\([A-Za-z]*\)$/\1/p' |
    fold -w1 | sort -u)
isnt "usage lists options" "$opts" ""
for o in $opts; do
	check "option -$o in sbx(1)" grep -q "^\.It Fl $o\( \|$\)" man/sbx.1
done
# SYNOPSIS and usage() name the same options with the same arguments.
syn=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh/p' man/sbx.1 | grep -o 'Fl [A-Za-z]* Ar [a-z]*' |
    sed 's/Fl \([A-Za-z]*\) Ar \(.*\)/-\1 \2/' | sort | tr '\n' ' ')
use=$("$SBX" -h 2>&1 | grep -o -- '-[A-Za-z] [a-z][a-z]*' | sort |
    tr '\n' ' ')
is "SYNOPSIS matches usage()" "$syn" "$use"

# INI keys: the parser's key table, and the language section's keys.
keys=$(sed -n 's/^	{ "\([a-z_]*\)", K_.*/\1/p' policy.c)
isnt "policy.c key table found" "$keys" ""
for k in $keys command compile image; do
	check "key $k in sbx.ini(5)" grep -q "^\.It Cm $k\( \|$\)" man/sbx.ini.5
done

# Rendered as a user sees it, without a warning.
for m in man/sbx.1 man/sbx.ini.5; do
	is "man -l $m" "$(MANWIDTH=80 man -l "$m" 2>&1 >/dev/null)" ""
done

# The base set of authorized imports: sbx.ini(5)'s list is the words of
# guard.py's BASE block.  A missing block or list is a failure.
man=$(sed -n '/^\.\\" The base set:/,/^\.Ed/p' man/sbx.ini.5 |
    grep -v '^\.' | tr -s ' \t' '\n' | sed '/^$/d' | sort)
py=$(sed -n '/^BASE = frozenset("""$/,/^""".split())$/p' guard.py |
    sed '1d;$d' | tr -s ' \t' '\n' | sed '/^$/d' | sort)
[ -n "$man" ] && [ -n "$py" ] && [ "$man" = "$py" ]
say $? "base set of authorized imports in sbx.ini(5) is guard.py's" || {
	diag "sbx.ini(5): $(echo $man)"
	diag "guard.py: $(echo $py)"
}
