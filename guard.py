# sbx's import guard.  python runs it in place of the script when the
# template has authorized_imports; it installs the guard and runs the
# script as __main__, so that the script behaves as under plain python.
#
# It judges only the imports that the script's own code executes: an
# import statement, __import__ or importlib.import_module in the script
# or in a module of the workspace.  The interpreter's own imports (a
# traceback's display, a codec, a lazy import from C such as
# datetime.strptime's) and those of the standard library or of installed
# packages are never the script's.  A refused import raises
# ModuleNotFoundError in the script, as a module that is not installed
# would, and leaves its name in /sbx/out/refused for sbx to report.
# Tracebacks show the script's frames only, as plain python prints them.
#
# A policy guard, not a sandbox: the container is the security boundary.
#
# argv: template, the template's modules joined by commas, script, args.
# Or "--repl", template, modules (none: no guard): the interpreter of a
# repl session, which runs each step's script in the namespace of the
# steps before it (see serve(), and proto.h).
# Nothing here may import what plain python has not loaded at startup:
# builtins, io, sys and os only.
import builtins
import io
import os
import sys

# Always authorized: computation-only modules of the standard library,
# and sys and os, through which a script reaches its arguments, input,
# environment, $SBX_RESULT and files (what they can do is the
# container's to bound).  A template's authorized_imports adds to these.
# sbx.ini(5) lists the same words; tests/docs.sh checks that it does.
BASE = frozenset("""
__future__ abc array bisect calendar cmath collections contextlib copy
dataclasses datetime decimal enum fractions functools heapq io itertools
json math numbers operator os pprint queue random re stat statistics
string struct sys textwrap time traceback typing unicodedata warnings
""".split())

REFUSED = "/sbx/out/refused"
REQ, RSP = 3, 4		# a repl's pipes from and to the supervisor
OUT, ERR = 5, 6		# and its steps' stdout and stderr, to it
STEPS = "/sbx/steps/"	# a repl's scripts, each under its step
# The guard's frames under the script's, as the recursion limit counts
# them: this module, main and (before 3.12) exec; tests/transparency.sh.
FRAMES = 3 if sys.version_info < (3, 12) else 2
GUARD = __file__


