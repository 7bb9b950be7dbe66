"""An I/O-bound app: each request waits 2 ms with the GIL released, like a
database call, then answers a short body."""

import time

BODY = b"ok"


def app(environ, start_response):
    time.sleep(0.002)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]
