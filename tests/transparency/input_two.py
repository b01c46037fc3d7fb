# imports: sys
# input() with prompts, two lines from stdin, then sys.stdin.read() for
# the rest (which ends without a newline).
import sys

name = input("name? ")
age = input("age? ")
print("hello %s, %d next year" % (name, int(age) + 1))
data = sys.stdin.read()
print("%d characters, %d lines" % (len(data), data.count("\n")))
sys.stdout.write(data.upper())
