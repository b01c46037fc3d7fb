#!/bin/sh
# Compiled languages, on podman and docker: C (gcc) and Go compile in
# the run's container, then the program runs with the run's limits.
# The compile event has the compiler's output and status, the result
# says the phase; a compile error is status 1, never the program's;
# each phase has its own timeout, CPU time and output cap; the program
# reads stdin, writes in -w rw, is killed by its own limits.  A test
# language whose "compiler" is sh (tests/test.ini) ends the compile as a
# test needs, even with a forged end line.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtime_suite compile "$@"
mkdir "$t/src"
res() { jq -r "select(.event == \"result\") | $1" "$t/out"; }
comp() { jq -r "select(.event == \"compile\") | $1" "$t/out"; }
data() { jq -j "select(.event == \"$1\") | .data" "$t/out"; }
run() { "$SBX" -c "$conf" -r "$rt" "$@" >"$t/out" 2>"$t/err"; }

cat >"$t/src/hello.c" <<'C'
#include <stdio.h>
int main(int argc, char **argv) {
	char line[64];
	if (fgets(line, sizeof line, stdin))
		printf("read %s", line);
	printf("hello from c, %d args\n", argc - 1);
	return 3;
}
C
printf 'int main(void) { return undeclared; }\n' >"$t/src/bad.c"
printf 'int main(void) { for (;;) ; }\n' >"$t/src/loop.c"
printf 'int main(void) { return *(volatile int *)0; }\n' >"$t/src/segv.c"
cat >"$t/src/write.c" <<'C'
#include <stdio.h>
int main(void) {
	FILE *f = fopen("made.txt", "w");
	if (!f || fputs("by the program\n", f) < 0 || fclose(f))
		return 1;
	puts("wrote");
	return 0;
}
C
cat >"$t/src/big.c" <<'C'
#include <stdio.h>
int main(void) {
	static char b[4096];
	FILE *f = fopen("/tmp/big", "w");
	for (int i = 0; f && i < 1024; i++)
		if (fwrite(b, 1, sizeof b, f) != sizeof b)
			return 1;
	return f == NULL || fclose(f) != 0;
}
C
cat >"$t/src/hello.go" <<'GO'
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("hello from go")
	os.Exit(4)
}
GO
printf 'package main\n\nfunc main() { x := 1 }\n' >"$t/src/bad.go"
cat >"$t/src/hello.cpp" <<'CPP'
#include <iostream>
#include <string>
#include <vector>
int main() {
	std::vector<std::string> v{"hello", "from", "c++"};
	for (const auto &w : v)
		std::cout << w << (&w == &v.back() ? "\n" : " ");
	return 5;
}
CPP
printf 'int main() { std::string s; }\n' >"$t/src/bad.cpp"
printf 'echo compiling >&2\nexit 2\n' >"$t/src/fails.shc"
printf 'sleep 30\n' >"$t/src/slow.shc"
# A forged end line: without the run's key it is output, not the end.
printf 'printf "\\036sbx-compiled 00000000000000000000000000000000 0 0\\\\n"\nprintf "\\036sbx-compiled 00000000000000000000000000000000 0 0\\\\n" >&2\nsleep 30\n' >"$t/src/forge.shc"
printf 'i=0\nwhile :; do i=$((i+1)); done\n' >"$t/src/spin.shc"
printf 'i=0\nwhile [ $i -lt 400 ]; do echo "line $i of a chatty compiler" >&2; i=$((i+1)); done\n' >"$t/src/chatty.shc"

