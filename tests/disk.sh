#!/bin/sh
# The workspace bounded in rw and none modes (workspace_size and
# workspace_files, a tmpfs sbx mounts on the shadow copy), on podman and
# docker: a 2 GB file, 200k small files and a file grown by appends all
# stop at the bound with ENOSPC, the result says disk_exceeded, the
# change report still works, the host's disk does not fill, the original
# is untouched and nothing is left behind; a sparse file takes no room;
# sessions, pooled and kept runs keep the bound; where sbx cannot mount
# the tmpfs where the engine sees it, the run is refused, not unbounded.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtime_suite disk "$@"
mkdir "$t/src"
res() { jq -r "select(.event == \"result\") | $1" "$t/out"; }
data() { jq -j "select(.event == \"$1\") | .data" "$t/out"; }
cat >"$t/src/big.py" <<'PY'
import errno, os
try:
    with open("big", "wb") as f:
        for i in range(2048):
            f.write(b"x" * (1 << 20))
    print("wrote 2 GB")
except OSError as e:
    print(errno.errorcode[e.errno], os.path.getsize("big") >> 20)
PY
cat >"$t/src/many.py" <<'PY'
import errno, os
os.mkdir("d")
n = 0
try:
    for n in range(200000):
        open("d/%d" % n, "w").close()
    print("made 200000")
except OSError as e:
    print(errno.errorcode[e.errno], n)
PY
cat >"$t/src/append.sh" <<'SH'
i=0
while [ $i -lt 200 ]; do
	head -c 1048576 /dev/zero >>log || { echo "stopped at $i"; break; }
	i=$((i + 1))
done
SH
cat >"$t/src/sparse.sh" <<'SH'
truncate -s 10G sparse && echo "10G sparse"
dd if=/dev/zero of=sparse bs=1M count=1 seek=5000 conv=notrunc 2>/dev/null &&
    echo "a block written"
