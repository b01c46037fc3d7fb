#!/bin/sh
# sbx as an unprivileged user with rootless podman.  The user is made
# here (with subordinate ids) if missing; CI runs as root.  On cgroup v1
# rootless podman ignores memory, CPU and pids limits, so sbx must refuse
# to run there; on cgroup v2 a bounded rw workspace is refused (only
# root mounts its tmpfs) and, with no bound, the run must work, limits
# and all, and the shadow copy (files written by a mapped uid included)
# must be removed.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
user=sbx-rootless
if [ "$(id -u)" != 0 ]; then
	notok "needs root to create the test user"
	exit 0
fi
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/sh "$user" || {
	notok "useradd $user"
	exit 0
}
grep -q "^$user:" /etc/subuid || usermod --add-subuids 200000-265535 \
    --add-subgids 200000-265535 "$user"
suite_base rootless
t=$BASE
mkdir "$t/tmp" "$t/src"
cp "$SBX" "$t/sbx"
printf 'print("hello", flush=True)\nopen("new.txt", "w").write("x")\n' \
    >"$t/src/w.py"
chmod -R a+rX "$t"
chown "$user" "$t/tmp"
as_user() { su -s /bin/sh "$user" -c "cd $t && TMPDIR=$t/tmp $*"; }

if [ ! -e /sys/fs/cgroup/cgroup.controllers ]; then
	as_user "./sbx -r podman -w rw -d src w.py" >"$t/out" 2>"$t/err"
	rc=$?
	[ $rc -eq 125 ] && grep -q "rootless podman cannot enforce" "$t/err" &&
	    [ -z "$(ls -A "$t/tmp")" ] &&
	    ok "cgroup v1: refused with a clear error, nothing created" ||
	    { notok "cgroup v1: refused with a clear error, nothing created"
	      echo "# status $rc: $(cat "$t/err")"; }
	exit 0
fi
# cgroup v2: the image must be in the user's own storage.
as_user "podman image exists sbx-python || podman import -q \
    /var/tmp/sbx-images/sbx-python.tar sbx-python" >/dev/null 2>&1
# A bounded workspace needs a tmpfs only root mounts: refused, not
# unbounded; with no bound, the run goes on.
as_user "./sbx -r podman -w rw -d src w.py" >"$t/out" 2>"$t/err"
rc=$?
[ $rc -eq 125 ] && grep -q "workspace_size and workspace_files need a tmpfs" \
    "$t/err" && [ -z "$(ls -A "$t/tmp")" ] &&
    ok "cgroup v2: a bounded rw workspace is refused, nothing left" ||
    notok "cgroup v2: a bounded rw workspace is refused, nothing left"
printf '[default]\nworkspace_size = 0\nworkspace_files = 0\n' >"$t/nobound.ini"
chmod a+r "$t/nobound.ini"
as_user "SBX_CONFIG=$t/nobound.ini ./sbx -r podman -w rw -k -d src w.py" \
    >"$t/out" 2>"$t/err"
rc=$?
[ $rc -eq 0 ] && grep -q '"data":"hello' "$t/out" &&
    ok "cgroup v2: a rw run as $user" || notok "cgroup v2: a rw run as $user"
shadow=$(jq -r 'select(.event == "result") | .shadow' "$t/out")
[ -f "$shadow/new.txt" ] && ok "cgroup v2: the write landed in the copy" ||
    notok "cgroup v2: the write landed in the copy"
as_user "SBX_CONFIG=$t/nobound.ini ./sbx -r podman -w rw -d src w.py" \
    >/dev/null 2>&1
[ "$(ls -A "$t/tmp" | wc -l)" -le 1 ] &&
    ok "cgroup v2: the copy with a mapped uid's files is removed" ||
    notok "cgroup v2: the copy with a mapped uid's files is removed"
exit 0
