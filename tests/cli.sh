#!/bin/sh
# Bad input, config lookup and listing: everything that needs no
# container.  Every failure must be one clear line, status 125, and
# leave nothing behind.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
suite_base cli
t=$BASE
private_tmpdir
mkdir "$t/src" "$t/home"
export HOME="$t/home"
echo 'print(1)' >"$t/src/ok.py"

# fails WHAT PATTERN sbx-args...: status 125, stderr is one line
# matching PATTERN, stdout only an error event, and TMPDIR still empty.
fails() {
	what=$1 pat=$2
	shift 2
	"$SBX" "$@" >"$t/out" 2>"$t/err" </dev/null
	rc=$?
	if [ "$rc" -eq 125 ] && [ "$(wc -l <"$t/err")" -eq 1 ] &&
	    grep -q -- "$pat" "$t/err" &&
	    jq -e -s 'length <= 1 and all(.event == "error")' "$t/out" \
	    >/dev/null && [ -z "$(ls -A "$TMPDIR")" ]; then
		ok "$what"
	else
		notok "$what"
		echo "# status $rc, stderr: $(cat "$t/err")"
	fi
}

# badini WHAT LINE PATTERN: a config whose text follows on stdin
badini() {
	cat >"$t/bad.ini"
	fails "$1" "^sbx: $t/bad.ini:$2: .*$3" -c "$t/bad.ini" -D -r podman \
	    -d "$t/src" ok.py
}

printf '[default]\nmemory = 1x\n' | badini "memory = 1x" 2 "memory: invalid"
printf '[default]\nmemory = -5m\n' | badini "negative size" 2 "memory"
printf '[default]\nmemory = 99999999999999g\n' | badini "huge size" 2 memory
printf '[default]\ncpus = -1\n' | badini "cpus = -1" 2 "cpus"
printf '[default]\ncpus = 0\n' | badini "cpus = 0" 2 "cpus"
printf '[default]\ntimeout = 0\n' | badini "timeout = 0" 2 "timeout"
printf '[default]\nruntime = lxc\n' | badini "unknown runtime" 2 "runtime"
printf '[default]\nnetwork = maybe\n' | badini "bad boolean" 2 "network"
printf '[default]\nworkspace = rx\n' | badini "bad workspace" 2 "workspace"
printf '[default]\nuser = root\n' | badini "user name" 2 "user"
printf '[default]\n\nbogus = 1\n' | badini "unknown key" 3 "unknown key 'bogus'"
printf '[default]\nmemory = 1g\nmemory = 2g\n' | badini "duplicate key" 3 \
    "duplicate key 'memory'"
printf '[a]\npids = 1\n[b]\npids = 2\n[a]\npids = 3\n' | badini \
    "duplicate section" 5 "duplicate section"
printf '[default]\nmemory 1g\n' | badini "line without =" 2 "syntax error"
printf '[default\nmemory = 1g\n' | badini "truncated section" 1 "syntax error"
printf 'memory = 1g\n' | badini "key outside a section" 1 "outside"
printf '[default]\n  memory = 1g\n' | badini "indented line" 2 "indented"
printf '[default]\nimage = %0300d\n' 0 | badini "line too long" 2 "longer"
printf '[default]\nmemory = 1g\0\n' | badini "binary junk" 2 "binary"
printf '[a]\ninherit = b\n[b]\ninherit = a\n' | badini "inherit cycle" \
    "[24]" "inherits from itself"
printf '[a]\ninherit = zz\n' | badini "inherit unknown" 2 "no template 'zz'"
printf '[bad name!]\npids = 1\n' | badini "bad section name" 1 "section"
printf '[default]\npids = 1\n[language rb]\nimage = x\n' | badini \
    "language without command" 3 "needs both"
printf '[language py]\ncommand = "python"\nimage = x\n' | badini \
    "quoted command" 2 "command"
head -c 3000 /dev/urandom | tr -d '\n' | badini "random bytes" "[0-9]*" ""

