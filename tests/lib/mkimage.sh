#!/bin/sh
# Build the small test images offline and import them into podman/docker.
#
# usage: tests/lib/mkimage.sh [-f] [podman|docker ...]
#   -f        rebuild the tarballs and re-import even if the images exist
#   runtimes  default: podman and docker, each if it is on PATH (docker
#             only if its daemon answers)
# env: SBX_IMAGE_DIR  build/cache dir (default /var/tmp/sbx-images)
#      SBX_IMAGES     images to make (default "sbx-sh sbx-python sbx-node
#                     sbx-ml"); e.g. SBX_IMAGES=sbx-ml tests/lib/mkimage.sh -f
#
# No registry is reachable, so each image is a rootfs tarball made from
# busybox-static and Debian .debs, then loaded with "import".  The big
# one is sbx-ml, the ml template's image (python3 with numpy, pandas,
# sklearn and matplotlib): 110 .debs (72 MB) to fetch, a 300 MB image,
# under a minute to build, import and verify on the test machine.
set -eu

prog=mkimage
log() { echo "$prog: $*"; }
die() { echo "$prog: error: $*" >&2; exit 1; }
usage() { echo "usage: $0 [-f] [podman|docker ...]" >&2; exit 2; }

force=0
while getopts f opt; do
	case $opt in
	f) force=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))

dir=${SBX_IMAGE_DIR:-/var/tmp/sbx-images}
images=${SBX_IMAGES:-sbx-sh sbx-python sbx-node sbx-ml sbx-c sbx-go}
path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

[ "$(id -u)" = 0 ] || die "must run as root (chroot, file ownership)"

docker_ok() {
	# timeout: a wedged daemon must not hang the build
	timeout 20 docker info >/dev/null 2>&1
}

runtimes=
if [ $# -eq 0 ]; then
	if command -v podman >/dev/null 2>&1; then
		runtimes=" podman"
	fi
	if command -v docker >/dev/null 2>&1; then
		if docker_ok; then
			runtimes="$runtimes docker"
		else
			log "docker daemon not answering, skipping docker"
		fi
	fi
	[ -n "$runtimes" ] || die "neither podman nor docker is usable"
else
	for rt in "$@"; do
		case $rt in
		podman | docker) ;;
		*) usage ;;
		esac
		command -v "$rt" >/dev/null 2>&1 || die "$rt not found"
		if [ "$rt" = docker ] && ! docker_ok; then
			die "docker daemon not answering"
		fi
		runtimes="$runtimes $rt"
	done
fi

have_image() { # runtime name
	case $1 in
	podman) podman image exists "$2" ;;
	docker) docker image inspect "$2" >/dev/null 2>&1 ;;
	esac
}

image_id() { # runtime name; empty if absent
	"$1" image inspect --format '{{.Id}}' "$2" 2>/dev/null || true
}

now() { date +%s; }

# Run in the rootfs with a clean environment: the host's PYTHON*, NODE_*
# variables would leak into the checks otherwise.
in_root() { # rootfs command...
	r=$1
	shift
	env -i PATH="$path" LANG=C.UTF-8 chroot "$r" "$@"
}

# Common skeleton; the rootfs may already hold files from .debs.
finish_rootfs() { # rootfs
	r=$1
	mkdir -p "$r/etc" "$r/usr/bin" "$r/usr/sbin" "$r/proc" "$r/sys" \
		"$r/dev" "$r/run" "$r/tmp" "$r/var/tmp" "$r/root" "$r/workspace"
	chmod 1777 "$r/tmp" "$r/var/tmp"
	chmod 700 "$r/root"
	cat >"$r/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
	EOF
	# "nogroup" too, as that is the name Debian tools expect
	cat >"$r/etc/group" <<-'EOF'
		root:x:0:
		nobody:x:65534:
		nogroup:x:65534:
	EOF
	chmod 644 "$r/etc/passwd" "$r/etc/group"
}

