# Not a corpus script (it has no imports header): a local module that
# corpus scripts import from beside them in the workspace.
GREETING = "hello from helper_mod"


def parse(text):
    return int(text)


def fail_deep(n):
    if n == 0:
        raise RuntimeError("raised in a function of a local module")
    return fail_deep(n - 1)
