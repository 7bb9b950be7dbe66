"""A WSGI app for the worker-process tests (process_test.go).

    /pid            this process's id
    /version        what $PROCAPP_VERSION_FILE held when the app was imported
    /crash          a segmentation fault in C (ctypes.string_at(0))
    /sleep?s=X      sleeps X seconds, then answers the pid
    /grow?mb=N      keeps N MiB more alive in this process
    /mark           counts a request that reached the app
    /marks          how many /mark requests reached the app in this process
    /orphan         starts `sleep 30` in the background (a child that
                    inherits what this process does not mark close-on-exec)
    /readstuck?s=X  reads the body until it fails or ends, then sleeps X
                    seconds (in C: stuck for the deadline's exception)
"""

import ctypes
import os
import time
from urllib.parse import parse_qs

VERSION = ""
if os.environ.get("PROCAPP_VERSION_FILE"):
    with open(os.environ["PROCAPP_VERSION_FILE"]) as f:
        VERSION = f.read().strip()
    if VERSION == "broken":
        raise RuntimeError("procapp: this version does not import")

_kept = []
_marks = 0


def app(environ, start_response):
    global _marks
    path = environ["PATH_INFO"]
    q = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/crash":
        ctypes.string_at(0)
    if path == "/sleep":
        time.sleep(float(q.get("s", "0.1")))
    if path == "/readstuck":
        try:
            while environ["wsgi.input"].read(65536):
                pass
        except OSError:
            pass  # a body too slow: the app goes on, and gets stuck
        time.sleep(float(q.get("s", "0.1")))
    if path == "/orphan":
        os.system("sleep 30 &")
    if path == "/grow":
        _kept.append(bytearray(int(q.get("mb", "1")) << 20))
    if path == "/mark":
        _marks += 1
    if path == "/version":
        body = VERSION.encode()
    elif path == "/marks":
        body = str(_marks).encode()
    else:
        body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
