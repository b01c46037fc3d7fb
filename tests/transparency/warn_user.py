# imports: warnings
import warnings

print("before")
warnings.warn("careful: user warning")
warnings.warn("careful: deprecated", DeprecationWarning)
warnings.warn("careful: pending", PendingDeprecationWarning)
print("after")