# Merged /usr as in Debian 12: .debs still ship files under /bin, /lib...,
# so move those into /usr and leave symlinks (the dynamic loader is looked
# up as /lib64/ld-linux-x86-64.so.2).
merge_usr() { # rootfs
	r=$1
	for d in bin sbin lib lib32 lib64 libx32; do
		if [ -d "$r/$d" ] && [ ! -L "$r/$d" ]; then
			mkdir -p "$r/usr/$d"
			cp -a "$r/$d/." "$r/usr/$d/"
			rm -rf "${r:?}/$d"
		fi
		case $d in
		bin | sbin | lib | lib64) mkdir -p "$r/usr/$d" ;;
		esac
		if [ -d "$r/usr/$d" ] && [ ! -e "$r/$d" ]; then
			ln -s "usr/$d" "$r/$d"
		fi
	done
}

# Static busybox plus one symlink per applet, only where no real program
# of that name exists (the python image keeps Debian's own binaries).
add_busybox() { # rootfs
	r=$1
	dpkg-query -W -f='${db:Status-Abbrev}' busybox-static 2>/dev/null |
		grep -q '^ii' || die "busybox-static is not installed"
	[ -e "$r/usr/bin/busybox" ] || cp /bin/busybox "$r/usr/bin/busybox"
	for p in $(/bin/busybox --list-full); do
		name=${p##*/}
		d=${p%/*}
		d=${d#usr/}
		if [ -e "$r/usr/bin/$name" ] || [ -L "$r/usr/bin/$name" ] ||
			[ -e "$r/usr/sbin/$name" ] || [ -L "$r/usr/sbin/$name" ]; then
			continue
		fi
		case $d in
		sbin) ln -s ../bin/busybox "$r/usr/sbin/$name" ;;
		*) ln -s busybox "$r/usr/bin/$name" ;;
		esac
	done
}

# Run apt with its state in $work/apt, so it believes nothing is installed
# (and fetches the full dependency closure) without touching the host's
# dpkg database or apt cache. It reads the host's package lists (and
# refreshes them with apt-get update only if a download fails).
apt_work() { # work apt-get-args...
	a=$1/apt
	shift
	apt-get -q -y \
		-o Dir::State::status="$a/status" \
		-o Dir::State::extended_states="$a/extended_states" \
		-o Dir::Cache="$a/cache" \
		-o Dir::Cache::archives="$a/archives" \
		-o APT::Install-Recommends=false \
		"$@" >>"$a/log" 2>&1
}

fetch_debs() { # work "packages" "extra packages"
	# $2 and $3 are word-split on purpose: they are package lists
	# shellcheck disable=SC2086
	apt_work "$1" install --download-only $2 &&
		(cd "$1/apt/archives" && for x in $3; do
			apt_work "$1" download "$x" || exit 1
		done)
}

# Download the closure of the given packages (plus the "extra" ones
# alone, without their dependencies) and unpack it into $work/rootfs.
# The "left out" packages are entered in apt's status file as installed,
# so apt fetches neither them nor what only they depend on.  The version
# is above any real one: it satisfies the (unversioned or ">=")
# dependencies on them, and is never mistaken for the real package (a
# stub with the real version would get the real package's dependencies).
deb_rootfs() { # work "packages" "extra packages" ["left out packages"]
	w=$1
	a=$w/apt
	mkdir -p "$a/archives/partial" "$a/cache" "$w/rootfs"
	: >"$a/status"
	for p in ${4:-}; do
		printf '%s\n' "Package: $p" "Status: install ok installed" \
			"Version: 99:0-sbx-left-out" "Architecture: all" \
			"Description: left out of the image by sbx mkimage.sh" "" \
			>>"$a/status"
	done
	if ! fetch_debs "$w" "$2" "$3"; then
		# stale or missing lists: refresh once and retry
		log "apt download failed, running apt-get update"
		apt-get -q update >>"$a/log" 2>&1 || { cat "$a/log" >&2; die "apt-get update failed"; }
		fetch_debs "$w" "$2" "$3" || { cat "$a/log" >&2; die "apt download failed"; }
	fi
	n=0
	for deb in "$a"/archives/*.deb; do
		dpkg-deb -x "$deb" "$w/rootfs"
		n=$((n + 1))
	done
	log "${w##*/work-}: unpacked $n .debs ($(du -sm "$a/archives" | cut -f1) MB)"
	merge_usr "$w/rootfs"
	# Dead weight in a test sandbox: docs, translations, and glibc's
	# iconv modules (8 MB; python and node carry their own codecs).
	rm -rf "$w/rootfs/usr/share/doc" "$w/rootfs/usr/share/man" \
		"$w/rootfs/usr/share/info" "$w/rootfs/usr/share/lintian" \
		"$w/rootfs/usr/share/locale" \
		"$w/rootfs/usr/lib/"*/gconv
}

build_sbx_sh() { # work
	merge_usr "$1/rootfs"
	add_busybox "$1/rootfs"
	finish_rootfs "$1/rootfs"
}

build_sbx_python() { # work
	r=$1/rootfs
	# tzdata: python3 does not depend on it but zoneinfo needs it
	deb_rootfs "$1" python3 tzdata
	in_root "$r" /usr/bin/python3 -c 'print(1)' >/dev/null ||
		die "python3 does not run in the rootfs"
	compile_python "$1"
	add_busybox "$r"
	finish_rootfs "$r"
}

# The container's root fs is read-only: .pyc files must exist already.
compile_python() { # work
	pydirs=
	for d in "$1"/rootfs/usr/lib/python3*; do
		pydirs="$pydirs /usr/lib/${d##*/}"
	done
	# (no -j: its worker pool needs /dev/shm, and the chroot has no /dev)
	# shellcheck disable=SC2086
	in_root "$1/rootfs" /usr/bin/python3 -m compileall -q $pydirs \
		>"$1/compileall.log" 2>&1 ||
		{ cat "$1/compileall.log" >&2; die "compileall failed"; }
}

# matplotlib wants a writable config and cache directory: without one
# it warns on stderr at import, and a read-only one counts as none.  The
# root is read-only and there is no home, but sbx always mounts a tmpfs
# on /tmp.  So matplotlib lists the image's few fonts once per container
# (about 0.2 s, silent; its "building the font cache" warning comes only
# after 5 s); a session's later steps reuse the list.
mpl_dir=/tmp/matplotlib

# Leave out what no script of the ml template needs; the whole closure
# is 209 .debs and 1 GB installed, without these 110 and 290 MB:
# pythran (scipy depends on it, and it on gcc, g++, the boost headers
# and python3-dev), the Tk backend (Tk, X11, fontconfig; the image's
# backend is Agg), procps (joblib; busybox has ps, and procps brings
# libsystemd and perl) and fontTools' optional sympy, lxml (with ICU)
# and Unicode database.
ml_left_out="python3-pil.imagetk python3-pythran procps python3-sympy
python3-lxml unicode-data"

build_sbx_ml() { # work
	r=$1/rootfs
	deb_rootfs "$1" "python3 python3-numpy python3-pandas python3-sklearn
		python3-matplotlib tzdata" "" "$ml_left_out"
	# What libblas3's and liblapack3's postinst would do with
	# update-alternatives: numpy and scipy load libblas.so.3 and
	# liblapack.so.3 from the library directory.
	for lib in "$r"/usr/lib/*-linux-gnu/blas/libblas.so.3 \
		"$r"/usr/lib/*-linux-gnu/lapack/liblapack.so.3; do
		[ -e "$lib" ] || die "no $lib in the rootfs"
		sub=${lib%/*}
		ln -sf "${sub##*/}/${lib##*/}" "${sub%/*}/${lib##*/}"
	done
	# The packages' own test suites: 50 MB, and as much again in .pyc
	find "$r/usr/lib/python3/dist-packages" -type d -name tests -prune \
		-exec rm -rf {} +
	compile_python "$1"
	in_root "$r" /usr/bin/python3 -c 'import os
os.environ.update(MPLBACKEND="Agg", MPLCONFIGDIR="/tmp/mpl-check")
import numpy, pandas, sklearn, matplotlib.pyplot' >"$1/check.log" 2>&1 ||
		{ cat "$1/check.log" >&2; die "numpy, pandas, sklearn or matplotlib do not import in the rootfs"; }
	rm -rf "$r/tmp/mpl-check"
	add_busybox "$r"
	finish_rootfs "$r"
}

build_sbx_node() { # work
	r=$1/rootfs
	deb_rootfs "$1" nodejs ""
	in_root "$r" /usr/bin/node -e 'console.log(1)' >/dev/null ||
		die "node does not run in the rootfs"
	add_busybox "$r"
	finish_rootfs "$r"
}

# Compiled languages: each compiles in the container, as its run does,
# to /tmp (a tmpfs that allows exec), with a read-only root.  sbx-c has
# C and C++.
build_sbx_c() { # work
	r=$1/rootfs
	deb_rootfs "$1" "gcc g++ libc6-dev" ""
	mkdir -p "$r/tmp/check"
	printf '#include <stdio.h>\nint main(void){puts("1");return 0;}\n' \
		>"$r/tmp/check/x.c"
	in_root "$r" /usr/bin/gcc -o /tmp/check/x /tmp/check/x.c &&
		[ "$(in_root "$r" /tmp/check/x)" = 1 ] ||
		die "gcc does not compile in the rootfs"
	rm -rf "$r/tmp/check"
	add_busybox "$r"
	finish_rootfs "$r"
}

# Go 1.19 ships its standard library compiled (pkg/), so a build of a
# single file compiles that file only.  Left out: the tests and test
# data of the sources (the go command hashes the sources of what it
# links, so they stay), the toolchain's own packages and their sources
# (cmd/: 270 MB), the race detector's library, and tools a build does
# not run.
build_sbx_go() { # work
	r=$1/rootfs
	deb_rootfs "$1" golang-go ""
	g=$(echo "$r"/usr/lib/go-*)
	[ -d "$g" ] || die "no /usr/lib/go-* in the rootfs"
	find -H "$g/src" \( -name testdata -prune -exec rm -rf {} + \) -o \
		\( -name '*_test.go' -exec rm -f {} + \)
	rm -rf "$g/src/cmd/" "$g"/pkg/*/cmd "$g"/pkg/*_race "$g/test" \
		"$g/api" "$g/misc"
	for t in "$g"/pkg/tool/*/*; do
		case ${t##*/} in
		asm | buildid | cgo | compile | link | pack) ;;
		*) rm -f "$t" ;;
		esac
	done
	add_busybox "$r"
	finish_rootfs "$r"
}

