# imports: sys traceback warnings
# The call stack as the script sees it: nothing is under its module's
# frame in plain python.
import sys
import traceback
import warnings


def f():
    traceback.print_stack()
    warnings.warn("attributed to the module's caller", stacklevel=3)


print(sys._getframe().f_back)
print(len(traceback.extract_stack()))
f()
