"""POST echo: reads the request body (64 KB in the benchmark) from
wsgi.input and sends it back with its Content-Length."""


def app(environ, start_response):
    try:
        n = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        n = 0
    data = environ["wsgi.input"].read(n) if n > 0 else b""
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(data)))])
    return [data]
