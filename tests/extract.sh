#!/bin/sh
# sbx -x: the code of a model's reply, run, on podman and docker.
# Replies as models write them: prose around blocks, an output block
# after the code, several blocks (--block, --all), ~~~ fences, fences
# indented in a list, a fence inside the code's strings, CR LF line ends,
# a block never closed, and no block at all (status 125, nothing run).
# The code event shows exactly what ran; the run is a plain one.
set -u
# shellcheck source=tests/lib/harness.sh
. "$(dirname "$0")/lib/harness.sh"
runtime_suite extract "$@"
out() { jq -j 'select(.event == "stdout") | .data' "$t/out"; }
code() { jq -j "select(.event == \"code\") | $1" "$t/out"; }
res() { jq -r "select(.event == \"result\") | $1" "$t/out"; }
mkdir "$t/ws"
x() { "$SBX" -c "$conf" -r "$rt" -t test -d "$t/ws" -x "$@" >"$t/out" 2>"$t/err"; }

cat >"$t/prose.md" <<'MD'
Sure! Here is a script that prints the sum:

```python
xs = [1, 2, 3]
print(sum(xs))
```

Running it prints:

```text
6
```
MD
cat >"$t/pieces.md" <<'MD'
First define the helper:

```py
def greet(name):
    return "hi " + name
```

You can check the directory with:

```bash
ls -l
```

Then call it:

```python
print(greet("you"))
```
MD
cat >"$t/tilde.md" <<'MD'
~~~python title="demo"
print("tilde")
~~~
MD
cat >"$t/list.md" <<'MD'
Steps:

1. Save this:

   ```python
   for i in range(2):
       print("item", i)
   ```

2. Run it.
MD
cat >"$t/string.md" <<'MD'
````python
doc = """
```
not a fence
```
"""
print("```", doc.count("```"))
````
MD
printf 'Code:\r\n\r\n```python\r\nprint("crlf")\r\nprint(2)\r\n```\r\n' >"$t/crlf.md"
printf 'Unfinished:\n```python\nprint("cut off")\n' >"$t/open.md"
printf 'There is no code in this answer, only `inline` words.\n' >"$t/none.md"
printf '```text\nnot code\n```\n' >"$t/text.md"
printf '```sh\necho "from sh: $(echo ok)"\n```\n' >"$t/sh.md"
printf '```javascript\nconsole.log(6 * 7)\n```\n' >"$t/js.md"
printf '```\nimport sys\nprint(sys.stdin.read().upper(), end="")\n```\n' >"$t/stdin.md"
printf '```python\ndef f():\n    return 1 / 0\nf()\n```\n' >"$t/trace.md"

# The reader, in dry runs: the code event is out before any container.
dry() {
	printf "$1" >"$t/dry.md"
	shift
	"$SBX" -c "$conf" -D -d "$t/ws" -x "$@" "$t/dry.md" 2>"$t/err" |
	    jq -j 'select(.event == "code") | [(.blocks | map(tostring) | join(",")), .language, .source] | join("|")'
}
is "a fence indented 4 past its opening is code" \
    "$(dry '```python\nx = """\n    ```\n"""\nprint(x)\n```\n')" \
    "1|py|x = \"\"\"${nl}    \`\`\`${nl}\"\"\"${nl}print(x)"
is "a fence after a list marker" \
    "$(dry '1. Save:\n   - ```python\n     print(1)\n     ```\n\nThen:\n\n```python\nprint(2)\n```\n' --all)" \
    "1,2|py|print(1)${nl}print(2)"
is "a fence in a quote" "$(dry '> ```python\n> print(7)\n> ```\n')" "1|py|print(7)"
is "a tab is 4 columns" "$(dry '  ```python\n  if 1:\n\tprint(1)\n  ```\n')" \
    "1|py|if 1:${nl}  print(1)"
is "a lone CR ends a line" "$(dry '```python\rprint(1)\r```\r')" "1|py|print(1)"
is "a label no section runs is no language" \
    "$(dry '```cobol\nDISPLAY 1.\n```\n```python\nprint(1)\n```\n')" "2|py|print(1)"
