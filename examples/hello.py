# A first script for sbx: it runs sandboxed, as a uid of its own, with no
# network.
import os
import sys

print("hello from", sys.platform, "as uid", os.getuid())
print("files in the workspace:", sorted(os.listdir(".")))
name = sys.stdin.readline().strip() or "world"
print(f"hello, {name}")
