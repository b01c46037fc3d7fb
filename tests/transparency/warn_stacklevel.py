# imports: warnings
# A warning attributed to the caller, and one raised as an error.
import warnings


def old_api():
    warnings.warn("old_api is deprecated", DeprecationWarning, stacklevel=2)


old_api()
warnings.simplefilter("error")
old_api()
