#!/bin/sh
# The man pages: clean under mandoc -Tlint, and complete against the
# code, so they cannot drift apart: every option usage() prints and every
# key the INI parser accepts must be documented.
set -u
cd "$(dirname "$0")/.." || exit 1
sbx=${SBX:-./sbx}

for m in man/sbx.1 man/sbx.ini.5; do
	# STYLE notes only concern pages not installed yet.
	out=$(mandoc -Tlint -Wwarning "$m" 2>&1)
	[ -z "$out" ] && echo "ok - docs: mandoc -Tlint $m" ||
	    { echo "not ok - docs: mandoc -Tlint $m"; echo "# $out"; }
done

# Options: the letters in usage's brackets.
opts=$("$sbx" -h 2>&1 | tr -c 'A-Za-z-' '\n' | sed -n 's/^-\([A-Za-z]*\)$/\1/p' |
    fold -w1 | sort -u)
[ -n "$opts" ] || echo "not ok - docs: usage lists options"
for o in $opts; do
	grep -q "^\.It Fl $o\( \|$\)" man/sbx.1 &&
	    echo "ok - docs: option -$o in sbx(1)" ||
	    echo "not ok - docs: option -$o in sbx(1)"
done
# SYNOPSIS and usage() name the same options with the same arguments.
syn=$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh/p' man/sbx.1 | grep -o 'Fl [A-Za-z]* Ar [a-z]*' |
    sed 's/Fl \([A-Za-z]*\) Ar \(.*\)/-\1 \2/' | sort | tr '\n' ' ')
use=$("$sbx" -h 2>&1 | grep -o '\[-[A-Za-z] [a-z]*\]' | tr -d '[]' | sort |
    tr '\n' ' ')
[ "$syn" = "$use" ] && echo "ok - docs: SYNOPSIS matches usage()" ||
    { echo "not ok - docs: SYNOPSIS matches usage()"; echo "# $syn / $use"; }

# INI keys: the parser's key table, and the language section's keys.
keys=$(sed -n 's/^	{ "\([a-z_]*\)", K_.*/\1/p' policy.c)
[ -n "$keys" ] || echo "not ok - docs: policy.c key table found"
for k in $keys command image; do
	grep -q "^\.It Cm $k\( \|$\)" man/sbx.ini.5 &&
	    echo "ok - docs: key $k in sbx.ini(5)" ||
	    echo "not ok - docs: key $k in sbx.ini(5)"
done

# Rendered as a user sees it, without a warning.
for m in man/sbx.1 man/sbx.ini.5; do
	out=$(MANWIDTH=80 man -l "$m" 2>&1 >/dev/null)
	[ -z "$out" ] && echo "ok - docs: man -l $m" ||
	    { echo "not ok - docs: man -l $m"; echo "# $out"; }
done

# The base set of authorized imports: sbx.ini(5)'s list is the words of
# guard.py's BASE block.  A missing block or list is a failure.
man=$(sed -n '/^\.\\" The base set:/,/^\.Ed/p' man/sbx.ini.5 |
    grep -v '^\.' | tr -s ' \t' '\n' | sed '/^$/d' | sort)
py=$(sed -n '/^BASE = frozenset("""$/,/^""".split())$/p' guard.py |
    sed '1d;$d' | tr -s ' \t' '\n' | sed '/^$/d' | sort)
if [ -n "$man" ] && [ -n "$py" ] && [ "$man" = "$py" ]; then
	echo "ok - docs: base set of authorized imports in sbx.ini(5) is guard.py's"
else
	echo "not ok - docs: base set of authorized imports in sbx.ini(5) is guard.py's"
	echo "# sbx.ini(5): $(echo $man)"
	echo "# guard.py: $(echo $py)"
fi