build_tar() { # image
	work=$dir/work-$1
	rm -rf "$work"
	mkdir -p "$work/rootfs"
	t0=$(now)
	"build_$(echo "$1" | tr - _)" "$work"
	size=$(du -sm "$work/rootfs" | cut -f1)
	tar --numeric-owner --sort=name -C "$work/rootfs" -cf "$dir/$1.tar.tmp" .
	mv "$dir/$1.tar.tmp" "$dir/$1.tar"
	rm -rf "$work"
	log "$1: built $dir/$1.tar (rootfs ${size} MB) in $(($(now) - t0)) s"
}

verify() { # runtime image
	out=$("$1" run --rm --pull never --network none "$2" sh -c 'echo ok') ||
		die "$2 does not run under $1"
	[ "$out" = ok ] || die "$2 under $1: got '$out'"
	case $2 in
	sbx-python)
		# as the sandbox will: read-only root, unprivileged user
		out=$("$1" run --rm --pull never --network none --read-only \
			--user 65534:65534 "$2" python3 -c \
			'import json, sqlite3, ssl, zoneinfo; zoneinfo.ZoneInfo("Europe/Paris"); print("ok")') ||
			die "python3 fails in $2 under $1"
		[ "$out" = ok ] || die "$2 under $1: got '$out'"
		;;
	sbx-c | sbx-go)
		# as sbx compiles: read-only root, unprivileged user, the
		# program in the /tmp tmpfs
		case $2 in
		sbx-c) src='#include <iostream>