fails "missing config file" "$t/none.ini" -c "$t/none.ini" -d "$t/src" ok.py
fails "unknown template lists the others" \
    "unknown template 'nope'.*available: default, secure, ml, web" \
    -t nope -d "$t/src" ok.py
fails "-m 1x" "^sbx: -m: memory: invalid value '1x'" -m 1x -d "$t/src" ok.py
fails "-p 0.005: below the runtimes' least, refused before any run" \
    "^sbx: -p: cpus: invalid value '0.005'" -p 0.005 -D -d "$t/src" ok.py
fails "-p -1" "^sbx: -p: cpus" -p -1 -d "$t/src" ok.py
fails "-T 0" "^sbx: -T: timeout" -T 0 -d "$t/src" ok.py
# "gc" is a command alone; with a word after it, a script's name, as
# ever: here one that the tree does not hold.
fails "gc WORD runs a script named gc" "^sbx: gc: No such file" gc x
fails "-w bogus" "^sbx: -w: workspace" -w bogus -d "$t/src" ok.py
fails "-r bogus" "^sbx: -r: runtime" -r bogus -d "$t/src" ok.py
fails "-i bad image" "^sbx: -i: image" -i '-x' -d "$t/src" ok.py
fails "missing -d dir" "^sbx: -d $t/nodir:" -d "$t/nodir" ok.py
fails "script outside dir" "outside" -d "$t/src" ../x.py
fails "absolute script elsewhere" "outside" -d "$t/src" /etc/hostname
fails "missing script" "no.py" -d "$t/src" no.py
: >"$t/src/empty.py"
fails "empty script" "empty" -d "$t/src" empty.py
ln -s ok.py "$t/src/link.py"
fails "script is a symlink" "not a regular file" -d "$t/src" link.py
echo x >"$t/src/x.rb"
echo 'print(1)' >"$t/src/sbx_guard.py"
fails "a name /sbx reserves, with -w none" "name reserved" -w none \
    -d "$t/src" sbx_guard.py
rm "$t/src/sbx_guard.py"
printf 'echo 1\n' >"$t/src/init"
fails "init, the name of sbx's init in /sbx, with -w none" "name reserved" \
    -w none -e sh -d "$t/src" init
rm "$t/src/init"
fails "unknown extension" "no language for extension 'rb'" -d "$t/src" x.rb
for args in "-d $t/src" "-Z ok.py"; do
	"$SBX" $args >"$t/out" 2>"$t/err"
	[ $? -eq 125 ] && [ ! -s "$t/out" ] && grep -q '^usage: sbx' "$t/err" &&
	    ok "usage for: $args" || notok "usage for: $args"
done
fails "TMPDIR inside dir" "holds the temporary directory" -r podman \
    -d "$t" src/ok.py
mkdir -m 777 "$t/open"
TMPDIR=$t/open "$SBX" -D -r podman -d "$t/src" ok.py >/dev/null 2>"$t/err"
[ $? -eq 125 ] && grep -q "^sbx: TMPDIR $t/open: $t/open may be changed by others" \
    "$t/err" && ok "a TMPDIR others may write, not sticky, is refused" ||
    { notok "a TMPDIR others may write, not sticky, is refused"; cat "$t/err"; }
chmod 1777 "$t/open"
TMPDIR=$t/open "$SBX" -D -r podman -d "$t/src" ok.py >/dev/null 2>"$t/err" &&
    ok "a sticky one, as /tmp, is not" ||
    { notok "a sticky one, as /tmp, is not"; cat "$t/err"; }
rmdir "$t/open"
PATH=/nonexistent-dir "$SBX" -r podman -d "$t/src" ok.py >/dev/null 2>"$t/err"
[ $? -eq 125 ] && grep -q "^sbx: podman: not found in PATH" "$t/err" &&
    ok "missing runtime" || notok "missing runtime"

"$SBX" -d "$t/src" -D -r podman "$t/src/ok.py" >"$t/out" 2>&1 &&
    jq -e '.argv | index("/workspace/ok.py")' "$t/out" >/dev/null &&
    ok "absolute script inside dir" || notok "absolute script inside dir"
