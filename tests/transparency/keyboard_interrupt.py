# imports:
# Python ends an uncaught KeyboardInterrupt by killing itself with SIGINT.
print("raising KeyboardInterrupt")
raise KeyboardInterrupt