is "an empty block is skipped" "$(dry '```python\n```\n```python\nprint(2)\n```\n')" "2|py|print(2)"
is "a label that is no word needs -e" "$(dry '```/etc/hosts\n127.0.0.1 x\n```\n')" ""
is "-e: its language's block before a text one" \
    "$(dry '```text\nout\n```\n```js\nconsole.log(1)\n```\n' -e js)" "2|js|console.log(1)"
is "-e --all: not the text and json blocks" \
    "$(dry '```python\na = 1\n```\n```text\n1\n```\n```json\n{}\n```\n```python\nprint(a)\n```\n' -e py --all)" \
    "1,4|py|a = 1${nl}print(a)"
printf '```python\nprint(1)\n# \000\n```\n' >"$t/nul.md"
"$SBX" -c "$conf" -D -d "$t/ws" -x "$t/nul.md" >"$t/out" 2>"$t/err"
is "a NUL byte in the code: refused" "$?" 125

for rt in $runtimes; do
	RT=$rt
	x "$t/prose.md"
	is "prose: the code block ran, not the output block" "$(out)" 6 || show
	is "prose: code event: language and block" "$(code '[.language, .blocks[]] | @csv')" '"py",1'
	is "prose: code event: the source" "$(code .source)" \
	    "xs = [1, 2, 3]${nl}print(sum(xs))"

	x --all "$t/pieces.md"
	is "--all: the python pieces, in order" "$(out)" "hi you" || show
	is "--all: blocks 1 and 3, not the bash one" "$(code '[.blocks[]] | @csv')" 1,3
	x --all "$t/prose.md"
	is "--all: not the output block labelled text" "$(code '[.blocks[]] | @csv')" 1
	x --block 2 "$t/pieces.md"
	is "--block 2: the bash block, in sh" "$(code .language)" sh
	is "--block 2: status 0" "$(res .status)" 0 || show
	x "$t/pieces.md"
	is "the first block alone: defines, prints nothing" "$(out)$(res .status)" 0

	x "$t/tilde.md"
	is "~~~ fence with attributes" "$(out)" tilde || show
	x "$t/list.md"
	is "a fence indented in a list" "$(out)" "item 0${nl}item 1" || show
	x "$t/string.md"
	is "a fence inside a string, in a longer fence" "$(out)" '``` 2' || show
	x "$t/crlf.md"
	is "CR LF line ends" "$(out)" "crlf${nl}2" || show
	x "$t/open.md"
	is "a block never closed runs to the end" "$(out)" "cut off" || show

	x "$t/none.md"
	is "no block: status 125" "$?" 125
	like "no block: says so, naming the file" "$(cat "$t/err")" "none.md: no code block"
	is "no block: nothing ran" "$(jq -r 'select(.event == "start") | .event' "$t/out")" ""
	x "$t/text.md"
	is "a text block alone: status 125" "$?" 125
	x -e py "$t/text.md"
	is "a text block with -e py: runs, and fails as Python does" "$(res .status)" 1

	x "$t/sh.md"
	is "a sh block runs in sh" "$(out)" "from sh: ok" || show
	x "$t/js.md"
	is "a javascript block runs in node" "$(out)" 42 || show

	echo piped | x "$t/stdin.md"
	is "a reply from a file: the script reads our stdin" "$(out)" PIPED || show
	"$SBX" -c "$conf" -r "$rt" -t test -d "$t/ws" -x - <"$t/stdin.md" >"$t/out" 2>"$t/err"
	is "a reply on stdin: the script reads none" "$(res .status)$(out)" 0 || show

	x "$t/trace.md"
	is "an error in the code: status 1" "$(res .status)" 1
	like "an error in the code: its traceback" \
	    "$(jq -j 'select(.event == "stderr") | .data' "$t/out")" \
	    "ZeroDivisionError: division by zero"
	x --block 9 "$t/prose.md"
	is "--block past the last: 125" "$?" 125
done
"$SBX" --all x.py >"$t/out" 2>"$t/err"
is "--all without -x: 125" "$?" 125
exit "$FAILED"