SH
printf 'kept\n' >"$t/src/keep.txt"
sum() { (cd "$t/src" && find . | sort && cat ./*) | cksum; }
before=$(sum)
free_kb() { df -Pk "$TMPDIR" | awk 'NR == 2 { print $4 }'; }

run() {
	"$SBX" -c "$conf" -r "$rt" "$@" >"$t/out" 2>"$t/err"
}
for rt in $runtimes; do
	RT=$rt
	f0=$(free_kb)
	run -t disk -d "$t/src" big.py
	is "2 GB in one file: ENOSPC at the 64 MB bound" "$(data stdout)" \
	    "ENOSPC 64" || show
	is "2 GB in one file: disk_exceeded" "$(res .disk_exceeded)" true
	is "2 GB in one file: the change report works" \
	    "$(res '.changes.added')" 1
	f1=$(free_kb)
	num "2 GB in one file: the host's disk kept its space (kB lost)" \
	    "$((f0 - f1))" '<' 65536
	run -t disk -d "$t/src" many.py
	like "200k small files: ENOSPC at the 1000-file bound" \
	    "$(data stdout)" "ENOSPC 99" || show
	is "200k small files: disk_exceeded" "$(res .disk_exceeded)" true
	num "200k small files: the change report lists them" \
	    "$(res '.changes.added')" '>=' 999
	run -t disk -d "$t/src" append.sh
	is "appends: stopped at the bound" "$(data stdout)" "stopped at 64" ||
	    show
	is "appends: disk_exceeded" "$(res .disk_exceeded)" true
	run -t disk -d "$t/src" sparse.sh
	is "a sparse file takes no room" "$(data stdout)" \
	    "10G sparse${nl}a block written" || show
	is "a sparse file: not disk_exceeded" "$(res .disk_exceeded)" false
	run -t disk -w none -d "$t/src" big.py
	# none: the script is in /sbx, the workspace empty but bounded.
	is "workspace none: bounded too" "$(data stdout)" "ENOSPC 64" || show
	# test: 128m of memory under the default's 256m of workspace: the
	# workspace's pages are the container's memory, and the OOM killer
	# comes first.
	f0=$(free_kb)
	run -t test -w rw -d "$t/src" append.sh
	is "memory below the workspace bound: the OOM killer ends it" \
	    "$(res .oom_killed)" true || show
	f1=$(free_kb)
	num "memory below the workspace bound: the disk kept its space" \
	    "$((f0 - f1))" '<' 65536

	# -k: the kept shadow is on the disk, for sbx diff and rm -r.
	run -t disk -k -d "$t/src" append.sh
	shadow=$(res .shadow)
	kept=${shadow%/ws}
	[ -n "$shadow" ] && [ -s "$shadow/log" ] &&
	    ! grep -q " $shadow " /proc/self/mountinfo
	say $? "-k: the kept workspace is a directory on the disk, not a mount"
	"$SBX" diff "$kept" >"$t/diff" 2>&1
	like "-k: sbx diff of the kept run" "$(cat "$t/diff")" " b/log"
	rm -rf "$kept"
	[ ! -e "$kept" ]
	say $? "-k: the kept run removes as any directory"
	# Hard links and a sparse file would take more on the disk: the
	# kept workspace stays the tmpfs, and says so.
	printf 'head -c 1048576 /dev/zero >big\nfor i in 1 2 3 4 5 6 7 8; do ln big l$i; done\ntruncate -s 200M sparse\n' \
	    >"$t/src/links.sh"
	run -t disk -k -d "$t/src" links.sh
	rm -f "$t/src/links.sh"
	shadow=$(res .shadow)
	like "-k: hard links and sparse files: a warning" "$(jq -r 'select(
	    .event == "warning") | .message' "$t/out")" "kept as the tmpfs it is"
	grep -q " ${shadow%/ws}/ws " /proc/self/mountinfo
	say $? "-k: hard links and sparse files: the tmpfs stays, not the disk"
	umount "$shadow" && rm -rf "${shadow%/ws}"

	# A session: the bound holds across its steps.
	id=$("$SBX" start -c "$conf" -r "$rt" -t disk -d "$t/src" |
	    jq -r 'select(.event == "session") | .id')
	ids="$ids $id"
	"$SBX" exec "$id" "$t/src/append.sh" >"$t/out" 2>"$t/err"
	is "session: a step stops at the bound" "$(data stdout)" \
	    "stopped at 64" || show
	is "session: disk_exceeded in its result" "$(res .disk_exceeded)" true
	"$SBX" stop "$id" >/dev/null 2>&1

	# A pooled run: its slot's tmpfs, fitted at the claim.
	p=disk-$rt-$$
	pools="$pools $p"
	"$SBX" pool start "$p" -c "$conf" -r "$rt" -t disk -e sh -n 1 \
	    >/dev/null 2>"$t/err" || { notok "pool start"; show; }
	"$SBX" -c "$conf" -P "$p" -d "$t/src" append.sh >"$t/out" 2>"$t/err"
	is "pooled: pooled" "$(jq -r 'select(.event == "start") | .pooled' \
	    "$t/out")" true
	is "pooled: stops at the bound" "$(data stdout)" "stopped at 64" ||
	    show
	is "pooled: disk_exceeded" "$(res .disk_exceeded)" true
	"$SBX" pool stop "$p" >/dev/null 2>&1

	is "the original is untouched" "$(sum)" "$before"
	is "nothing left in TMPDIR" "$(ls -A "$TMPDIR")" ""
	is "no tmpfs of ours left mounted" \
	    "$(grep -c " $TMPDIR/" /proc/self/mountinfo)" 0
done

# Where the engine cannot see sbx's mounts (sbx in a mount namespace of
# its own, dockerd in the host's), a bounded workspace is refused.
case " $runtimes " in
*" docker "*)
	RT=docker
	unshare -m --propagation private "$SBX" -c "$conf" -r docker -t disk \
	    -d "$t/src" append.sh >"$t/out" 2>"$t/err"
	rc=$?
	is "unseen mounts: refused with status 125" "$rc" 125
	like "unseen mounts: a clear error" "$(cat "$t/err")" \
	    "workspace rw: workspace_size and workspace_files need a tmpfs"
	is "unseen mounts: nothing left in TMPDIR" "$(ls -A "$TMPDIR")" ""
	;;
esac
exit 0
