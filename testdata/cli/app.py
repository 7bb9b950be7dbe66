"""The app the gowsgi command serves in cmd/gowsgi/main_test.go
(gowsgi --chdir testdata/cli app:app)."""

import atexit
import json
import os
import sys
import threading  # real apps do; finalization must still end
import time

_marker = os.environ.get("GOWSGI_TEST_ATEXIT")

# What $GOWSGI_TEST_VERSION_FILE held at import: the reload tests change it.
VERSION = ""
if os.environ.get("GOWSGI_TEST_VERSION_FILE"):
    with open(os.environ["GOWSGI_TEST_VERSION_FILE"]) as f:
        VERSION = f.read().strip()


@atexit.register
def _at_exit():
    # Proves the interpreter was finalized on a clean stop.
    if _marker:
        with open(_marker, "w") as f:
            f.write("atexit ran\n")


_calls = 0


def _arenas():
    import ctypes
    import tempfile
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "malloc_info"):
        return None
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        fp = libc.fopen(f.name.encode(), b"w")
        libc.malloc_info(0, fp)
        libc.fclose(fp)
        return open(f.name).read().count("<heap nr=")


def app(environ, start_response):
    global _calls
    _calls += 1
    path = environ["PATH_INFO"]
    if path == "/calls":
        # How many requests reached the app before this one.
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(_calls - 1).encode()]
    if path == "/sleep":
        time.sleep(float(environ.get("QUERY_STRING") or "1"))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept\n"]
    if path == "/spin":
        # Computes in Python for QUERY_STRING seconds.
        end = time.monotonic() + float(environ.get("QUERY_STRING") or "1")
        while time.monotonic() < end:
            pass
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"spun\n"]
    if path == "/gate":
        # Sends a first block, then waits for the file QUERY_STRING to
        # exist before the last: a client sees the first only if nothing
        # between it and the app holds the response back.
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gated():
            yield b"start\n"
            end = time.monotonic() + 20
            while not os.path.exists(environ["QUERY_STRING"]) and time.monotonic() < end:
                time.sleep(0.01)
            yield b"end\n"
        return gated()
    if path == "/slow":
        start_response("200 OK", [("Content-Type", "text/plain")])

        def gen():
            yield b"start\n"
            time.sleep(float(environ.get("QUERY_STRING") or "1"))
            yield b"end\n"
        return gen()
    if path.startswith("/environ"):
        body = json.dumps({
            "PATH_INFO": path,
            "SCRIPT_NAME": environ["SCRIPT_NAME"],
            "REMOTE_ADDR": environ.get("REMOTE_ADDR"),
            "url_scheme": environ["wsgi.url_scheme"],
            "SERVER_PORT": environ["SERVER_PORT"],
            "multithread": environ["wsgi.multithread"],
            "multiprocess": environ["wsgi.multiprocess"],
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "thread": threading.current_thread().name,
        }).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/process":
        # Who the app runs as and what it was given; and a line on its
        # stdout and its stderr, for --capture-output.
        q = environ.get("QUERY_STRING", "")
        print("app stdout " + q, flush=True)
        print("app stderr " + q, file=sys.stderr, flush=True)
        body = json.dumps({
            "uid": os.getuid(), "gid": os.getgid(), "groups": sorted(os.getgroups()),
            "env": os.environ.get(q, None) if q else None,
            "home": os.environ.get("HOME"),
        }).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/crash":
        import ctypes
        ctypes.string_at(0)  # a segmentation fault, as a broken C extension
    if path == "/version":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [VERSION.encode()]
    if path == "/arenas":
        # How many arenas glibc's malloc has (malloc_info's <heap>s);
        # 404 where malloc_info is not there (not glibc).
        n = _arenas()
        if n is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no malloc_info\n"]
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d\n" % n]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"cli ok\n"]
