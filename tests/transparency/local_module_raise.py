# imports: helper_mod helper_pkg
# Local modules beside the script, a package with a relative import
# among them, and an exception raised in a function of one of them.
import helper_mod
import helper_pkg

print(helper_mod.GREETING, helper_pkg.double(21))
helper_mod.fail_deep(2)
