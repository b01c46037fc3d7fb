# imports: collections re
# Non-base modules: runs only under templates that allow both.
import collections
import re

c = collections.Counter(re.findall(r"\w", "abracadabra"))
print(c.most_common(2))
print(len(c) + "1")
