# A command that does not exist: the shell says so, status 127.
echo before
no_such_command_here --flag
