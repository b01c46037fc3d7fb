# imports: sys
# Text that JSON must escape (NUL, ESC, CR, tab, DEL, a quote, a
# backslash, U+2028), multi-byte characters on each stream, then large
# writes that reads must cut inside a character.
import sys

print("a\x00b \x1b[31mred\x1b[0m\r\n\ttab\x7f \"q\" \\ \u2028 end")
sys.stderr.write("\x01\x02\x1f\r\n")
print("h\u00e9llo w\u00f6rld \u2713 \U0001f600 \u4e2d\u6587 \u0645\u0631\u062d\u0628\u0627")
print("stderr: \u00fc\u00df \u20ac \U0001f680", file=sys.stderr)
sys.stdout.write("\u00e9\u20ac\U0001f600" * 30000 + "\n")
sys.stderr.write("\u4e2d" * 20001 + "\n")
