# imports:
# An uncaught ExceptionGroup of a class defined in the script and a
# built-in one, with a note.
class ConfigError(Exception):
    pass


e = ConfigError("a class defined in the script")
e.add_note("a note on the first")
raise ExceptionGroup("two problems", [e, TypeError("second")])
