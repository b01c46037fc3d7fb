#!/bin/sh
# Packaging, end to end, each step in a private copy of the tree:
#  1. make install / uninstall into a staging root: the exact file list,
#     and nothing left behind;
#  2. make dist, unpacked elsewhere, builds and passes the tests that
#     need no container engine;
#  3. the Debian package builds with dpkg-buildpackage -us -uc -b;
#  4. lintian reports no error and no warning on it;
#  5. it installs with dpkg -i, the installed sbx runs a script on podman,
#     and it is removed and purged without a trace.
# Run as root, with debhelper, lintian, podman and the sbx-python image
# (tests/lib/setup-debian.sh).  Leaves the system as it found it.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
pkg=sbx-sandbox
# A make or dpkg-buildpackage above us must not steer the builds below.
unset MAKEFLAGS MFLAGS MAKELEVEL

# logtail [FILE]: the last lines of FILE (or stdin), where a log says
# what went wrong, as diagnostics.
logtail() { diag "$(tail -n 30 "$@")"; }
# failures FILE: a log's failed tests and errors, else its last lines
failures() {
	grep -E '^not ok |\*\*\*|error:|warning:|^[0-9]+ passed, [0-9]+ failed' "$1" \
	    >"$1.f" || cp "$1" "$1.f"
	logtail "$1.f"
}

if [ "$(id -u)" != 0 ]; then
	notok "must run as root"
	exit 1
fi
for c in make tar dpkg-buildpackage dpkg-parsechangelog lintian podman jq; do
	if ! command -v "$c" >/dev/null 2>&1; then
		notok "$c not installed (tests/lib/setup-debian.sh installs it)"
		exit 1
	fi
done

version=$(sed -n 's/^VERSION *= *//p' config.mk)
installed=0
ON_EXIT='[ "$installed" = 0 ] || dpkg -P "$pkg" >/dev/null 2>&1'
suite_base package
t=$BASE
# A hang-up, too, must not leave the package installed.
trap 'exit 129' HUP

# copytree DIR: the working tree as it is (uncommitted and untracked
# files included, ignored ones and build products left out), into DIR.
copytree() {
	mkdir -p "$1"
	if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$root" ls-files -z --cached --others --exclude-standard |
		    tar -C "$root" --null --ignore-failed-read -T - -cf - 2>/dev/null
	else
		tar -C "$root" --exclude=.git -cf - .
	fi | tar -C "$1" -xf -
	make -C "$1" clean >/dev/null 2>&1
}

# files ROOT: every file and link under ROOT, relative to it
files() {
	(cd "$1" && find . \( -type f -o -type l \) -print | sort)
}

# --- 1. make install / uninstall into a staging root -----------------

copytree "$t/inst"

# staged NAME WANT MAKEVARS...: install with MAKEVARS into a fresh
# DESTDIR, expect exactly the files WANT, then uninstall and expect none.
staged() {
	name=$1 want=$2
	shift 2
	stage=$t/root-$name
	mkdir "$stage"
	make -C "$t/inst" clean >/dev/null 2>&1
	if ! make -C "$t/inst" DESTDIR="$stage" "$@" install >"$t/log" 2>&1; then
		notok "make install $*"
		logtail "$t/log"
		return
	fi
	ok "make install $*"
	got=$(files "$stage")
	if [ "$got" = "$want" ]; then
		ok "$name: installed files"
	else
		notok "$name: installed files"
		printf '%s\n' "$want" >"$t/want"
		printf '%s\n' "$got" | diff -u "$t/want" - | logtail
	fi
	bad=$(cd "$stage" && find . -type f ! -perm 644 ! -path '*/bin/sbx' \
	    ! -name sbx-supervise -print)
	bad=$bad$(cd "$stage" && find . \( -path '*/bin/sbx' -o \
	    -name sbx-supervise \) ! -perm 755 -print)
	[ -z "$bad" ] && ok "$name: modes 755 and 644" ||
	    { notok "$name: modes 755 and 644"; echo "$bad" | logtail; }
	if ! make -C "$t/inst" DESTDIR="$stage" "$@" uninstall >"$t/log" 2>&1; then
		notok "$name: make uninstall"
		logtail "$t/log"
		return
	fi
	left=$(files "$stage")
	[ -z "$left" ] && ok "$name: make uninstall leaves no file" ||
	    { notok "$name: make uninstall leaves no file"; echo "$left" | logtail; }
}

staged usr './etc/sbx/sbx.ini
./usr/bin/sbx
./usr/libexec/sbx/sbx-supervise
./usr/share/bash-completion/completions/sbx
./usr/share/man/man1/sbx.1
./usr/share/man/man5/sbx.ini.5' PREFIX=/usr SYSCONFDIR=/etc
# SYSCONFDIR is compiled in: sbx looks for the system file there.
tr '\0' '\n' <"$t/inst/sbx" >"$t/strings"
if grep -qx '/etc\(/sbx/sbx\.ini\)\{0,1\}' "$t/strings" &&
    ! grep -q '^/usr/local/etc' "$t/strings"; then
	ok "usr: sbx built to read /etc/sbx/sbx.ini"
