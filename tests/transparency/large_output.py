# imports: sys
# About 200 KB in many writes of lines, and one big write.
import sys

for i in range(2000):
    print("line %05d %s" % (i, "x" * 40))
sys.stdout.write("y" * 100000 + "\n")
