"""Every path through the request code, for the reference-leak test."""
import gc
import io
import sys


def _gen(start_response, n, fail_at=None, lazy=False):
    if lazy:
        start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(n):
        if i == fail_at:
            raise RuntimeError("fail mid-stream")
        yield b"x" * 100


def _long(write):
    # Many blocks through the stream writer, write() between them and one
    # block larger than its queue.
    for i in range(300):
        if i % 50 == 49:
            write(b"w" * 100)
        yield b"x" * 10240
    yield b"z" * (3 << 19)


class Closing:
    def __init__(self, blocks):
        self.blocks = blocks

    def __iter__(self):
        return iter(self.blocks)

    def close(self):
        pass


def app(environ, start_response):
    path = environ["PATH_INFO"]
    inp = environ["wsgi.input"]
    if path == "/refs":
        gc.collect()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(sys.gettotalrefcount()).encode()]
    if path == "/list":
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-A", "b")])
        return [b"hello ", b"world"]
    if path == "/big":
        start_response("200 OK", [])
        return [b"y" * 100000, b"z" * 50000]
    if path == "/tail":
        # The small last block comes back with the end of the request.
        start_response("200 OK", [])
        return [b"y" * 100000, b"z" * 100]
    if path == "/gen":
        start_response("200 OK", [])
        return _gen(start_response, 5)
    if path == "/citer":
        # An iterator written in C, long enough for the ring's GIL yields.
        start_response("200 OK", [])
        return iter([b"y" * 1024] * 600)
    if path == "/longgen":
        write = start_response("200 OK", [])
        return _long(write)
    if path == "/lazy":
        return _gen(start_response, 3, lazy=True)
    if path == "/genfail":
        start_response("200 OK", [])
        return _gen(start_response, 5, fail_at=2)
    if path == "/firstfail":
        return _gen(start_response, 5, fail_at=0, lazy=True)
    if path == "/raise":
        raise ValueError("boom")
    if path == "/badstatus":
        start_response("2000 OK", [])
    if path == "/badheader":
        start_response("200 OK", [("X-A", "a\r\nb")])
    if path == "/caught":
        try:
            start_response("200 OK", [("Connection", "close")])
        except ValueError:
            pass
        start_response("200 OK", [])
        return [b"ok"]
    if path == "/excinfo":
        start_response("200 OK", [])
        try:
            raise KeyError("x")
        except KeyError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"replaced"]
    if path == "/write":
        write = start_response("200 OK", [])
        write(b"one ")
        write(b"two ")
        return Closing([b"three"])
    if path == "/input":
        data = inp.read(10) + inp.readline() + inp.readline(5)
        data += b"".join(inp.readlines(100)) + b"".join(line for line in inp) + inp.read()
        start_response("200 OK", [])
        return [str(len(data)).encode()]
    if path == "/file":
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](open(__file__, "rb"), 4096)
    if path == "/bytesio":
        start_response("200 OK", [])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"q" * 10000), 1000)
    if path == "/errors":
        environ["wsgi.errors"].write("a line\npartial ")
        environ["wsgi.errors"].writelines(["b\n"])
        environ["wsgi.errors"].flush()
        start_response("200 OK", [])
        return [b"logged"]
    if path == "/str":
        start_response("200 OK", [])
        return ["not bytes"]
    if path == "/none":
        start_response("200 OK", [])
        return None
    if path == "/nostart":
        return [b"x"]
    start_response("404 Not Found", [])
    return [b"?"]
