#!/bin/sh
# What a rw run changed, on podman and docker: the changes event and the
# result's counts, diff events, the plain patch (git apply and patch -p1
# both take it), and sbx apply: conflicts per path, patterns, and a
# script that tries to escape through apply with links, a file turned
# directory, a directory turned link, a FIFO and a setuid bit.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtimes_of "$@"
conf=$root/tests/test.ini
suite_base changes
t=$BASE
private_tmpdir

show() { diag "$(tail -n 25 "$t/out")"; diag "$(tail -n 5 "$t/err")"; }
ev() { jq -c "select(.event == \"$1\") | $2" "$t/out"; }

# The tree every case starts from.
tree() {
	rm -rf "$t/src"
	mkdir -p "$t/src/sub" "$t/src/gone" "$t/src/todir" "$t/src/tolink" \
	    "$t/src/link2"
	echo x >"$t/src/link2/x"
	echo t >"$t/src/link2.txt"
	echo lead >"$t/src/ lead"
	printf 'one\ntwo\nthree\n' >"$t/src/keep.txt"
	printf 'a\nb\nc\n' >"$t/src/mod.txt"
	printf 'no newline' >"$t/src/nonl.txt"
	echo del >"$t/src/sub/del.txt"
	echo x >"$t/src/gone/x"
	echo f >"$t/src/tofile"
	echo y >"$t/src/tolink/y"
	printf '\0\1\2' >"$t/src/bin"
	ln -s keep.txt "$t/src/link"
	cat >"$t/src/edit.sh" <<'EOT'
printf 'a\nB\nc\nd\n' > mod.txt
printf 'no newline, still' > nonl.txt
rm sub/del.txt
rm -r gone
echo new > new.txt
mkdir -p nd/deeper && echo n > nd/deeper/f
printf '\3\0' > bin
chmod 755 keep.txt
printf 'odd\n' > 'sp ace' && printf 'q\n' > 'q"uote'
ln -s nd/deeper/f inlink
EOT
	cat >"$t/src/escape.sh" <<'EOT'
ln -s /etc/passwd abs
ln -s ../../../../etc/shadow up
ln -s nd/../../x sneaky
rm tofile && mkdir tofile && echo inside > tofile/f
rm -r todir && echo now-a-file > todir
rm -r tolink && ln -s /etc tolink
mkfifo fifo
echo s > suid && chmod 4755 suid
echo hi > sub/new
rm -r link2 && ln -s /etc link2 && echo t2 > link2.txt
EOT
	# A name that would be patch text if printed raw, on a binary file.
	cat >"$t/src/inject.sh" <<'EOT'
d=$(printf 'junk\ndiff --git a')/$(printf 'keep.txt b')/$(printf 'keep.txt\n--- a')/$(printf 'keep.txt\n+++ b')/$(printf 'keep.txt\n@@ -1,3 +1 @@\n-one\n-two\n-three\n+pwned #')
mkdir -p "$d" && printf '\0bin' > "$d/f"
EOT
	(cd "$t/src" && find . -exec stat -c '%n %s %a %Y' {} + | sort) \
	    >"$t/before"
}

