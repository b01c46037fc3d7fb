# Not a corpus script: a local module that fails while it is imported.
print("raising_mod runs")
VALUE = 1 / 0
