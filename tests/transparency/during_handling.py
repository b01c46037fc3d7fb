# imports:
# An exception during the handling of another.
try:
    [][1]
except IndexError:
    {}["k"]
