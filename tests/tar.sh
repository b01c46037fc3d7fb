#!/bin/sh
# tar.c, the copy transport's archives, through tests/tartest: what it
# writes GNU tar reads back whole, and what it reads, hostile archives
# made by python3's tarfile included, stays under its directory.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
T=$root/tests/tartest
[ -x "$T" ] || cannot "tests/tartest not built (make tests/tartest)"
suite_base tar
cd "$BASE" || exit 2

# A tree with what a workspace holds: long names, a long link, a FIFO,
# modes, an empty and a large file.
long=$(printf 'd%.0s' $(seq 1 120))
mkdir -p src/a/b "src/$long/$long" src/ro
printf 'one\n' >src/a/one
: >src/empty
head -c 1048577 /dev/urandom >src/a/b/big
printf 'x' >"src/$long/$long/f"
ln -s "$long/$long/f" src/longlink
ln -s /etc/passwd src/abs
mkfifo src/fifo
chmod 750 src/a/one
chmod 600 src/empty
printf 'r\n' >src/ro/f
chmod 555 src/ro

"$T" c src >w.tar
say $? "an archive of the tree"
mkdir gnu
tar -xf w.tar -C gnu 2>err
say $? "GNU tar reads it"
# same A B: the same names, kinds, modes, links and bytes.
same() {
	for _d in "$1" "$2"; do
		(cd "$_d" && find . -printf '%y %m %p %l\n' | sort) >"$_d.list"
	done
	cmp -s "$1.list" "$2.list" || return 1
	(cd "$1" && find . -type f) | while read -r _f; do
		cmp -s "$1/$_f" "$2/$_f" || exit 1
	done
}
same src gnu
say $? "GNU tar's copy is the tree, links as links"
is "long link target" "$(readlink "gnu/longlink")" "$long/$long/f"
is "modes kept" "$(stat -c %a gnu/a/one gnu/empty gnu/ro)" "750${nl}600${nl}555"
is "owner as told" "$(tar -tvf w.tar a/one | awk '{ print $2 }')" "1234/1234"
[ -p gnu/fifo ]
say $? "a FIFO as a FIFO"

"$T" c src ro | tar -tvf - >ro.txt 2>&1
like "read-only: owner bits to the group, no w" "$(grep ' empty$' ro.txt)" "-r--r----- "
like "read-only: a directory stays searchable" "$(grep ' a/$' ro.txt)" "dr-xr-xr-x"

mkdir back
"$T" c src | "$T" x back 0 100000000 100 >out
say $? "read back by tartest"
same src back
say $? "the copy read back is the tree"
is "modes read back" "$(stat -c %a back/a/one back/empty back/ro)" "750${nl}600${nl}555"
like "counted" "$(cat out)" "files 13 bytes 1048584 full 0"

# Hostile archives: each case a list of entries, made by tarfile.
mk() {
	python3 - "$@" <<'PY'
import io, sys, tarfile
out, fmt = sys.argv[1], sys.argv[2]
t = tarfile.open(out, "w", format={"gnu": tarfile.GNU_FORMAT,
    "pax": tarfile.PAX_FORMAT}[fmt])
for spec in sys.argv[3:]:
    kind, name, *rest = spec.split(":")
    i = tarfile.TarInfo(name)
    data = b""
    if kind == "f":
        data = (rest[0] if rest else "data").encode()
        i.size = len(data)
        i.mode = int(rest[1], 8) if len(rest) > 1 else 0o644
    elif kind == "m":
        data = b"data"
        i.size = 4
        i.mode = int(rest[0], 8)
    elif kind == "d":
        i.type = tarfile.DIRTYPE
        i.mode = int(rest[0], 8) if rest else 0o755
    elif kind == "l":
        i.type, i.linkname = tarfile.SYMTYPE, rest[0]
    elif kind == "h":
        i.type, i.linkname = tarfile.LNKTYPE, rest[0]
    elif kind == "c":
        i.type, i.devmajor, i.devminor = tarfile.CHRTYPE, 1, 3
    t.addfile(i, io.BytesIO(data))
t.close()
PY
}
x() {
	rm -rf dst && mkdir dst
	"$T" x dst "$@" <h.tar >out 2>err
}

mk h.tar gnu f:../up f:/abs f:a/../../up2 d:ok f:ok/in
x 0 1000000 100
[ ! -e up ] && [ ! -e ../up ] && [ ! -e /abs ] && [ ! -e up2 ] &&
    [ -f dst/ok/in ] && [ -f dst/abs ]
