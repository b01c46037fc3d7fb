# imports: sys
"""The module docstring."""
# The arguments, and what the script knows of itself as __main__.
import sys

if __name__ == "__main__":
    print("run as __main__")
print(__name__, __file__, __doc__)
print(sys.argv[0], sys.path[0])
print(len(sys.argv), sys.argv)
