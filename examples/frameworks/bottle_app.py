"""A Bottle app for the frameworks example (Debian: python3-bottle, 0.12).

bottle.url() builds URLs from route names and includes SCRIPT_NAME.
"""

import io
import time

import bottle

bottle_app = bottle.Bottle()


def dechunked(app, limit=16 << 20):
    """Give Bottle a chunked request body the way it can read one.

    Bottle 0.12 decodes chunked bodies itself whenever HTTP_TRANSFER_ENCODING
    says "chunked", and otherwise reads CONTENT_LENGTH bytes. Behind a server
    that de-chunks wsgi.input (gowsgi, gunicorn, gevent: bottle issue #700)
    the first answers 400 "Error while parsing chunked transfer body". So
    when the server says the input is terminated (PEP 3333's
    wsgi.input_terminated) and there is no length, read the body here (up to
    limit) and hand it on with a CONTENT_LENGTH."""

    def wrapped(environ, start_response):
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            body = environ["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                start_response("413 Payload Too Large", [("Content-Type", "text/plain")])
                return [b"request body too large\n"]
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return wrapped


@bottle_app.get("/hello/<name>", name="hello")
def hello(name):
    return {
        "framework": "bottle",
        "greeting": "hello, %s" % name,
        "script_name": bottle.request.script_name.rstrip("/"),
        "path_info": bottle.request.path,
        "self": bottle_app.get_url("hello", name=name),
        "self_url": bottle.request.url,
        "echo": bottle_app.get_url("echo"),
    }


@bottle_app.post("/echo", name="echo")
def echo():
    body = bottle.request.body.read()
    bottle.response.content_type = "text/plain"
    return b"bottle got %d bytes of %s: " % (len(body), bottle.request.content_type.encode()) + body


@bottle_app.get("/stream")
def stream():
    n = int(bottle.request.query.get("n", "5"))
    delay = float(bottle.request.query.get("delay", "0"))
    bottle.response.content_type = "text/plain"

    def blocks():
        for i in range(n):
            if i:
                time.sleep(delay)
            yield b"bottle block %d\n" % i

    return blocks()


app = dechunked(bottle_app)
