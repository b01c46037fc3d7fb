# imports: raising_mod
# An exception while a local module is imported: the traceback runs
# through the import statement into the module, and nowhere else.
print("importing")
import raising_mod

print(raising_mod.VALUE)