"$SBX" -h 2>"$t/err"; rc=$?
[ $rc -eq 0 ] && grep -q '^usage: sbx \[-DhkLlnuV\]' "$t/err" && ok "-h" ||
    notok "-h"
"$SBX" -V | grep -q '^sbx [0-9]' && ok "-V" || notok "-V"
"$SBX" -l >"$t/out" &&
    [ "$(jq -r .name "$t/out" | tr "\n" " ")" = "default secure ml web minimal standard hardened paranoid gvisor " ] &&
    jq -e -s 'all(.event == "template" and .limits.memory > 0)' "$t/out" \
    >/dev/null && ok "-l lists the built-in templates in order" ||
    notok "-l lists the built-in templates in order"

# Sessions, diff and apply: bad ids and targets.
fails "exec: a malformed id" "not a session id" exec xyz "$t/src/ok.py"
fails "exec: an unknown session" "no such session" exec 0123456789ab \
    "$t/src/ok.py"
fails "exec -T 0" "not a duration" exec -T 0 0123456789ab "$t/src/ok.py"
fails "stop: an unknown session" "no such session" stop 0123456789ab
fails "stop: a malformed id" "not a session id" stop ../x
fails "start: an unknown template" "unknown template" start -t nope \
    -d "$t/src"
fails "apply: a tree that is no kept run" "not a kept sbx run" apply "$t/src"
fails "diff: a missing path" "No such file" diff "$t/nothere"
fails "diff: an unknown session" "no such session" diff 0123456789ab

# Pools: names, sizes, the options a pooled run may not change.
fails "-P: an unknown pool" "nopool: no such pool" -P nopool -d "$t/src" ok.py
fails "-P: a malformed name" "not a pool name" -P ../x -d "$t/src" ok.py
fails "-P with -m" "-m: a pool's containers are made" -P p -m 64m ok.py
fails "-P with -t" "-t: a pool's containers are made" -P p -t secure ok.py
fails "pool start: a malformed name" "not a pool name" pool start .x
fails "pool start: a name too long" "not a pool name" pool start \
    abcdefghijabcdefghijabcdefghijabc
fails "pool start -n 0" "not a pool size" pool start p -n 0
fails "pool start -n 65" "not a pool size" pool start p -n 65
fails "pool start -n x" "not a pool size" pool start p -n x
fails "pool start: an unknown template" "unknown template" pool start p \
    -t nope
fails "pool stop: an unknown pool" "no such pool" pool stop nopool
fails "--repl on a run" "--repl: for sbx start only" --repl -d "$t/src" ok.py
fails "--repl on a pool" "--repl: for sbx start only" pool start p --repl
for args in "pool" "pool frob" "pool start p ok.py" "pool ls x" \
    "pool stop" "pool start"; do
	"$SBX" $args >"$t/out" 2>"$t/err"
	[ $? -eq 125 ] && [ ! -s "$t/out" ] && grep -q '^usage: sbx' "$t/err" &&
	    [ -z "$(ls -A "$TMPDIR")" ] &&
	    ok "usage for: $args" || notok "usage for: $args"
done

# Config lookup, in layers: the built-in copy (no system file here), the
# user's file (XDG, else ~/.config), then -c or else $SBX_CONFIG; never
# the cwd or dir.
builtin="default secure ml web minimal standard hardened paranoid gvisor"
mk() { printf '[%s]\npids = 7\n' "$1" >"$2"; }
mkdir -p "$t/home/.config/sbx" "$t/xdg/sbx"
mk cwd "$t/src/sbx.ini"
mk home "$t/home/.config/sbx/sbx.ini"
names() { (cd "$t/src" && "$@" -l | jq -r .name | tr '\n' ' '); }
[ "$(names "$SBX")" = "$builtin home " ] &&
    ok "~/.config/sbx/sbx.ini is layered over the built-in copy" ||
    notok "~/.config/sbx/sbx.ini is layered over the built-in copy"
mk xdg "$t/xdg/sbx/sbx.ini"
[ "$(XDG_CONFIG_HOME=$t/xdg names "$SBX")" = "$builtin xdg " ] &&
    ok "XDG_CONFIG_HOME wins over HOME" || notok "XDG_CONFIG_HOME wins over HOME"
