# imports: sys
# Alternating writes to both streams (each stream is compared alone),
# and each ends without a newline.
import sys

for i in range(200):
    print("out %d" % i)
    print("err %d" % i, file=sys.stderr)
    if i % 7 == 0:
        sys.stdout.write("partial-")
        sys.stderr.write("partial-")
print("no trailing newline", end="")
sys.stderr.write("none on stderr either")