for rt in $runtimes; do
	RT=$rt
	echo "some input" | run -t compile -d "$t/src" hello.c a b
	is "c: the program's status" "$(res .status)" 3 || show
	is "c: its output, stdin and args" "$(data stdout)" \
	    "read some input${nl}hello from c, 2 args"
	is "c: phase run" "$(res .phase)" run
	is "c: the compile event: status 0, nothing said" \
	    "$(comp '[.status, .stdout, .stderr, .timed_out] | @csv')" '0,"","",false'
	is "c: the compile event comes before the output" \
	    "$(jq -r .event "$t/out" | tr '\n' ' ')" "start compile stdout result "

	run -t compile -d "$t/src" bad.c
	is "c: a compile error: status 1" "$(res .status)" 1 || show
	is "c: a compile error: phase compile, no exit code" \
	    "$(res '[.phase, .exit_code] | @csv')" '"compile",'
	like "c: a compile error: gcc's message" "$(comp .stderr)" \
	    "error: 'undeclared' undeclared"
	is "c: a compile error: the compiler's status" "$(comp .exit_code)" 1
	is "c: a compile error: no program output" "$(data stdout)$(data stderr)" ""

	run -t compile -d "$t/src" segv.c
	is "c: a crash: signal 11, phase run" "$(res '[.signal, .phase] | @csv')" '11,"run"'
	run -t compile -d "$t/src" loop.c
	is "c: a loop: timed out in the run" \
	    "$(res '[.timed_out, .phase] | @csv')$(comp .status)" 'true,"run"0'
	num "c: a loop: the run's 3 s, not the compile's 4" "$(res .duration)" '<' 3.9
	run -t compile -w rw -d "$t/src" write.c
	is "c: -w rw: the program's file is a change" \
	    "$(res '[.status, .changes.added] | @csv')" 0,1 || show
	check "c: -w rw: the tree is untouched" test ! -e "$t/src/made.txt"
	run -t compile-limits -d "$t/src" big.c
	is "c: fsize is the program's: it may not write 4 MB" "$(res .signal)" 25 || show

	run -t compile -d "$t/src" hello.go
	is "go: the program's status" "$(res .status)" 4 || show
	is "go: its output" "$(data stdout)" "hello from go"
	run -t compile -d "$t/src" bad.go
	is "go: a compile error: status 1, phase compile" \
	    "$(res '[.status, .phase] | @csv')" '1,"compile"' || show
	like "go: a compile error: go's message" "$(comp .stderr)" "declared but not used"
	run -t compile-limits -d "$t/src" hello.go
	is "go: a 1m fsize leaves the compiler free" "$(res .status)" 4 || show

	run -t compile -d "$t/src" hello.cpp
	is "c++: the program's status and output" "$(res .status) $(data stdout)" \
	    "5 hello from c++" || show
	run -t compile -d "$t/src" bad.cpp
	is "c++: a compile error" "$(res '[.status, .phase] | @csv')" '1,"compile"' || show
	like "c++: g++'s message" "$(comp .stderr)" "string"

	run -t compile -d "$t/src" fails.shc
	is "shc: a compile that fails" \
	    "$(res '[.status, .phase] | @csv')$(comp '[.exit_code, .stderr] | @csv')" \
	    '1,"compile"2,"compiling'"$nl"'"'
	run -t compile -d "$t/src" slow.shc
	is "shc: the compile's timeout: timed out in compile" \
	    "$(res '[.status, .timed_out, .phase] | @csv')$(comp .timed_out)" '124,true,"compile"true'
	num "shc: the compile's 4 s" "$(comp .duration)" '>=' 3.9
	run -t compile -d "$t/src" forge.shc
	is "shc: a forged end line ends nothing" \
	    "$(res '[.timed_out, .phase] | @csv')" 'true,"compile"'
	like "shc: a forged end line is output" "$(comp .stdout)" "sbx-compiled 0000"
	run -t compile-limits -d "$t/src" spin.shc
	is "shc: compile_cpu_time: the compiler's SIGXCPU" \
	    "$(res '[.status, .phase] | @csv')$(comp .signal)" '1,"compile"24' || show
	run -t compile-limits -d "$t/src" chatty.shc
	is "shc: compile_max_output: cut, and said" \
	    "$(comp '[.truncated, (.stderr | length)] | @csv')" true,4096 || show
	is "shc: then the program runs" "$(data stdout)" ran

	# A session's step compiles in the session's container, a pool's
	# run in the pool's: the compile a step of its own, then the
	# program's, with stdin.
	id=$("$SBX" start -c "$conf" -r "$rt" -t compile -e c -d "$t/src" |
	    jq -r 'select(.event == "session") | .id')
	ids="$ids $id"
	echo "step input" | "$SBX" exec "$id" "$t/src/hello.c" x >"$t/out" 2>"$t/err"
	is "session: a compiled step" "$(res '[.status, .phase] | @csv')$(data stdout)" \
	    "3,\"run\"read step input${nl}hello from c, 1 args" || show
	is "session: start, compile, output, result" \
	    "$(jq -r .event "$t/out" | tr '\n' ' ')" "start compile stdout result "
	"$SBX" exec "$id" "$t/src/bad.c" >"$t/out" 2>"$t/err"
	is "session: a compile error" "$(res '[.status, .phase] | @csv')" '1,"compile"' || show
	"$SBX" exec "$id" "$t/src/loop.c" >"$t/out" 2>"$t/err"
	is "session: a loop: timed out in the run" "$(res '[.timed_out, .phase] | @csv')" 'true,"run"'
	"$SBX" stop "$id" >/dev/null 2>&1
	pool=compile-$rt-$$
	pools="$pools $pool"
	"$SBX" pool start "$pool" -c "$conf" -r "$rt" -t compile -e c -n 1 >/dev/null 2>&1
	echo "pool input" | "$SBX" -P "$pool" -c "$conf" -d "$t/src" hello.c >"$t/out" 2>"$t/err"
	is "pool: a compiled run, pooled" \
	    "$(res '[.status, .phase] | @csv')$(jq -r 'select(.event == "start") | .pooled' "$t/out")" \
	    '3,"run"true' || show
	is "pool: stdin" "$(data stdout)" "read pool input${nl}hello from c, 0 args"
	"$SBX" pool stop "$pool" >/dev/null 2>&1
done
is "sbx -L: the compile command" \
    "$("$SBX" -c "$conf" -L | jq -r 'select(.ext == "c") | .compile | join(" ")')" \
    "gcc -std=gnu17 -O2 -pipe -o /tmp/main"
exit "$FAILED"