def main():
    repl = sys.argv[1] == "--repl"
    if repl:
        del sys.argv[1]
        sys.argv.append("")	# no script yet
    template, listed, script = sys.argv[1:4]
    allowed = BASE | frozenset(m for m in listed.split(",") if m)
    here = os.path.dirname(script)
    roots = ("/workspace/", here + "/")
    real_import = builtins.__import__
    wrapped = []

    def place(path):
        # The script whose imports are judged, and its directory; and
        # the steps before it, whose functions it may call.
        nonlocal script, here, roots
        script = path
        here = os.path.dirname(script)
        roots = ("/workspace/", here + "/", STEPS)

    def local(top):
        # The script's own modules, beside it; what the import then
        # loaded is checked too (ours), for a directory alone does not
        # stop python from taking the standard library's module.
        return (os.path.isfile(os.path.join(here, top + ".py")) or
                os.path.isdir(os.path.join(here, top)))

    def ours(m):
        where = [getattr(m, "__file__", None)]
        where += list(getattr(m, "__path__", []) or [])
        return any(isinstance(w, str) and w.startswith(roots) and
                   w != GUARD for w in where)

    def users(f):
        # Code of the script or of the workspace.  Code compiled from a
        # string counts as the file whose globals it runs in, or, with
        # globals of its own, as the code that ran it.
        while f is not None:
            fn = f.f_code.co_filename
            if fn.startswith("<frozen "):
                return False
            if fn.startswith("<"):
                fn = f.f_globals.get("__file__")
                if not isinstance(fn, str):
                    f = f.f_back
                    continue
            return fn == script or (fn.startswith(roots) and fn != GUARD)
        return False

    def refuse(top):
        try:
            fd = os.open(REFUSED, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                         0o644)
            os.write(fd, top.encode()[:200])
            os.close(fd)
        except OSError:
            pass	# an earlier refusal is the one reported
        raise ModuleNotFoundError(
            "import of '%s' refused by sbx: not in the authorized_imports "
            "of template '%s'" % (top, template), name=top)

    def check(name):
        # Returns the top-level name if only its being local allowed it.
        top = name.partition(".")[0]
        if top in allowed:
            return None
        if not local(top):
            refuse(top)
        return top

    def resolve(name, package, level):
        # A relative import's absolute name, as the import system finds
        # it; None if it has no package to be relative to.
        if not isinstance(package, str) or not package:
            return None
        return sys.modules["_frozen_importlib"]._resolve_name(
            name, package, level)

    def loaded(top):
        m = sys.modules.get(top)
        if m is not None and not ours(m):
            refuse(top)

    def judge(name, globals, package, level):
        # An import the script makes, absolute or relative to package
        # (or to the importing globals' own); returns what loaded() is
        # to check once it is done.
        if level and package is None and isinstance(globals, dict):
            package = globals.get("__package__")
        full = name if level == 0 else resolve(name, package, level)
        return check(full) if full else None

    def guarded_import(name, globals=None, locals=None, fromlist=(),
                       level=0):
        try:
            f = sys._getframe(1)
        except ValueError:
            f = None
        # C's PyImport_Import, the interpreter importing on its own
        # behalf from whatever frame is running, passes that frame's
        # globals twice and a list; an import statement never does.
        by_c = (f is not None and type(fromlist) is list and
                locals is globals and globals is f.f_globals)
        top = None
        if f is not None and not by_c and users(f):
            top = judge(name, globals, None, level)
        m = real_import(name, globals, locals, fromlist, level)
        if top:
            loaded(top)
        if not wrapped:
            wrap_import_module()
        return m

    def wrap_import_module():
        # Only once importlib is loaded, which plain python does not do
        # at startup, and whole.
        il = sys.modules.get("importlib")
        real = getattr(il, "import_module", None)
        real_imp = getattr(il, "__import__", None)
        if real is None or real_imp is None:
            return
        wrapped.append(real)

        def import_module(name, package=None):
            top = None
            if users(sys._getframe(1)):
                level = len(name) - len(name.lstrip("."))
                top = judge(name[level:], None, package, level)
            m = real(name, package)
            if top:
                loaded(top)
            return m

        def imp(name, globals=None, locals=None, fromlist=(), level=0):
            top = None
            if users(sys._getframe(1)):
                top = judge(name, globals, None, level)
            m = real_imp(name, globals, locals, fromlist, level)
            if top:
                loaded(top)
            return m
        import_module.__doc__ = real.__doc__
        imp.__doc__ = real_imp.__doc__
        il.import_module = import_module
        il.__import__ = imp

    def strip(tb):
        # The guard's frames out of a traceback, the script's kept.
        kept = []
        while tb is not None:
            if tb.tb_frame.f_code.co_filename != GUARD:
                kept.append(tb)
            tb = tb.tb_next
        for a, b in zip(kept, kept[1:] + [None]):
            a.tb_next = b
        return kept[0] if kept else None

    def excepthook(t, e, tb):
        # Every exception python will print: the chain, and the
        # members of exception groups.
        group = getattr(builtins, "BaseExceptionGroup", ())
        seen = set()
        todo = [e]
        while todo:
            x = todo.pop()
            if not isinstance(x, BaseException) or id(x) in seen:
                continue
            seen.add(id(x))
            x.__traceback__ = strip(x.__traceback__)
            todo += [x.__cause__, x.__context__]
            if isinstance(x, group):
                todo += list(x.exceptions)
        sys.__excepthook__(t, e, strip(tb))

    # __main__'s names as plain python makes them, in its order.
    mod = type(sys)("__main__")
    mod.__loader__ = type(__loader__)("__main__", script)
    mod.__annotations__ = {}
    mod.__builtins__ = builtins
    mod.__file__ = script
    mod.__cached__ = None
    sys.modules["__main__"] = mod
    if GUARD in sys.orig_argv:	# as if python ran the script itself
        i = sys.orig_argv.index(GUARD)
        sys.orig_argv = sys.orig_argv[:i] + sys.orig_argv[i + 3:]
    sys.argv = sys.argv[3:]
    sys.path[0] = here
    sys.excepthook = excepthook
    # The guard's frames under the script's (this module, main, and
    # exec; serve and step too for a repl) count against the recursion
    # limit: raise it by as many, so the script recurses as deep as
    # under plain python, and show the script the numbers it would see
    # there.
    frames = FRAMES + 2 * repl
    getlimit, setlimit = sys.getrecursionlimit, sys.setrecursionlimit
    sys.getrecursionlimit = lambda: getlimit() - frames
    sys.setrecursionlimit = lambda n: setlimit(n + frames)
    setlimit(getlimit() + frames)
    if listed or not repl:
        builtins.__import__ = guarded_import
        wrap_import_module()
    if repl:
        serve(mod, place)
        return
    with open(script, "rb") as f:
        source = f.read()
    exec(compile(source, script, "exec", dont_inherit=True), mod.__dict__)