mk env "$t/env.ini"
[ "$(SBX_CONFIG=$t/env.ini XDG_CONFIG_HOME=$t/xdg names "$SBX")" = \
    "$builtin xdg env " ] && ok "SBX_CONFIG is layered over XDG" ||
    notok "SBX_CONFIG is layered over XDG"
mk opt "$t/opt.ini"
[ "$(SBX_CONFIG=$t/env.ini names "$SBX" -c "$t/opt.ini")" = \
    "$builtin home opt " ] && ok "-c replaces SBX_CONFIG" ||
    notok "-c replaces SBX_CONFIG"
[ "$(names "$SBX" -c "$t/home/.config/sbx/sbx.ini")" = "$builtin home " ] &&
    ok "a file named twice is read once" || notok "a file named twice is read once"
rm "$t/home/.config/sbx/sbx.ini"
case "$(names "$SBX")" in
*cwd*) notok "sbx.ini in the current directory is never read" ;;
*) ok "sbx.ini in the current directory is never read" ;;
esac

# A user's file that adds one template keeps every other template and
# language; one that changes a key of [secure] keeps its others.
x=$t/xdg/sbx/sbx.ini
printf '[mine]\nmemory = 64m\n' >"$x"
export XDG_CONFIG_HOME="$t/xdg"
[ "$(names "$SBX")" = "$builtin mine " ] &&
    ok "a user's new template keeps the built-in ones" ||
    notok "a user's new template keeps the built-in ones"
echo 'echo 1' >"$t/src/ok.sh"
echo 'console.log(1)' >"$t/src/ok.js"
for s in ok.py ok.sh ok.js; do
	"$SBX" -D -r podman -d "$t/src" "$s" >"$t/out" 2>"$t/err" &&
	    jq -e '.event == "argv"' "$t/out" >/dev/null &&
	    ok "a user's new template keeps the language of $s" ||
	    { notok "a user's new template keeps the language of $s"
	    echo "# $(cat "$t/err")"; }
done
"$SBX" -D -r podman -t mine -d "$t/src" ok.py >"$t/out" 2>"$t/err" &&
    jq -e '.argv | index("--memory=67108864") and index("--pids-limit=128")' \
    "$t/out" >/dev/null && ok "a user's template runs, over [default]" ||
    notok "a user's template runs, over [default]"
lim() { "$SBX" "$@" -l | jq -c 'select(.name == "secure") | .limits'; }
unset XDG_CONFIG_HOME
# An engine reached elsewhere that is not there: the copy transport's
# run says so in its result, names the setting, and leaves nothing.
mkdir -p "$t/dockercfg"
printf '{"auths": {}, "currentContext": "far"}\n' >"$t/dockercfg/config.json"
unreachable() {
	"$SBX" -r "$1" -d "$t/src" ok.py >"$t/out" 2>"$t/err" </dev/null
	rc=$?
	got=$(jq -r 'select(.event == "result") | .error' "$t/out" 2>/dev/null)
	case $rc:$got in
	"125:$1: cannot reach the engine of $said") [ -z "$(ls -A "$TMPDIR")" ] ;;
	*) false ;;
	esac
}
for e in DOCKER_HOST=tcp://127.0.0.1:1 DOCKER_CONTEXT=far \
    DOCKER_CONFIG=$t/dockercfg; do
	export "${e?}"
	case $e in
	DOCKER_CONFIG=*) said="docker context far ($t/dockercfg/config.json)" ;;
	*) said=$e ;;
	esac
	unreachable docker
	say $? "docker with $e: remote, not there: 125, named, nothing left"
	unset "${e%%=*}"