int main() { std::cout << "ok" << std::endl; }' ext=cpp
			build='gcc -O2 -pipe -o /tmp/c -x c /dev/null -c &&
			g++ -O2 -pipe -o /tmp/main /tmp/x.cpp' ;;
		*) src='package main
import "fmt"
func main() { fmt.Println("ok") }' ext=go
			build='go build -o /tmp/main /tmp/x.go' ;;
		esac
		out=$("$1" run --rm --pull never --network none --read-only \
			--user 65534:65534 \
			--tmpfs /tmp:rw,exec,nosuid,nodev,size=64m,mode=1777 \
			"$2" sh -c "printf '%s\n' '$src' >/tmp/x.$ext && $build &&
			/tmp/main" 2>&1) || { echo "$out" >&2; die "$2 does not compile under $1"; }
		[ "$out" = ok ] || die "$2 under $1: got '$out'"
		;;
	sbx-node)
		out=$("$1" run --rm --pull never --network none --read-only \
			--user 65534:65534 "$2" node -e 'console.log("ok")') ||
			die "node fails in $2 under $1"
		[ "$out" = ok ] || die "$2 under $1: got '$out'"
		;;
	sbx-ml)
		# as the ml template runs it: read-only root, unprivileged
		# user, no home, a tmpfs /tmp; and not a word on stderr
		# (matplotlib warns when it has no writable config dir)
		errf=$dir/verify-$1-$2.err
		out=$("$1" run --rm --pull never --network none --read-only \
			--user 65534:65534 \
			--tmpfs /tmp:rw,nosuid,nodev,size=512m,mode=1777 \
			"$2" python3 -c 'import numpy, pandas, sklearn, matplotlib
import matplotlib.pyplot as plt
from sklearn.linear_model import LinearRegression
m = LinearRegression().fit(numpy.arange(4).reshape(-1, 1), [0, 2, 4, 6])
assert abs(m.coef_[0] - 2) < 1e-9
pandas.DataFrame({"x": [1, 2]}).plot()
plt.plot([1, 2])
plt.savefig("/tmp/x.png")
assert open("/tmp/x.png", "rb").read(4) == b"\x89PNG"
print("ok")' 2>"$errf") ||
			{ cat "$errf" >&2; die "numpy, pandas, sklearn or matplotlib fail in $2 under $1"; }
		[ "$out" = ok ] || die "$2 under $1: got '$out'"
		[ ! -s "$errf" ] || { cat "$errf" >&2; die "$2 under $1: output on stderr"; }
		rm -f "$errf"
		;;
	esac
}

