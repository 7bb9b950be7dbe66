"""A bare WSGI app: no framework, just PEP 3333.

Serve it alone with the gowsgi command, from the repository root:

    go run ./cmd/gowsgi --chdir examples/hello app:app

or beside a Go route with `go run ./examples/hello`.
"""


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path not in ("", "/"):
        body = b"not found\n"
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    body = ("Hello from Python!\nSCRIPT_NAME=%r PATH_INFO=%r\n"
            % (environ.get("SCRIPT_NAME", ""), path)).encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                              ("Content-Length", str(len(body)))])
    return [body]


application = app
