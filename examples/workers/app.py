"""The Python side of examples/workers: a WSGI app that says which process
served it, and one route that crashes its process the way a broken C
extension does."""

import ctypes
import os


def app(environ, start_response):
    if environ["PATH_INFO"] == "/crash":
        ctypes.string_at(0)  # a segmentation fault: only this worker dies
    body = ("Hello from Python, worker process %d\n" % os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]
