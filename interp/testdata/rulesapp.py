"""Runs one case of internal/conformance.Cases through start_response and reports
whether start_response accepted it (299) or raised (298)."""
from urllib.parse import unquote_to_bytes


def _arg(environ, name):
    for part in environ["QUERY_STRING"].split("&"):
        key, _, value = part.partition("=")
        if key == name:
            return unquote_to_bytes(value).decode("latin-1")
    return ""


def app(environ, start_response):
    try:
        if _arg(environ, "kind") == "status":
            start_response(_arg(environ, "status"), [("Content-Type", "text/plain")])
        else:
            start_response("200 OK", [(_arg(environ, "name"), _arg(environ, "value"))])
    except (ValueError, TypeError) as e:
        start_response("298 refused", [("Content-Type", "text/plain")])
        return [str(e).encode("utf-8")]
    # Accepted: replace the response (allowed with exc_info before anything
    # was sent) so a Content-Length under test cannot cut the report short.
    try:
        raise RuntimeError("replace")
    except RuntimeError:
        import sys
        start_response("299 accepted", [("Content-Type", "text/plain")], sys.exc_info())
    return [b"accepted"]


def nonlatin1(environ, start_response):
    """start_response with strs that cannot be latin-1 must raise."""
    out = []
    for status, headers in [("200 \u20ac", []), ("200 OK", [("X-A", "\u20ac")]),
                            ("200 OK", [("X-\u0100", "v")]), (b"200 OK", []),
                            ("200 OK", [(b"X-A", "v")]), ("200 OK", (("X-A", "v"),)),
                            ("200 OK", [["X-A", "v"]]), ("200 OK", [("X-A", "v", "w")])]:
        try:
            start_response(status, headers)
            out.append(b"accepted %r\n" % (status,))
        except (ValueError, TypeError):
            pass
    start_response("200 OK", [("Content-Type", "text/plain")])
    return out or [b"all refused"]
