"""A mixed app: one route computes, one waits, one does both.

    /compute  about 1 ms of pure-Python CPU (the GIL held throughout)
    /wait     time.sleep(0.002): 2 ms with the GIL released, like a DB call
    /both     about 0.5 ms of CPU, then the 2 ms wait

bench/wrk/mixed.lua sends the three in turn, so a server sees them all at
once. The work is a fixed number of loop iterations, the same for every
server; bench/appcpu.py measures what it costs on the machine at hand."""

import time

COMPUTE = 20000  # iterations: about 1 ms on the benchmark machine
WAIT = 0.002


def compute(n):
    x = 0
    for i in range(n):
        x += i * i % 7
    return x


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/compute":
        body = b"compute %d" % compute(COMPUTE)
    elif path == "/wait":
        time.sleep(WAIT)
        body = b"wait"
    elif path == "/both":
        x = compute(COMPUTE // 2)
        time.sleep(WAIT)
        body = b"both %d" % x
    else:
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
        return [b"not found"]
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
