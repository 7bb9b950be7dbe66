"""A Falcon app for the frameworks example (Debian: python3-falcon, 3.1).

Falcon has no reverse routing; req.app is the mount prefix (SCRIPT_NAME)
and req.relative_uri / req.uri include it.
"""

import time

import falcon


class Hello:
    def on_get(self, req, resp, name):
        resp.media = {
            "framework": "falcon",
            "greeting": "hello, %s" % name,
            "script_name": req.app,
            "path_info": req.path,
            "self": req.relative_uri,
            "self_url": req.uri,
            "echo": req.app + "/echo",
        }


class Echo:
    def on_post(self, req, resp):
        if req.content_length is None and req.env.get("wsgi.input_terminated"):
            # A chunked body: Falcon 3.1's bounded_stream trusts only
            # Content-Length, but the server ends wsgi.input at the body's
            # end (PEP 3333's wsgi.input_terminated), so read it to EOF.
            body = req.stream.read()
        else:
            body = req.bounded_stream.read()
        resp.content_type = falcon.MEDIA_TEXT
        resp.data = b"falcon got %d bytes of %s: " % (len(body), req.content_type.encode()) + body


class Stream:
    def on_get(self, req, resp):
        n = req.get_param_as_int("n", default=5)
        delay = float(req.get_param("delay", default="0"))

        def blocks():
            for i in range(n):
                if i:
                    time.sleep(delay)
                yield b"falcon block %d\n" % i

        resp.content_type = falcon.MEDIA_TEXT
        resp.stream = blocks()


app = falcon.App()
app.add_route("/hello/{name}", Hello())
app.add_route("/echo", Echo())
app.add_route("/stream", Stream())
