# imports: os sys
# What the script sees of its process: ids, directory, host name,
# environment, terminals, limits of the interpreter.
import os
import sys

print(os.getuid(), os.getgid(), os.getcwd(), os.uname().nodename)
for k in sorted(os.environ):
    print("%s=%s" % (k, os.environ[k]))
print(sys.stdin.isatty(), sys.stdout.isatty(), sys.stderr.isatty())
print(sys.flags.unbuffered, sys.flags.dont_write_bytecode, sys.getrecursionlimit())
print(os.getpid(), os.getppid())