say $? "no name leaves the directory; an absolute one is made under it"

mk h.tar pax "l:esc:$BASE/outside" "f:esc/planted" l:dot:.. "f:dot/planted2"
mkdir outside
x 0 1000000 100
[ -z "$(ls outside)" ] && [ ! -e "$BASE/planted2" ] && [ -L dst/esc ]
say $? "a file beneath a link is not made through it"

printf 'secret\n' >secret
mk h.tar pax "l:s:$BASE/secret" "h:hs:s" "h:he:$BASE/secret" "h:hu:../secret" f:real:REAL "h:hr:real"
x 0 1000000 100
[ ! -e dst/hs ] && [ ! -e dst/he ] && [ ! -e dst/hu ] &&
    [ "$(cat dst/hr)" = REAL ] && [ "$(stat -c %h dst/hr)" = 1 ]
say $? "a hard link: a copy of an entry made, never of a link's target"

mk h.tar gnu m:suid:4755 m:sgid:2755 m:sticky:1777 c:dev
x 0 1000000 100
is "no set-id bit" "$(stat -c %a dst/suid dst/sgid dst/sticky)" "755${nl}755${nl}1777"
[ ! -e dst/dev ]
say $? "no device made"

mk h.tar pax d:shut:555 f:shut/f d:shut:555 f:shut/g
x 0 1000000 100
[ -f dst/shut/f ] && [ -f dst/shut/g ] && [ "$(stat -c %a dst/shut)" = 555 ]
say $? "a directory without w gets its entries, then its mode"

mk h.tar gnu f:dup:one l:dup:/etc/passwd f:dup2:x d:dup2 f:dup3:a f:dup3:b
x 0 1000000 100
[ -L dst/dup ] && [ -f dst/dup2 ] && [ "$(cat dst/dup3)" = b ]
say $? "a name given twice: the last entry, a directory never over a file"

mk h.tar gnu "f:$long/$long/$long:L" "l:gl:$long$long"
x 0 1000000 100
[ "$(cat "dst/$long/$long/$long" 2>/dev/null)" = L ] &&
    [ "$(readlink dst/gl)" = "$long$long" ]
say $? "GNU long names and links"

mk h.tar pax f:top/a f:top/b f:top/c
x 1 1000000 100
[ -f dst/a ] && [ -f dst/c ] && [ ! -e dst/top ]
say $? "strip takes the first component off"

mk h.tar pax f:a:1234 f:b:1234 f:c:1234
x 0 1000000 2
like "files past the bound: full" "$(cat out)" "full 1"
x 0 8 100
like "bytes past the bound: full" "$(cat out)" "full 1"
[ ! -e dst/c ]
say $? "and nothing made past it"
# The directories a name leaves out count against the bound too, even
# for an entry that is not made itself.
mk h.tar gnu c:a/b/c/d/dev c:e/f/g/h/dev c:i/j/k/l/dev
x 0 1000000 2
like "directories left out, past the bound: full" "$(cat out)" "full 1"
[ "$(find dst -mindepth 1 | wc -l)" -le 2 ]
say $? "and none made past it"

head -c 700 h.tar >cut.tar
rm -rf dst && mkdir dst
"$T" x dst 0 1000000 100 <cut.tar >out 2>err
[ $? = 1 ] && grep -q "ends early" err
say $? "a cut archive: an error"
mk h.tar pax "f:$long:x"
head -c 600 h.tar >cut.tar
rm -rf dst && mkdir dst
"$T" x dst 0 1000000 100 <cut.tar >out 2>err
[ $? = 1 ] && grep -q "ends early" err
say $? "cut in an extended header: an error, named"
# A size no stream holds (base-256, 2^63 - 1): refused, not wrapped.
python3 -c 'import sys, tarfile
d = tarfile.TarInfo("huge/")
d.type, d.size = tarfile.DIRTYPE, (1 << 63) - 1
sys.stdout.buffer.write(d.tobuf(tarfile.GNU_FORMAT) + bytes(1024))' >huge.tar
rm -rf dst && mkdir dst
"$T" x dst 0 1000000 100 <huge.tar >out 2>err
[ $? = 1 ] && grep -q "not a tar archive" err && [ ! -e dst/huge ]
say $? "a size past what a stream holds: not a tar archive"
head -c 2048 /dev/urandom >junk.tar
rm -rf dst && mkdir dst
"$T" x dst 0 1000000 100 <junk.tar >out 2>err
[ $? = 1 ] && grep -q "not a tar archive" err
say $? "noise: not a tar archive"
exit 0