def exit_code(e):
    # What python's own exit makes of a SystemExit: an int beyond a C
    # long is -1.
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code & 0xff if -2**63 <= e.code < 2**63 else 0xff
    try:
        print(e.code, file=sys.stderr)
    except Exception:
        pass
    return 1


def fifo(path, flags):
    # One of step n's FIFOs in /sbx/ctl, as the supervisor opens a
    # step's: its input /dev/null if the host made none.
    if flags == os.O_RDONLY and not os.path.lexists(path):
        return os.open("/dev/null", os.O_RDONLY)
    fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW)
    if os.fstat(fd).st_mode & 0o170000 != 0o010000:
        raise OSError(path + ": not a FIFO")
    os.set_blocking(fd, True)
    return fd


def stdio(fd, mode, name):
    # A standard stream as python makes it at startup, under -u.
    raw = io.FileIO(fd, mode, closefd=False)
    raw.name = name
    if mode == "r":
        return io.TextIOWrapper(io.BufferedReader(raw),
                                encoding=sys.__stdin__.encoding,
                                errors=sys.__stdin__.errors, newline="\n")
    return io.TextIOWrapper(raw, encoding=sys.__stdout__.encoding,
                            errors=sys.__stdout__.errors if fd == 1 else
                            "backslashreplace", newline="\n",
                            write_through=True)


def join_threads():
    # As python's exit does: its threads that are not daemons end first.
    threading = sys.modules.get("threading")
    if threading is None:
        return
    for t in threading.enumerate():
        if t is not threading.main_thread() and not t.daemon:
            try:
                t.join()
            except Exception:
                pass


def step(mod, place, n):
    # Step n: its request file's script and arguments, its stdin FIFO
    # on 0 and the supervisor's pipes on 1 and 2, its code in the
    # namespace of the steps before it, as python runs a script.
    # Returns its exit status.
    with open(STEPS + "%d/req" % n, "rb") as f:
        argv = [os.fsdecode(a) for a in f.read().split(b"\0")[2:-1]]
    at = argv.index(GUARD)
    script, args = argv[at + 4], argv[at + 5:]
    fd = fifo("/sbx/ctl/%d.in" % n, os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    os.dup2(OUT, 1)
    os.dup2(ERR, 2)
    os.write(RSP, b"%d in\n" % n)	# the host may end our stdin now
    sys.stdin = stdio(0, "r", "<stdin>")
    if sys.stdout.closed:
        sys.stdout = stdio(1, "w", "<stdout>")
    if sys.stderr.closed:
        sys.stderr = stdio(2, "w", "<stderr>")
    place(script)
    os.chdir("/workspace")
    mod.__file__ = script
    mod.__loader__ = type(__loader__)("__main__", script)
    mod.__dict__.pop("__warningregistry__", None)
    sys.argv = [script] + args
    sys.orig_argv = argv[:at] + sys.argv
    sys.path[0] = os.path.dirname(script)
    code = 0
    try:
        with open(script, "rb") as f:
            source = f.read()
        exec(compile(source, script, "exec", dont_inherit=True),
             mod.__dict__)
        join_threads()
    except SystemExit as e:
        code = exit_code(e)
    except KeyboardInterrupt as e:
        # Python dies of SIGINT for one: so does this interpreter.
        sys.excepthook(type(e), e, e.__traceback__)
        import signal
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException as e:
        sys.excepthook(type(e), e, e.__traceback__)
        code = 1
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    # Its stdin closes, and what its threads write between steps goes
    # nowhere: the supervisor sends what the pipes hold, then the end.
    null = os.open("/dev/null", os.O_RDWR)
    for i in range(3):
        os.dup2(null, i)
    os.close(null)
    return code


def serve(mod, place):
    # A repl session's steps, one after another, for as long as the
    # supervisor keeps us: "N\n" in, "N CODE\n" out once it is done.
    buf = b""
    while True:
        data = os.read(REQ, 64)
        if not data:
            os._exit(0)
        buf += data
        while b"\n" in buf:
            line, _, buf = buf.partition(b"\n")
            n = int(line)
            os.write(RSP, b"%d %d\n" % (n, step(mod, place, n)))


main()
