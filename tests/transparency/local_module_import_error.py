# imports: helper_mod
# ImportError of a name the local module does not have.
from helper_mod import no_such_name

print(no_such_name)
