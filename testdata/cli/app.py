"""The app the gowsgi command serves in cmd/gowsgi/main_test.go
(gowsgi --chdir testdata/cli app:app)."""

import atexit
import json
import os
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


def app(environ, start_response):
    path = environ["PATH_INFO"]
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
            "multithread": environ["wsgi.multithread"],
            "multiprocess": environ["wsgi.multiprocess"],
            "pid": os.getpid(),
            "cwd": os.getcwd(),
            "thread": threading.current_thread().name,
        }).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    if path == "/crash":
        import ctypes
        ctypes.string_at(0)  # a segmentation fault, as a broken C extension
    if path == "/version":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [VERSION.encode()]
    if path == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"cli ok\n"]
