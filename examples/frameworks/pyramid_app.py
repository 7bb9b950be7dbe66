"""A Pyramid app for the frameworks example (Debian: python3-pyramid).

Routes are named and URLs are generated with request.route_url, which
includes SCRIPT_NAME: mounted by Go under /pyramid/, the links say so.
"""

import time

from pyramid.config import Configurator
from pyramid.response import Response


def hello(request):
    name = request.matchdict["name"]
    return {
        "framework": "pyramid",
        "greeting": "hello, %s" % name,
        "script_name": request.script_name,
        "path_info": request.path_info,
        "self": request.route_path("hello", name=name),
        "self_url": request.route_url("hello", name=name),
        "echo": request.route_path("echo"),
    }


def echo(request):
    body = request.body
    return Response(
        body=b"pyramid got %d bytes of %s: " % (len(body), request.content_type.encode()) + body,
        content_type="text/plain",
    )


def stream(request):
    n = int(request.params.get("n", "5"))
    delay = float(request.params.get("delay", "0"))

    def blocks():
        for i in range(n):
            if i:
                time.sleep(delay)
            yield b"pyramid block %d\n" % i

    # An app_iter without a length: the server streams it block by block.
    return Response(app_iter=blocks(), content_type="text/plain")


def make_app():
    with Configurator() as config:
        config.add_route("hello", "/hello/{name}")
        config.add_route("echo", "/echo")
        config.add_route("stream", "/stream")
        config.add_view(hello, route_name="hello", renderer="json")
        config.add_view(echo, route_name="echo", request_method="POST")
        config.add_view(stream, route_name="stream")
        return config.make_wsgi_app()


app = make_app()