for RT in $runtimes; do
	run() { timeout 60 "$SBX" -c "$conf" -r "$RT" -d "$t/src" "$@" \
	    >"$t/out" 2>"$t/err" </dev/null; }
	# kept SCRIPT: a fresh tree, a rw run of SCRIPT kept; its dir in $keep
	kept() {
		tree
		run -w rw -k "$1"
		keep=$(ev result .shadow | tr -d '"')
		keep=${keep%/ws}
	}

	tree
	run -w rw -k -u edit.sh
	[ "$(ev result '[.status, .changes]')" = \
	    '[0,{"added":7,"modified":4,"deleted":3}]' ]
	say $? "result counts 7 added, 4 modified, 3 deleted"
	[ "$(ev changes '[.paths[] | select(.path == "keep.txt") |
	    .change, .mode, .old_mode]')" = '["modified","0755","0644"]' ] &&
	    [ "$(ev changes '[.paths[] | select(.path == "gone") | .type,
	    .change]')" = '["directory","deleted"]' ] &&
	    [ "$(ev changes '[.paths[].path] | join(",")')" = \
	    '"bin,gone,gone/x,inlink,keep.txt,mod.txt,nd,nd/deeper,nd/deeper/f,new.txt,nonl.txt,q\"uote,sp ace,sub/del.txt"' ]
	say $? "the changes event lists every path, with type and mode"
	[ "$(ev diff 'select(.path == "mod.txt") | .patch')" = \
	    '"diff --git a/mod.txt b/mod.txt\n--- a/mod.txt\n+++ b/mod.txt\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n"' ] &&
	    [ "$(ev diff 'select(.path == "bin") | [.omitted, .patch]')" = \
	    '["binary","Binary files a/bin and b/bin differ\n"]' ]
	say $? "diff events hold unified diffs; binary files are marked"
	(cd "$t/src" && find . -exec stat -c '%n %s %a %Y' {} + | sort) \
	    >"$t/after"
	cmp -s "$t/before" "$t/after"
	say $? "the original is untouched by the run"
	shadow=$(ev result .shadow | tr -d '"')
	keep=${shadow%/ws}

	# The plain patch, applied by git and by patch, gives the shadow.
	"$SBX" diff "$keep" >"$t/p.patch" 2>"$t/err"
	rc=$?
	for tool in git patch; do
		rm -rf "$t/copy" && cp -a "$t/src" "$t/copy"
		if [ $tool = git ]; then
			(cd "$t/copy" && git apply "$t/p.patch") 2>"$t/err"
		else
			(cd "$t/copy" && patch -s -p1 <"$t/p.patch") \
			    >"$t/err" 2>&1
		fi
		ok=$?
		for f in mod.txt nonl.txt new.txt nd/deeper/f 'sp ace' \
		    'q"uote'; do
			cmp -s "$shadow/$f" "$t/copy/$f" || ok=1
		done
		[ ! -e "$t/copy/sub/del.txt" ] || ok=1
		[ $rc = 0 ] && [ $ok = 0 ]
		say $? "sbx diff's patch applies with $tool"
	done

	# Apply, then a second apply has nothing left to do.
	"$SBX" apply "$keep" >"$t/out" 2>"$t/err"
	rc=$?
	ok=0
	for f in mod.txt nonl.txt new.txt nd/deeper/f bin 'sp ace'; do
		cmp -s "$shadow/$f" "$t/src/$f" || ok=1
	done
	[ $rc = 0 ] && [ $ok = 0 ] && [ ! -e "$t/src/gone" ] &&
	    [ ! -e "$t/src/sub/del.txt" ] &&
	    [ "$(stat -c %a "$t/src/keep.txt")" = 755 ] &&
	    [ "$(readlink "$t/src/inlink")" = nd/deeper/f ] &&
	    [ "$(ev applied '[.applied, .conflicts, .refused]')" = '[14,0,0]' ]
	say $? "apply brings every change back"
	"$SBX" apply "$keep" >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(ev applied .applied)" = 0 ]
	say $? "a second apply has nothing to do"
	[ -z "$(find "$t/src" -name '.sbx-apply.*')" ]
	say $? "no temp file is left in the tree"
	rm -rf "$keep"

	# Conflicts: the original changed since the copy.
	kept edit.sh
	echo mine >"$t/src/mod.txt"
	echo mine >"$t/src/new.txt"
	"$SBX" apply "$keep" >"$t/out" 2>"$t/err"
	rc=$?
	[ $rc = 1 ] && [ "$(cat "$t/src/mod.txt")" = mine ] &&
	    [ "$(cat "$t/src/new.txt")" = mine ] &&
	    [ "$(ev apply 'select(.status == "conflict") | .path' |
	    tr '\n' ' ')" = '"mod.txt" "new.txt" ' ] &&
	    [ "$(cat "$t/src/nonl.txt")" = 'no newline, still' ]
	say $? "a changed original is a conflict for that path only"
	rm -rf "$keep"

	# Patterns, and a dry run first.
	kept edit.sh
	"$SBX" apply -n "$keep" 'nd/deeper/*' >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ ! -e "$t/src/nd" ] &&
	    [ "$(ev apply .status | sort -u)" = '"would apply"' ]
	say $? "apply -n changes nothing"
	"$SBX" apply "$keep" 'nd/deeper/*' >"$t/out" 2>"$t/err"
	[ $? = 0 ] && [ "$(cat "$t/src/nd/deeper/f")" = n ] &&
	    [ "$(cat "$t/src/mod.txt")" = "$(printf 'a\nb\nc')" ] &&
	    [ "$(ev apply .path | tr '\n' ' ')" = \
	    '"nd" "nd/deeper" "nd/deeper/f" ' ]
	say $? "a pattern applies its paths and the directories they need"
	rm -rf "$keep"

	# Escapes.
	kept escape.sh
	"$SBX" apply "$keep" >"$t/out" 2>"$t/err"
	rc=$?
	refused=$(ev apply 'select(.status == "refused") | .path' | sort |
	    tr '\n' ' ')
	[ $rc = 1 ] &&
	    [ "$refused" = '"abs" "fifo" "link2" "link2/x" "sneaky" "tolink" "tolink/y" "up" ' ]
	say $? "links out of the tree, a FIFO and a dir turned link are refused"
	[ ! -e "$t/src/abs" ] && [ ! -L "$t/src/abs" ] &&
	    [ ! -L "$t/src/tolink" ] && [ "$(cat "$t/src/tolink/y")" = y ] &&
	    [ ! -e "$t/src/fifo" ] && [ ! -L "$t/src/up" ]
	say $? "nothing refused reached the original"
	[ "$(cat "$t/src/tofile/f")" = inside ] &&
	    [ "$(cat "$t/src/todir")" = now-a-file ] &&
	    [ "$(cat "$t/src/sub/new")" = hi ]
	say $? "a file turned directory and a directory turned file apply"
	[ "$(stat -c %a "$t/src/suid")" = 755 ]
	say $? "no setuid bit is applied"
	[ "$(cat "$t/src/link2/x")" = x ] && [ "$(cat "$t/src/link2.txt")" = t2 ]
	say $? "under a directory turned refused link, nothing goes"
	[ -z "$(find "$t/src" -name '.sbx-apply.*')" ] &&
	    [ "$(stat -c %U /etc/passwd)" = root ]
	say $? "no temp file left, nothing outside touched"
	rm -rf "$keep"

	# A path that would inject patch text if it were not quoted.
	kept inject.sh
	"$SBX" diff "$keep" >"$t/p.patch" 2>"$t/err"
	rm -rf "$t/copy" && cp -a "$t/src" "$t/copy"
	(cd "$t/copy" && git apply "$t/p.patch") 2>/dev/null
	[ "$(cat "$t/copy/keep.txt")" = "$(printf 'one\ntwo\nthree')" ] &&
	    [ "$(grep -c '^Binary files /dev/null and "b/junk' "$t/p.patch")" = 1 ] &&
	    [ "$(grep -c '^diff --git' "$t/p.patch")" = 0 ]
	say $? "odd names are quoted in the patch, never patch text"
	rm -rf "$keep"

	# Read-only and no workspace: nothing to report.
	tree
	run edit.sh
	[ "$(ev result .changes)" = null ] && [ -z "$(ev changes .)" ]
	say $? "a ro workspace has no changes event"
	[ -z "$(ls -A "$TMPDIR")" ]
	say $? "nothing left in TMPDIR"
done
RT=

# Root applies into a tree of another user's: what it writes stays
# that user's (the replaced file's owner, or the directory's for a new
# entry), never root's.
mkdir -p "$t/own/sub"
echo a >"$t/own/a.txt"
chown -R 1234:1234 "$t/own"
printf 'echo b >a.txt; echo n >new.txt; mkdir -p nd/deep; echo d >nd/deep/f; ln -s a.txt l\n' \
    >"$t/own/own.sh"
chown 1234:1234 "$t/own/own.sh"
timeout 60 "$SBX" -c "$conf" -r podman -w rw -k -d "$t/own" own.sh \
    >"$t/out" 2>"$t/err" </dev/null
keep=$(ev result .shadow | tr -d '"')
"$SBX" apply "$keep" >"$t/out" 2>"$t/err"
owners=$(cd "$t/own" && stat -c '%n %u:%g' a.txt new.txt nd nd/deep nd/deep/f |
    tr '\n' ' ')
[ "$owners" = "a.txt 1234:1234 new.txt 1234:1234 nd 1234:1234 nd/deep 1234:1234 nd/deep/f 1234:1234 " ] &&
    [ "$(stat -c %u:%g "$t/own/l" 2>/dev/null)" = 1234:1234 ] &&
    [ "$(cat "$t/own/a.txt")" = b ]
say $? "apply as root keeps the tree's owner on what it writes${owners:+ ($owners)}"
[ -n "$keep" ] && rm -rf "${keep%/ws}"

# Bad targets are errors, not guesses.
"$SBX" apply "$t/src" >"$t/out" 2>"$t/err"
[ $? = 125 ] && grep -q 'not a kept sbx run' "$t/err"
say $? "apply of a directory that is no kept run: status 125"
"$SBX" diff 0123456789ab >"$t/out" 2>"$t/err"
[ $? = 125 ] && grep -q 'no such session\|not a kept' "$t/err"
say $? "diff of an unknown session: status 125"
exit 0
