"""keep saves the wsgi.errors of its request; write, served by another App,
writes to it: a line for an App that may be closed by then
(TestErrorsAfterClose). keep also leaves an atexit handler that reads and
closes a wsgi.file_wrapper while the interpreter finalizes (Shutdown, at
the end of the test binary): the names it uses must still be there."""

import atexit
import io

kept = []


def _at_exit(wrapper):
    for _ in wrapper(io.BytesIO(b"finalizing"), 4):
        pass
    wrapper(io.BytesIO(b"")).close()


def keep(environ, start_response):
    if not kept:
        atexit.register(_at_exit, environ["wsgi.file_wrapper"])
    kept.append(environ["wsgi.errors"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"kept\n"]


def write(environ, start_response):
    kept[0].write("a line for a closed App\n")
    kept[0].flush()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wrote\n"]
