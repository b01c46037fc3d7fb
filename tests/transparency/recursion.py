# imports:
# RecursionError: the traceback counts the repeated frames, so frames
# below the script's own would show.
def down(n):
    return down(n + 1)


down(0)
