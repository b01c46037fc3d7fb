#!/bin/sh
# Golden files of the exact container argv, from the dry run (-D), one
# argv element per line.  UPDATE=1 rewrites them after a deliberate change.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
# The init's bind mount names it: the one of this tree, as SUPERVISE.
SBX_SUPERVISE=$root/sbx-supervise
export SBX_SUPERVISE
suite_base golden
src=$BASE
mkdir -p "$src/sub dir"
echo 'print(1)' >"$src/hello.py"
echo 'echo 1' >"$src/sub dir/run it.sh"

# name | options and arguments, split by the shell
cases='
podman-default|-r podman hello.py
docker-default|-r docker hello.py
podman-secure|-r podman -t secure hello.py a b
docker-rw|-r docker -w rw -m 256m -p 0.5 -T 5 hello.py
podman-none|-r podman -w none -- "sub dir/run it.sh" "-x" "a b"
docker-stdin|-r docker -e sh -
podman-web|-r podman -t web hello.py
docker-loose|-r docker -c tests/golden.ini -t loose hello.py
podman-session|start -r podman -w rw -e sh
docker-session|start -r docker -t secure
podman-pool|pool -r podman -e sh -w rw
docker-pool|pool -r docker -t secure
'
echo "$cases" | while IFS='|' read -r name args; do
	[ -n "$name" ] || continue
	want=tests/golden/$name.argv
	cmd= dir='-d "$src"'
	case $args in
	start\ *) cmd=start args=${args#start } ;;
	pool\ *) cmd="pool start gold" args=${args#pool } dir= ;;
	esac
	got=$(eval "TMPDIR=/golden-tmp \"\$SBX\" $cmd -D -c tests/golden.ini $dir $args" |
	    jq -r '.argv[] | @json' |
	    sed -e 's/sbx-[0-9]*-[0-9a-f]\{12\}/sbx-NAME/' \
	        -e 's/sbx\.owner=[0-9a-f-]*:[0-9]*:[0-9]*:[0-9]*/sbx.owner=OWNER/' \
	        -e 's/sbx\.deadline=[0-9]*/sbx.deadline=TIME/' \
	        -e 's/sbx=[0-9.]*"/sbx=VERSION"/' \
	        -e 's/sbx\.[0-9]*\.XXXXXX/sbx.PID.XXXXXX/g' \
	        -e "s|source=$SBX_SUPERVISE,|source=SUPERVISE,|" \
	        -e "s|SBX_INIT_KEY=[0-9a-f]\{32\}|SBX_INIT_KEY=KEY|")
	if [ "${UPDATE:-0}" = 1 ]; then
		printf '%s\n' "$got" >"$want"
	fi
	printf '%s\n' "$got" | diff -u "$want" - >&2
	say $? "$name"
done