done
printf '[containers]\n[engine]\n  remote = true # a client\n' >"$t/remote.conf"
for e in CONTAINER_HOST=unix:///nowhere.sock CONTAINER_CONNECTION=far \
    CONTAINERS_CONF=$t/remote.conf; do
	export "${e?}"
	case $e in
	CONTAINERS_CONF=*) said="remote = true ($t/remote.conf)" ;;
	*) said=$e ;;
	esac
	unreachable podman
	say $? "podman with $e: remote, not there: 125, named, nothing left"
	fails "podman with $e: no session there" \
	    "^sbx: $said: sessions and pools talk to their supervisor" \
	    start -r podman -d "$t/src"
	fails "podman with $e: no allow_hosts there" \
	    "^sbx: allow_hosts: $said: the proxy's socket" \
	    -r podman --allow-host ok.test -d "$t/src" ok.py
	"$SBX" -D -r podman -w rw -d "$t/src" ok.py >"$t/out" 2>"$t/err" &&
	    jq -e '.argv | (.[1] == "create") and index("--user=0:0") and
	    index("--mount=type=volume,target=/workspace") and index("-u") and
	    (map(select(startswith("--mount=type=bind"))) | length == 0)' \
	    "$t/out" >/dev/null
	say $? "podman with $e: -D shows the copy transport's create, no bind"
	unset "${e%%=*}"
done
want=$(lim | jq -c '.timeout = 20')
export XDG_CONFIG_HOME="$t/xdg"
printf '[secure]\ntimeout = 20\n' >"$x"
[ -n "$want" ] && [ "$(lim)" = "$want" ] &&
    ok "a user's [secure] with one key keeps its other keys" ||
    notok "a user's [secure] with one key keeps its other keys"
printf '[secure]\ncpus = 2\n[language py]\nimage = my-python\n' >"$t/c.ini"
[ "$(lim -c "$t/c.ini")" = "$(printf '%s' "$want" | jq -c '.cpus = 2')" ] &&
    ok "-c is layered over the user's file" ||
    notok "-c is layered over the user's file"
"$SBX" -c "$t/c.ini" -D -r podman -d "$t/src" ok.py >"$t/out" 2>&1 &&
    jq -e '.argv | index("my-python") and index("python3")' "$t/out" \
    >/dev/null && ok "-c changes a language's image, keeps its command" ||
    notok "-c changes a language's image, keeps its command"
"$SBX" -c "$t/c.ini" -l >"$t/out" &&
    jq -e -s --arg x "$x" --arg c "$t/c.ini" '
    (map(select(.name == "secure"))[0] | .file == $c and
    .files == ["(built-in)", $x, $c]) and
    (map(select(.name == "ml"))[0] | .file == "(built-in)" and
    .files == ["(built-in)"])' "$t/out" >/dev/null &&
    ok "-l names the files of each template" ||
    notok "-l names the files of each template"

# Errors name the file and line of the layer they are in.
printf '[secure]\n\ntimeout = 1x\n' >"$x"
fails "an error in the user's file names it" "^sbx: $x:3: timeout: invalid" \
    -D -r podman -d "$t/src" ok.py
printf '[secure]\ntimeout = 20\n[mine]\npids = 1\n[secure]\npids = 2\n' >"$x"
fails "a duplicate section in the user's file" "^sbx: $x:5: duplicate section" \
    -D -r podman -d "$t/src" ok.py
printf '[secure]\ntimeout = 20\ntimeout = 21\n' >"$x"
fails "a duplicate key in the user's file" "^sbx: $x:3: duplicate key" \
    -D -r podman -d "$t/src" ok.py
printf '[secure]\ntimeout = 20\n' >"$x"
printf '[secure]\ntimeout = 25\ninherit = nope\n' >"$t/c.ini"
fails "an error in -c names it" "^sbx: $t/c.ini:3: inherit: no template" \
    -c "$t/c.ini" -D -r podman -d "$t/src" ok.py
printf '[language rb]\nimage = sbx-ruby\n' >"$x"
fails "a new language needs both keys, in the user's file" \
    "^sbx: $x:1: \[language rb\] needs both" -D -r podman -d "$t/src" ok.py
printf '[mine]\npids = 1\n' >"$x"
fails "an unknown template lists the layers' templates" \
    "unknown template 'nope'.*available: default, secure, .*paranoid, gvisor, mine" \
    -t nope -D -r podman -d "$t/src" ok.py
unset XDG_CONFIG_HOME
exit 0