import() { # runtime image
	old=$(image_id "$1" "$2")
	q=
	[ "$1" = podman ] && q=-q # docker import has no -q; stdout is dropped
	# Where go keeps what it builds: the root is read-only, /tmp is
	# a run's tmpfs; no cgo, as the image has no C compiler.
	case $2 in
	sbx-ml) env2="ENV MPLBACKEND=Agg" env3="ENV MPLCONFIGDIR=$mpl_dir" ;;
	sbx-go) env2="ENV GOCACHE=/tmp/.cache/go-build GOPATH=/tmp/go" \
		env3="ENV CGO_ENABLED=0 GOTOOLCHAIN=local" ;;
	*) env2='' env3='' ;;
	esac
	# shellcheck disable=SC2086
	"$1" import $q --change "ENV PATH=$path" \
		${env2:+--change "$env2"} ${env3:+--change "$env3"} \
		--change 'CMD ["/bin/sh"]' "$dir/$2.tar" "$2" >/dev/null
	new=$(image_id "$1" "$2")
	# -f: drop the image we just replaced, unless something still uses it
	if [ -n "$old" ] && [ "$old" != "$new" ]; then
		"$1" rmi "$old" >/dev/null 2>&1 || true
	fi
	verify "$1" "$2"
	log "$2: imported into $1 and verified"
}

mkdir -p "$dir"
dir=$(cd "$dir" && pwd) # absolute: apt runs in a subdirectory
for img in $images; do
	case $img in
	sbx-sh | sbx-python | sbx-node | sbx-ml | sbx-c | sbx-go) ;;
	*) die "unknown image $img" ;;
	esac
	need=
	for rt in $runtimes; do
		if [ $force = 1 ] || ! have_image "$rt" "$img"; then
			need="$need $rt"
		fi
	done
	if [ -z "$need" ]; then
		log "$img: present in$runtimes, skipped"
		continue
	fi
	if [ $force = 1 ] || [ ! -f "$dir/$img.tar" ]; then
		build_tar "$img"
	fi
	for rt in $need; do
		import "$rt" "$img"
	done
done
