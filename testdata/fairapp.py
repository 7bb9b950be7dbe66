"""Requests that compute in pure Python, for the scheduler's fairness tests.

/spin loops in bytecode (holding the GIL but for CPython's switch interval)
until /release is called; /state says whether a spin is running; anything
else is a trivial request."""

import json
import threading

spinning = 0
release = threading.Event()
lock = threading.Lock()


def app(environ, start_response):
    global spinning
    path = environ["PATH_INFO"]
    if path == "/spin":
        with lock:
            spinning += 1
        n = 0
        while not release.is_set():
            n += 1
        with lock:
            spinning -= 1
        body = b"released"
    elif path == "/release":
        release.set()
        body = b"ok"
    elif path == "/rearm":
        release.clear()
        body = b"ok"
    else:
        with lock:
            body = json.dumps({"spinning": spinning}).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
