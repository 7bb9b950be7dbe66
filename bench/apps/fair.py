"""The fairness probe: one request computes while others should still be
served. bench/cmd/benchrun (fairness.go) drives it.

    /hello          a trivial answer
    /spin?secs=2    a pure-Python loop for that many seconds of wall time
                    (it never releases the GIL on its own; at most 30 s);
                    answers "spun N T", T the time.time() the loop ended
    /forever        a pure-Python loop that never ends"""

import time
from urllib.parse import parse_qs

HELLO = b"hello"


def spin(secs):
    end = time.perf_counter() + secs
    n = 0
    while time.perf_counter() < end:
        for _ in range(1000):
            n += 1
    return n


def forever():
    n = 0
    while True:
        n += 1


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/spin":
        try:
            secs = float(parse_qs(environ.get("QUERY_STRING", "")).get("secs", ["2"])[0])
        except ValueError:
            secs = 2.0
        n = spin(min(max(secs, 0.0), 30.0))
        body = b"spun %d %.6f" % (n, time.time())
    elif path == "/forever":
        forever()
        body = b"never"
    elif path in ("/hello", "/"):
        body = HELLO
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