else
	notok "usr: sbx built to read /etc/sbx/sbx.ini"
fi
staged opt './opt/man/man1/sbx.1
./opt/man/man5/sbx.ini.5
./opt/sbx/bin/sbx
./opt/sbx/libexec/sbx/sbx-supervise
./opt/sbx/share/bash-completion/completions/sbx
./srv/etc/sbx/sbx.ini' PREFIX=/opt/sbx MANPREFIX=/opt/man SYSCONFDIR=/srv/etc
[ ! -d "$t/root-opt/srv/etc/sbx" ] && ok "opt: make uninstall removes SYSCONFDIR/sbx" ||
    notok "opt: make uninstall removes SYSCONFDIR/sbx"
rm -rf "$t/inst" "$t"/root-*

# --- 2. make dist, unpacked and tested elsewhere ----------------------

copytree "$t/dist"
tgz=$t/dist/sbx-$version.tar.gz
if make -C "$t/dist" dist >"$t/log" 2>&1 && [ -f "$tgz" ]; then
	ok "make dist makes sbx-$version.tar.gz"
	top=$(tar -tzf "$tgz" | cut -d/ -f1 | sort -u)
	[ "$top" = "sbx-$version" ] && ok "dist: one top directory sbx-$version" ||
	    { notok "dist: one top directory sbx-$version"; echo "$top" | logtail; }
	junk=$(tar -tzf "$tgz" | grep -E '\.o$|/sbx$|/tests/unit$|/builtin\.h$')
	[ -z "$junk" ] && ok "dist: no build products" ||
	    { notok "dist: no build products"; echo "$junk" | logtail; }
	mkdir "$t/unpack"
	tar -C "$t/unpack" -xzf "$tgz"
	d=$t/unpack/sbx-$version
	if (cd "$d" && make && make tests/unit &&
	    tests/lib/run.sh tests/unit.sh tests/cli.sh tests/golden.sh \
	    tests/docs.sh) >"$t/log" 2>&1; then
		ok "dist: builds and passes unit, cli, golden and docs tests"
	else
		notok "dist: builds and passes unit, cli, golden and docs tests"
		failures "$t/log"
	fi
else
	notok "make dist makes sbx-$version.tar.gz"
	logtail "$t/log"
fi
rm -rf "$t/dist" "$t/unpack"

# --- 3. the Debian package --------------------------------------------

b=$t/deb/$pkg-$version
copytree "$b"
cv=$(cd "$b" && dpkg-parsechangelog -S Version)
[ "$cv" = "$version" ] && ok "debian/changelog version is config.mk's $version" ||
    notok "debian/changelog version is config.mk's $version (it is $cv)"
deb=$t/deb/${pkg}_${version}_$(dpkg --print-architecture).deb
changes=${deb%.deb}.changes
if (cd "$b" && dpkg-buildpackage -us -uc -b) >"$t/build.log" 2>&1 &&
    [ -f "$deb" ] && [ -f "$changes" ]; then
	ok "dpkg-buildpackage -us -uc -b"
else
	notok "dpkg-buildpackage -us -uc -b"
	failures "$t/build.log"
	exit 0
fi
if grep -q -- '-D_FORTIFY_SOURCE=2.* -c -o sbx\.o' "$t/build.log" &&
    grep -q -- '-Wl,-z,relro.* -o sbx ' "$t/build.log"; then
	ok "built with dpkg-buildflags"
else
	notok "built with dpkg-buildflags"
	grep -- ' -o sbx' "$t/build.log" | logtail
fi

# --- 4. lintian ---------------------------------------------------------

# lintian exits 1 on errors; 2 or more means it could not check.
lintian -I --color never "$changes" >"$t/lint" 2>"$t/lint.err"
rc=$?
if [ "$rc" -le 1 ] && ! grep -q '^[EW]: ' "$t/lint"; then
	ok "lintian: no errors, no warnings"
else
	notok "lintian: no errors, no warnings (status $rc)"
	logtail "$t/lint.err"
fi
logtail "$t/lint"

# --- 5. dpkg -i, a run on podman, dpkg -r and -P ----------------------

# absent: dpkg knows nothing of it, or only that it is not installed
absent() {
	case $(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null) in
	'' | un* | pn*) return 0 ;;
	esac
	return 1
}

if ! absent || [ -e /usr/bin/sbx ] || [ -e /etc/sbx ]; then
	notok "no $pkg, /usr/bin/sbx or /etc/sbx before the test (remove them)"
	exit 0
fi
# From here on, however the script ends, cleanup purges the package.
installed=1
if dpkg -i "$deb" >"$t/log" 2>&1; then
	ok "dpkg -i $(basename "$deb")"
else
	notok "dpkg -i $(basename "$deb")"
	logtail "$t/log"
	exit 0
fi

