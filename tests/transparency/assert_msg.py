# imports:
def check(v):
    assert v == 1, "v should be 1, got %r" % (v,)


check(1)
check(2)
