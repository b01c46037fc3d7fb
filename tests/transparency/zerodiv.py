# imports:
# A plain ZeroDivisionError: the case once shown as a refused import.
print("before the division")
x = 1
print(x / 0)
