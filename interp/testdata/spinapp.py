"""Computes for 0.3 s holding the GIL, for the gate's test."""

import time


def app(environ, start_response):
    end = time.monotonic() + 0.3
    while time.monotonic() < end:
        pass
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"spun"]
