"""keep saves the wsgi.errors of its request; write, served by another App,
writes to it: a line for an App that may be closed by then
(TestErrorsAfterClose)."""

kept = []


def keep(environ, start_response):
    kept.append(environ["wsgi.errors"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"kept\n"]


def write(environ, start_response):
    kept[0].write("a line for a closed App\n")
    kept[0].flush()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wrote\n"]
