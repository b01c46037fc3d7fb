# sbx's import guard, run by python in place of the script when the
# template has authorized_imports.  It reads the script's import
# statements before running it, and refuses other imports at run time
# too (the import statement, __import__, importlib.import_module), while
# the standard library's own imports go through.  A policy guard, not a
# sandbox: the container is the security boundary.
#
# argv: template, allowed modules joined by commas, script, its args.
import ast
import builtins
import importlib
import os
import sys

REFUSED = "/sbx/out/refused"


def main():
    template, allowed, script = sys.argv[1:4]
    allowed = frozenset(m for m in allowed.split(",") if m)
    here = os.path.dirname(script)

    def local(top):
        # The script's own modules, beside it in the workspace.
        return (os.path.isfile(os.path.join(here, top + ".py")) or
                os.path.isdir(os.path.join(here, top)))

    def refuse(name):
        try:
            fd = os.open(REFUSED, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o644)
            os.write(fd, name.encode()[:200])
            os.close(fd)
        except OSError:
            pass
        sys.stderr.write("sbx: import of '%s' refused: not in the "
                         "authorized_imports of template '%s'\n" %
                         (name, template))
        sys.stderr.flush()
        os._exit(1)

    def check(name):
        top = name.partition(".")[0]
        if top not in allowed and not local(top):
            refuse(top)

    def from_user(g):
        # Code without a file, or with one in the workspace, is the
        # script's; a module of the standard library has its own file.
        if not isinstance(g, dict):
            return True
        f = g.get("__file__")
        return not isinstance(f, str) or f.startswith(("/workspace/",
                                                        "/sbx/"))

    with open(script, "rb") as f:
        source = f.read()
    tree = ast.parse(source, script)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                check(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            check(node.module)

    real_import = builtins.__import__
    real_import_module = importlib.import_module

    def guarded_import(name, globals=None, locals=None, fromlist=(),
                       level=0):
        if level == 0 and from_user(globals):
            check(name)
        return real_import(name, globals, locals, fromlist, level)

    def guarded_import_module(name, package=None):
        if not name.startswith(".") and from_user(sys._getframe(1).f_globals):
            check(name)
        return real_import_module(name, package)

    builtins.__import__ = guarded_import
    importlib.import_module = guarded_import_module
    sys.argv = sys.argv[3:]
    sys.path[0] = here
    code = compile(tree, script, "exec")
    exec(code, {"__name__": "__main__", "__file__": script,
                "__builtins__": builtins})


main()
