# imports:
# NameError with the interpreter's "Did you mean" suggestion.
def greet():
    pritn("hello")


greet()
