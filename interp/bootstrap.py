"""_gowsgi: the Python half of gowsgi's start-up, run once in the embedded
interpreter. It imports apps from specs and formats tracebacks."""

import ast
import importlib
import os
import sys
import threading  # noqa: F401 -- see below
import traceback

# Importing threading here, on the thread that initialised the interpreter
# and will finalize it, makes that thread threading's main thread. Imported
# first by an app on a request thread, threading would take that thread as
# main and Py_FinalizeEx would wait forever for it to end.


class RequestTimeout(BaseException):
    """Raised by gowsgi in a request's thread when the request runs past
    its deadline (WithTimeout, --timeout, or its context's deadline). A
    BaseException, as KeyboardInterrupt is, so that an app's
    `except Exception:` does not swallow it."""


class ClientDisconnected(BaseException):
    """Raised by gowsgi in a request's thread when its client has gone
    away, with WithInterruptOnDisconnect: the response can no longer reach
    anyone. A BaseException, as RequestTimeout."""


def release_logging_locks():
    """After a RequestTimeout: release what logging's locks this thread
    still holds. The exception can land anywhere, also between a lock's
    acquire and the try that releases it, and every later log call would
    then wait forever."""
    logging = sys.modules.get("logging")
    if logging is None:
        return
    locks = [getattr(logging, "_lock", None)]
    for ref in list(getattr(logging, "_handlerList", [])):
        handler = ref()
        if handler is not None:
            locks.append(getattr(handler, "lock", None))
    for lock in locks:
        owned = getattr(lock, "_is_owned", None)
        while owned is not None and owned():
            lock.release()


def fix_executable(want):
    """Make sys.executable a real Python (never the Go binary or a shim)."""
    if want and os.path.exists(want):
        sys.executable = want
        if not getattr(sys, "_base_executable", None) or not os.path.exists(sys._base_executable):
            sys._base_executable = want
        return
    ver = "python%d.%d" % sys.version_info[:2]
    for prefix in (sys.exec_prefix, sys.base_exec_prefix):
        for name in (ver, "python%d" % sys.version_info[0]):
            path = os.path.join(prefix, "bin", name)
            if os.path.exists(path):
                sys.executable = path
                sys._base_executable = path
                return


def add_path(path):
    """Put path first on sys.path, once."""
    path = os.path.abspath(path)
    if path in sys.path:
        sys.path.remove(path)
    sys.path.insert(0, path)


def read_settings(path):
    """Run a settings file, such as gunicorn.conf.py ("python:pkg.mod" for
    a module), and return its settings as JSON: {"settings": the module's
    public names whose values are None, bools, numbers, strings, or lists,
    tuples and dicts of them; "skipped": the other public names, such as
    server hooks, functions and modules}."""
    import json
    import runpy
    import types
    if path.startswith("python:"):
        ns = runpy.run_module(path[len("python:"):], run_name="__config__")
    else:
        ns = runpy.run_path(path, run_name="__config__")

    def plain(v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return True
        if isinstance(v, (list, tuple)):
            return all(plain(x) for x in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        return False

    settings, skipped = {}, []
    for name, value in ns.items():
        if name.startswith("_"):
            continue
        if isinstance(value, types.ModuleType):
            continue  # import os, multiprocessing: not a setting
        if plain(value):
            settings[name] = value
        else:
            skipped.append(name)
    return json.dumps({"settings": settings, "skipped": sorted(skipped)})


def _target(node, spec):
    """The dotted attribute names of an Attribute/Name chain."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        raise ValueError("%r: the part after ':' must be a dotted name, optionally "
                         "called with literal arguments, like app, mod.app or create_app('prod')" % spec)
    names.append(node.id)
    return names[::-1]


def load(spec):
    """Import "module:attr" (attr may be dotted, or a call with literal
    arguments) and return the WSGI callable."""
    module, sep, expr = spec.partition(":")
    if not module:
        raise ValueError("%r: no module name; use module:attr, like app:app" % spec)
    expr = expr.strip() if sep else "application"
    try:
        tree = ast.parse(expr, mode="eval").body
    except SyntaxError:
        raise ValueError("%r: cannot parse %r as an attribute or a call" % (spec, expr)) from None
    args, kwargs, call = [], {}, isinstance(tree, ast.Call)
    if call:
        try:
            args = [ast.literal_eval(a) for a in tree.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in tree.keywords}
        except ValueError:
            raise ValueError("%r: factory arguments must be Python literals" % spec) from None
        if any(k.arg is None for k in tree.keywords):
            raise ValueError("%r: **kwargs is not allowed in a factory call" % spec)
        tree = tree.func
    names = _target(tree, spec)
    obj = importlib.import_module(module)
    for i, name in enumerate(names):
        try:
            obj = getattr(obj, name)
        except AttributeError:
            raise AttributeError("%r: module %r has no attribute %r" % (
                spec, module, ".".join(names[: i + 1]))) from None
    if call:
        obj = obj(*args, **kwargs)
    if not callable(obj):
        raise TypeError("%r: %r is not callable, so it is not a WSGI application" % (spec, obj))
    return obj


def format_exc(etype, value, tb):
    return "".join(traceback.format_exception(etype, value, tb)).rstrip("\n")


def dump_stacks():
    """Every Python thread's current stack but the caller's, as text:
    what faulthandler's dump shows, without stopping anything."""
    threads = {t.ident: t for t in threading.enumerate()}
    me = threading.get_ident()
    out = []
    for ident, frame in sorted(sys._current_frames().items()):
        if ident == me:
            continue
        t = threads.get(ident)
        name = "%s%s" % (t.name, ", daemon" if t.daemon else "") if t else "not a threading.Thread"
        out.append("Thread %d (%s), most recent call last:\n%s" % (
            ident, name, "".join(traceback.format_stack(frame))))
    return "\n".join(out)