v=$(/usr/bin/sbx -V 2>&1)
[ "$v" = "sbx $version" ] && ok "installed sbx -V" ||
    { notok "installed sbx -V"; echo "$v" | logtail; }

list=$(dpkg -L "$pkg")
for f in /usr/bin/sbx /etc/sbx/sbx.ini /usr/share/man/man1/sbx.1.gz \
    /usr/share/man/man5/sbx.ini.5.gz \
    /usr/share/bash-completion/completions/sbx \
    /usr/share/doc/$pkg/copyright; do
	printf '%s\n' "$list" | grep -qx "$f" && ok "dpkg -L lists $f" ||
	    notok "dpkg -L lists $f"
done
dpkg-query -W -f='${Conffiles}\n' "$pkg" | grep -q '^ /etc/sbx/sbx.ini ' &&
    ok "/etc/sbx/sbx.ini is a conffile" || notok "/etc/sbx/sbx.ini is a conffile"
zcat /usr/share/man/man1/sbx.1.gz | grep -q '^\.Pa /etc/sbx/sbx\.ini' &&
    ok "sbx(1) names /etc/sbx/sbx.ini" || notok "sbx(1) names /etc/sbx/sbx.ini"
bash -c '. /usr/share/bash-completion/completions/sbx && complete -p sbx' \
    >/dev/null 2>&1 && ok "bash completion defines sbx's" ||
    notok "bash completion defines sbx's"

mkdir "$t/home" "$t/src"
private_tmpdir
export HOME="$t/home"
n=$(/usr/bin/sbx -l 2>"$t/err" | jq -r 'select(.event == "template") | .name' |
    tr '\n' ' ')
[ "$n" = "default secure ml web minimal standard hardened paranoid gvisor " ] && ok "installed sbx -l" ||
    { notok "installed sbx -l"; echo "$n" | logtail; logtail "$t/err"; }
# The installed sbx reads the system file: a template added there shows.
cp -p /etc/sbx/sbx.ini "$t/sbx.ini.orig"
printf '\n[pkgtest]\ndescription = added by tests/package.sh\n' \
    >>/etc/sbx/sbx.ini
/usr/bin/sbx -l 2>/dev/null | jq -e 'select(.name == "pkgtest")' \
    >/dev/null && ok "installed sbx reads /etc/sbx/sbx.ini" ||
    notok "installed sbx reads /etc/sbx/sbx.ini"
cp -p "$t/sbx.ini.orig" /etc/sbx/sbx.ini

printf 'print("hello from the package")\n' >"$t/src/hello.py"
(cd "$t" && /usr/bin/sbx -r podman -d src hello.py) >"$t/out" 2>"$t/err" \
    </dev/null
rc=$?
data=$(jq -rj 'select(.event == "stdout") | .data' "$t/out" 2>/dev/null)
res=$(jq -c 'select(.event == "result") | [.status, .timed_out]' "$t/out" \
    2>/dev/null)
if [ "$rc" -eq 0 ] && [ "$data" = "hello from the package" ] &&
    [ "$res" = "[0,false]" ] && [ -z "$(ls -A "$TMPDIR")" ]; then
	ok "installed sbx runs hello.py on podman"
else
	notok "installed sbx runs hello.py on podman"
	{ echo "status $rc"; cat "$t/out" "$t/err"; } | logtail
fi

# A session, with the packaged supervisor.
(
	unset SBX_SUPERVISE
	cd "$t" || exit 1
	id=$(/usr/bin/sbx start -r podman -d src | jq -r .id) &&
	    /usr/bin/sbx exec "$id" src/hello.py &&
	    /usr/bin/sbx stop "$id" >/dev/null
) >"$t/out" 2>"$t/err" </dev/null
rc=$?
data=$(jq -rj 'select(.event == "stdout") | .data' "$t/out" 2>/dev/null)
if [ "$rc" -eq 0 ] && [ "$data" = "hello from the package" ] &&
    [ -z "$(ls -A "$TMPDIR")" ]; then
	ok "installed sbx runs a session step with /usr/libexec/sbx/sbx-supervise"
else
	notok "installed sbx runs a session step with /usr/libexec/sbx/sbx-supervise"
	{ echo "status $rc"; cat "$t/out" "$t/err"; } | logtail
fi

if dpkg -r "$pkg" >"$t/log" 2>&1 && [ ! -e /usr/bin/sbx ] &&
    [ ! -e /usr/libexec/sbx ] &&
    [ ! -e /usr/share/man/man1/sbx.1.gz ] &&
    [ ! -e /usr/share/bash-completion/completions/sbx ] &&
    [ -f /etc/sbx/sbx.ini ]; then
	ok "dpkg -r removes sbx and keeps the conffile"
else
	notok "dpkg -r removes sbx and keeps the conffile"
	logtail "$t/log"
fi
if dpkg -P "$pkg" >"$t/log" 2>&1 && [ ! -e /etc/sbx ] && absent; then
	installed=0
	ok "dpkg -P leaves no trace"
else
	notok "dpkg -P leaves no trace"
	logtail "$t/log"
fi
exit 0
