# imports: sys
import sys

print("about to exit")
sys.exit("fatal: exiting with a message")
