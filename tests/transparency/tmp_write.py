# imports: os
# /tmp is writable (a tmpfs); the workspace is not.
import os

with open("/tmp/t.txt", "w") as f:
    f.write("written to /tmp\n")
print(open("/tmp/t.txt").read(), end="")
open("/workspace/new.txt", "w")
