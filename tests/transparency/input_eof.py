# imports:
# input() at the end of input: EOFError.
print("reading")
input("prompt> ")
