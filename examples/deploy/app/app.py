"""The app the deployment recipes serve: a bare WSGI app, no framework.

    /          a greeting
    /healthz   200 "ok" once the app answers: the readiness probe's path
               (an app with a database would check it here)
    /slow?s=N  answers after N seconds (at most 10): a request to stop the
               server under, to watch it drain

Served by the recipes as `gowsgi --chdir /srv/app app:app`; from the
repository root, `go run ./cmd/gowsgi --chdir examples/deploy/app app:app`.
"""

import time
from urllib.parse import parse_qs


def _reply(start_response, status, text):
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path in ("", "/"):
        return _reply(start_response, "200 OK", "Hello from a deployed gowsgi!\n")
    if path == "/healthz":
        return _reply(start_response, "200 OK", "ok\n")
    if path == "/slow":
        try:
            secs = float(parse_qs(environ.get("QUERY_STRING", "")).get("s", ["1"])[0])
        except ValueError:
            return _reply(start_response, "400 Bad Request", "s: want seconds\n")
        time.sleep(min(max(secs, 0.0), 10.0))
        return _reply(start_response, "200 OK", "slept %g s\n" % secs)
    return _reply(start_response, "404 Not Found", "not found\n")
