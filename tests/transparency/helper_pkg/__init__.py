# A local package beside the corpus scripts (not a script itself).
from .sub import double
