# imports: sys
# Bytes that are not UTF-8, on both streams.
import sys

sys.stdout.buffer.write(b"valid \xc3\xa9, invalid \xff\xfe, cut \xe2\x82, lone \x80\n")
sys.stdout.buffer.flush()
sys.stderr.buffer.write(b"stderr \xc0\xaf overlong, \xed\xa0\x80 surrogate\n")
print("then text again")
