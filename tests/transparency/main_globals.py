# imports: sys
# What a script sees of its own module and of the interpreter: its
# globals, sys.modules["__main__"], the interpreter's command line.
import sys

print([k for k in globals() if k.startswith("__")])
print(__package__, __spec__, __cached__)
print(sys.modules["__main__"].__dict__ is globals())
print(sys.orig_argv)
print(sys.executable)
