"""For the spec "specpkg.bare": no attribute means "application"."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"specpkg.bare application"]
