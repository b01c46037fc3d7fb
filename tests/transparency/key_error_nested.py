# imports:
# KeyError three calls deep.
def lookup(d, k):
    return d[k]


def middle(d):
    return lookup(d, "missing") + 1


def outer():
    return middle({"present": 1})


print("start")
outer()
