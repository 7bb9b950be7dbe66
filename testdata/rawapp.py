"""Raw WSGI apps for gowsgi's end-to-end tests (wsgi_*_test.go).

One app, `app`, dispatching on PATH_INFO. Routes that the conformance tests
use set a Content-Type and only use wsgiref.validate-legal calls, so that
validated.py can wrap the same app in wsgiref.validate.validator.

Module-level state (close counters, thread results) is shared by every
gowsgi App that loads this module, so one request can read what another
recorded.
"""

import hashlib
import io
import itertools
import json
import os
import sys
import threading
import time
import zlib
from urllib.parse import parse_qs

_lock = threading.Lock()
closes = {}       # id -> number of close() calls
exhausted = {}    # id -> the iterable ran to its end
thread_results = {}
produced = {}     # id -> blocks a /stream_long iterable produced

TEXT = [("Content-Type", "text/plain")]
JSON = [("Content-Type", "application/json")]


def _q(environ):
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}


def _json(start_response, obj, status="200 OK"):
    body = json.dumps(obj, sort_keys=True).encode()
    start_response(status, JSON + [("Content-Length", str(len(body)))])
    return [body]


def _text(start_response, text, status="200 OK"):
    body = text.encode("utf-8") if isinstance(text, str) else text
    start_response(status, TEXT + [("Content-Length", str(len(body)))])
    return [body]


# ---- environ ----

def _describe(v):
    t = type(v).__name__
    if isinstance(v, (str, bool, int)) or v is None:
        return {"type": t, "value": v}
    if isinstance(v, tuple):
        return {"type": t, "value": list(v)}
    return {"type": t, "repr": repr(v)}


def r_environ(environ, start_response):
    d = {k: _describe(v) for k, v in environ.items()}
    return _json(start_response, d)


# ---- wsgi.input ----

def r_input(environ, start_response):
    """?how=read_n&n=N | read_all | readline&size=S | readlines&hint=H | iter
    | sha&n=N. Reports what each call returned, and one extra read(1)
    after the end, which must be b''."""
    q = _q(environ)
    how = q.get("how", "read_n")
    inp = environ["wsgi.input"]
    out = {"how": how, "input_terminated": environ.get("wsgi.input_terminated")}
    if how == "read_n":
        n = int(q.get("n", "1000"))
        chunks = []
        while True:
            b = inp.read(n)
            if not b:
                break
            chunks.append(b)
        out["sizes"] = [len(c) for c in chunks]
        out["body"] = b"".join(chunks).decode("latin-1")
    elif how == "read_all":
        b = inp.read()
        out["sizes"] = [len(b)]
        out["body"] = b.decode("latin-1")
    elif how == "readline":
        size = int(q.get("size", "-1"))
        lines = []
        while True:
            line = inp.readline(size)
            if not line:
                break
            lines.append(line.decode("latin-1"))
        out["lines"] = lines
    elif how == "readlines":
        hint = int(q.get("hint", "-1"))
        first = inp.readlines(hint)
        rest = inp.readlines()
        out["first"] = [x.decode("latin-1") for x in first]
        out["rest"] = [x.decode("latin-1") for x in rest]
    elif how == "iter":
        out["lines"] = [x.decode("latin-1") for x in inp]
    elif how == "sha":
        n = int(q.get("n", "65536"))
        h = hashlib.sha256()
        total = 0
        reads = 0
        while True:
            b = inp.read(n)
            if not b:
                break
            if len(b) > n:
                raise AssertionError("read(%d) returned %d bytes" % (n, len(b)))
            reads += 1
            total += len(b)
            h.update(b)
        out["len"] = total
        out["sha256"] = h.hexdigest()
        out["reads"] = reads
    extra = inp.read(1)
    out["extra"] = extra.decode("latin-1")
    out["extra_type"] = type(extra).__name__
    return _json(start_response, out)


def r_expect(environ, start_response):
    """Reads the body (so a 100 Continue is due), or with ?reject=1 answers
    413 without touching wsgi.input."""
    if _q(environ).get("reject"):
        return _text(start_response, "too large\n", "413 Payload Too Large")
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    return _text(start_response, "got %d\n" % len(body))


# ---- wsgi.errors ----

def r_errors(environ, start_response):
    err = environ["wsgi.errors"]
    err.write("first line from the app\n")
    err.writelines(["second ", "line\n", "third line\n"])
    err.write("unicode: caf\u00e9 \u2713\n")
    err.write("unfinished")
    err.flush()
    print("via print to wsgi.errors", file=err)
    # One write() is one record, however many lines: logging writes a
    # record and its traceback that way.
    err.write("one record\nits second line\n")
    return _text(start_response, "logged\n")


def r_errors_logging(environ, start_response):
    """The app's logging, with logging's default format, writes to
    wsgi.errors: one record at each level, and a traceback."""
    import logging
    log = logging.getLogger("rawapp.levels")
    log.propagate = False
    handler = logging.StreamHandler(environ["wsgi.errors"])
    handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
    log.handlers = [handler]
    log.setLevel(logging.DEBUG)
    log.debug("a debug record")
    log.info("an info record")
    log.warning("a warning record")
    log.error("an error record")
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("an exception record")
    environ["wsgi.errors"].write("a bare line\n")
    return _text(start_response, "logged\n")


# ---- file_wrapper ----

def r_file(environ, start_response):
    """?path=P[&offset=N][&length=none|short]: the file from offset N, with
    its Content-Length (none: without one; short: 1000 bytes declared)."""
    q = _q(environ)
    f = open(q["path"], "rb")
    offset = int(q.get("offset", "0"))
    f.seek(offset)
    size = os.fstat(f.fileno()).st_size - offset
    headers = [("Content-Type", "application/octet-stream")]
    length = q.get("length")
    if length == "short":
        headers.append(("Content-Length", "1000"))
    elif length != "none":
        headers.append(("Content-Length", str(size)))
    start_response("200 OK", headers)
    return environ["wsgi.file_wrapper"](f, 4096)


class _CountingBytesIO(io.BytesIO):
    def close(self):
        with _lock:
            closes["bytesio"] = closes.get("bytesio", 0) + 1
        super().close()


def r_file_bytesio(environ, start_response):
    data = bytes(range(256)) * 100
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](_CountingBytesIO(data), 1000)


# ---- start_response validation ----

BAD_STATUS = {
    "no_reason_no_space": "200",
    "code_99": "99 x",
    "code_600": "600 x",
    "code_1xx": "100 Continue",
    "code_1xx_literal": "1xx",
    "alpha": "abc OK",
    "crlf": "200 OK\r\nX: y",
    "lf": "200 OK\nX: y",
    "nul": "200 OK\0",
    "bytes": b"200 OK",
    "non_latin1": "200 \u20ac",
    "none": None,
    "int": 200,
    "two_spaces_code": "20 0 OK",
}

BAD_HEADERS = {
    "non_tuple_list": [["X-A", "b"]],
    "non_tuple_str": ["X-A: b"],
    "tuple_of_3": [("X-A", "b", "c")],
    "bytes_name": [(b"X-A", "b")],
    "bytes_value": [("X-A", b"b")],
    "int_value": [("X-A", 1)],
    "empty_name": [("", "b")],
    "name_space": [("X A", "b")],
    "name_colon": [("X-A:", "b")],
    "name_crlf": [("X-A\r\n", "b")],
    "value_crlf": [("X-A", "b\r\nX-Injected: 1")],
    "value_lf": [("X-A", "b\nX-Injected: 1")],
    "value_nul": [("X-A", "b\0c")],
    "non_latin1_value": [("X-A", "\u20ac")],
    "non_latin1_name": [("X-\u20ac", "b")],
    "connection": [("Connection", "close")],
    "transfer_encoding": [("Transfer-Encoding", "chunked")],
    "upgrade": [("Upgrade", "websocket")],
    "keep_alive": [("Keep-Alive", "timeout=5")],
    "two_content_length": [("Content-Length", "2"), ("content-length", "2")],
    "content_length_abc": [("Content-Length", "abc")],
    "content_length_negative": [("Content-Length", "-1")],
    "content_length_plus": [("Content-Length", "+5")],
    "content_length_space": [("Content-Length", " 5")],
    "content_length_empty": [("Content-Length", "")],
    "value_del": [("X-A", "b\x7fc")],
    "value_ctl": [("X-A", "b\x01c")],
    "name_paren": [("X(A)", "b")],
    "headers_tuple_not_list": (("X-A", "b"),),
    "headers_none": None,
}


def _attempt(environ, start_response, status, headers):
    """Calls start_response with bad input. With ?catch=1 the app catches
    the error and reports it in a good response, which proves the error was
    raised to the app synchronously."""
    if _q(environ).get("catch"):
        try:
            start_response(status, headers)
        except Exception as e:
            return _text(start_response, "caught %s: %s" % (type(e).__name__, e))
        # Not raised: say so in a response that is itself valid.
        return _text(start_response, "accepted", "299 Not Raised")
    start_response(status, headers)
    return [b"should not be sent"]


def r_bad_status(environ, start_response):
    return _attempt(environ, start_response, BAD_STATUS[_q(environ)["case"]], list(TEXT))


def r_bad_header(environ, start_response):
    return _attempt(environ, start_response, "200 OK", BAD_HEADERS[_q(environ)["case"]])


def r_second_call(environ, start_response):
    start_response("200 OK", list(TEXT))
    try:
        start_response("201 Created", list(TEXT))
    except Exception as e:
        return [("second call raised %s: %s" % (type(e).__name__, e)).encode()]
    return [b"second call accepted"]


def r_exc_before(environ, start_response):
    """An error before anything is sent: start_response with exc_info
    replaces the status and headers; the app sends its own 500 page."""
    start_response("200 OK", TEXT + [("X-First", "1")])
    try:
        raise ValueError("boom before send")
    except ValueError:
        start_response("500 Internal Server Error",
                       [("Content-Type", "text/html"), ("X-Replaced", "yes")],
                       sys.exc_info())
        return [b"<h1>app's own error page</h1>"]


class _ExcAfter:
    """Sends a block, then hits an error and calls start_response with
    exc_info: too late, so it re-raises, and the connection must be cut."""

    def __init__(self, environ, start_response):
        self.start_response = start_response
        self.id = _q(environ).get("id", "exc_after")
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.n += 1
        if self.n == 1:
            return b"first block\n"
        try:
            raise KeyError("boom after send")
        except KeyError:
            with _lock:
                closes[self.id + ".reraised"] = 0
            try:
                self.start_response("500 Internal Server Error", list(TEXT), sys.exc_info())
            except KeyError:
                with _lock:
                    closes[self.id + ".reraised"] = 1
                raise
            raise AssertionError("start_response(exc_info) after send did not re-raise")

    def close(self):
        _count(self.id)


def r_exc_after(environ, start_response):
    start_response("200 OK", list(TEXT))
    return _ExcAfter(environ, start_response)


def r_write(environ, start_response):
    write = start_response("200 OK", list(TEXT))
    write(b"w1 ")
    write(b"w2 ")

    def rest():
        yield b"i1 "
        yield b""
        yield b"i2"
    return rest()


def r_write_lazy(environ, start_response):
    """start_response and write() inside the generator, then blocks."""
    def gen():
        write = start_response("200 OK", list(TEXT))
        write(b"w1 ")
        yield b"i1 "
        write(b"w2 ")
        yield b"i2"
    return gen()


def r_exc_after_write(environ, start_response):
    """write() sent the header; then start_response(exc_info) must re-raise."""
    key = _q(environ)["id"]
    write = start_response("200 OK", list(TEXT))
    write(b"written\n")
    try:
        raise LookupError("boom after write")
    except LookupError:
        try:
            start_response("500 Internal Server Error", list(TEXT), sys.exc_info())
        except LookupError:
            with _lock:
                closes[key + ".reraised"] = 1
            raise
    return [b"not reached"]


def r_write_only(environ, start_response):
    write = start_response("200 OK", list(TEXT))
    write(b"only ")
    write(b"write")
    return []


# ---- response ----

def r_lazy(environ, start_response):
    def gen():
        start_response("201 Created", TEXT + [("X-Lazy", "yes")])
        yield b"lazy "
        yield b"body"
    return gen()


def r_lazy_empty(environ, start_response):
    def gen():
        start_response("202 Accepted", TEXT + [("X-Lazy", "empty")])
        yield b""
    return gen()


def r_first_next_error(environ, start_response):
    def gen():
        start_response("200 OK", list(TEXT))
        raise RuntimeError("fails in the first next()")
        yield b"never"
    return gen()


def r_stream(environ, start_response):
    delay = float(_q(environ).get("delay", "0.5"))
    start_response("200 OK", list(TEXT))

    def gen():
        yield b"block1\n"
        time.sleep(delay)
        yield b"block2\n"
        time.sleep(delay)
        yield b"block3\n"
    return gen()


def _count(key):
    with _lock:
        closes[key] = closes.get(key, 0) + 1


class _Tracked:
    """An iterable whose close() is counted under ?id=. mode: normal (three
    blocks), error (fails after the first block), endless (a block every
    20 ms for up to 10 s: only a disconnect ends it early), flood (64 KiB
    blocks without a pause, 256 MiB)."""

    def __init__(self, environ, mode):
        self.id = _q(environ)["id"]
        self.mode = mode
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.n += 1
        if self.mode == "normal":
            if self.n > 3:
                exhausted[self.id] = True
                raise StopIteration
            return b"block %d\n" % self.n
        if self.mode == "error":
            if self.n == 1:
                return b"block 1\n"
            raise RuntimeError("fails mid-iteration")
        if self.mode == "error_first":
            raise RuntimeError("fails in the first next()")
        if self.mode == "flood":
            # 64 KiB blocks as fast as they go, 256 MiB in all: a client
            # that stops reading stalls it.
            if self.n > 4096:
                exhausted[self.id] = True
                raise StopIteration
            return b"f" * 65536
        # endless
        if self.n > 500:
            exhausted[self.id] = True
            raise StopIteration
        if self.n > 1:
            time.sleep(0.02)
        return b"x" * 1024

    def close(self):
        _count(self.id)


def r_tracked(environ, start_response):
    start_response("200 OK", list(TEXT))
    return _Tracked(environ, _q(environ).get("mode", "normal"))


def r_count(environ, start_response):
    """Counts a call under ?id= (read back with /closes), after reading the
    whole body."""
    body = environ["wsgi.input"].read()
    _count(_q(environ)["id"])
    return _text(start_response, "read %d\n" % len(body))


def r_readerr(environ, start_response):
    """Reads the whole body and answers 200 with its length, or, when
    wsgi.input raises, 200 with the exception's type and message: what an
    app that catches it can tell its user."""
    try:
        body = environ["wsgi.input"].read()
    except Exception as e:
        return _text(start_response, "%s: %s\n" % (type(e).__name__, e))
    return _text(start_response, "read %d\n" % len(body))


outcomes = {}  # id -> how /spin_gone ended: running, finished or the exception


def r_spin_gone(environ, start_response):
    """Computes for ?s= seconds (default 20) under ?id=, then answers; how
    it ended (finished, or the exception that stopped it) is kept for
    /outcome."""
    q = _q(environ)
    key = q["id"]
    outcomes[key] = "running"
    try:
        end = time.monotonic() + float(q.get("s", "20"))
        while time.monotonic() < end:
            pass
        outcomes[key] = "finished"
    except BaseException as e:
        outcomes[key] = type(e).__name__
        raise
    return _text(start_response, "spun\n")


def r_outcome(environ, start_response):
    return _text(start_response, outcomes.get(_q(environ)["id"], "none"))


def r_closes(environ, start_response):
    key = _q(environ)["id"]
    with _lock:
        return _json(start_response, {"closes": closes.get(key, 0), "exhausted": exhausted.get(key, False),
                                      "reraised": closes.get(key + ".reraised"),
                                      "produced": produced.get(key, 0)})


class _Long:
    """A long stream for the stream writer's tests: n blocks of size bytes,
    each starting with its index (8 digits), as fast as the server takes
    them. How many were produced and close() are recorded under ?id=;
    fail_at=k raises after k blocks; write_every=k calls write() with a
    numbered block of its own after every k blocks."""

    def __init__(self, environ, write):
        q = _q(environ)
        self.id = q["id"]
        self.n = int(q.get("n", "100"))
        self.size = int(q.get("size", "10240"))
        self.fail_at = int(q.get("fail_at", "-1"))
        self.write_every = int(q.get("write_every", "0"))
        self.write = write
        self.i = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.i == self.fail_at:
            raise RuntimeError("fails mid-stream on purpose")
        if self.i >= self.n:
            exhausted[self.id] = True
            raise StopIteration
        if self.write_every and self.i and self.i % self.write_every == 0:
            self.write(b"w%07d" % self.i + b"w" * (self.size - 8))
        block = b"%08d" % self.i + b"." * (self.size - 8)
        self.i += 1
        with _lock:
            produced[self.id] = self.i
        return block

    def close(self):
        _count(self.id)


def r_stream_long(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return _Long(environ, write)


def r_endless_c(environ, start_response):
    # An endless body from an iterator written in C: no bytecode runs
    # between its blocks, so nothing but the server can end it.
    q = _q(environ)
    size = int(q.get("size", "1000"))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    if q.get("slow"):
        # Each block costs C time (compressing incompressible bytes), so
        # a fast client's writer sleeps between blocks.
        return map(zlib.compress, itertools.repeat(os.urandom(size)), itertools.repeat(1))
    return itertools.repeat(b"x" * size)


def r_catch_timeout(environ, start_response):
    # A generator that takes its RequestTimeout, catches it and says so.
    start_response("200 OK", [("Content-Type", "text/plain")])

    def gen():
        yield b"start\n"
        try:
            while True:
                pass
        except BaseException as e:
            if type(e).__name__ != "RequestTimeout":
                raise
            for word in (b"caught", b" the", b" timeout\n"):
                yield word
    return gen()


def r_head(environ, start_response):
    body = b"0123456789" * 10
    start_response("200 OK", TEXT + [("Content-Length", str(len(body)))])
    return [body]


def r_head_gen(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "10")])

    def gen():
        yield b"01234"
        yield b"56789"
    return gen()


def r_cl_larger(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "100")])

    def gen():
        yield b"only ten b"
    return gen()


def r_cl_smaller(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "5")])

    def gen():
        yield b"01234"
        yield b"56789"
    return gen()


def r_no_ctype(environ, start_response):
    start_response("200 OK", [("X-Custom", "1")])
    return [b"<html>looks like html</html>"]


def r_str_block(environ, start_response):
    start_response("200 OK", list(TEXT))
    return ["a str, not bytes"]


def r_str_block_gen(environ, start_response):
    start_response("200 OK", list(TEXT))

    def gen():
        yield "a str, not bytes"
    return gen()


def r_non_iterable(environ, start_response):
    start_response("200 OK", list(TEXT))
    return 42


def r_none(environ, start_response):
    start_response("200 OK", list(TEXT))
    return None


def r_uncaught(environ, start_response):
    raise ZeroDivisionError("secret-detail-%s" % _q(environ).get("tag", ""))


def r_no_start(environ, start_response):
    return [b"body without start_response"]


def r_list_body(environ, start_response):
    """A list (or ?tuple=1) of blocks of mixed sizes, some larger than the
    server's 32 KiB buffer, some empty; no Content-Length from the app."""
    blocks = [b"a" * 100, b"", b"b" * 40000, b"c" * 10, b"d" * 33000, b"", b"e" * 20000, b"f"]
    start_response("200 OK", list(TEXT))
    return tuple(blocks) if _q(environ).get("tuple") else blocks


def r_list_bad_item(environ, start_response):
    """A list (or ?tuple=1) body whose second item is not bytes: the whole
    body is known before anything is sent, so the client gets a clean 500."""
    start_response("200 OK", list(TEXT))
    return (b"ok", None) if _q(environ).get("tuple") else [b"ok", "not bytes"]


def r_list_short(environ, start_response):
    """A list (or ?tuple=1, or ?big=1 for a first block larger than the
    server's buffer) body shorter than the Content-Length the app declares:
    known in full before anything goes out, so a clean 500."""
    q = _q(environ)
    blocks = [b"x" * 40000, b"y" * 10] if q.get("big") else [b"only ten b"]
    start_response("200 OK", TEXT + [("Content-Length", "50000" if q.get("big") else "100")])
    return tuple(blocks) if q.get("tuple") else blocks


def r_list_tail(environ, start_response):
    """A list body whose first block is larger than the server's 32 KiB
    buffer (it goes out alone) and whose small last block comes with the
    end of the body."""
    start_response("200 OK", list(TEXT))
    return [b"x" * 40000, b"y" * 100]


def r_no_body_status(environ, start_response):
    """?code=204|304 with a body the server must not send."""
    code = _q(environ)["code"]
    start_response({"204": "204 No Content", "304": "304 Not Modified"}[code], [("X-Code", code)])
    return [b"this body must not be sent"]


def r_write_stream(environ, start_response):
    """write() with pauses: each write must reach the client at once."""
    delay = float(_q(environ).get("delay", "0.5"))
    write = start_response("200 OK", list(TEXT))
    write(b"block1\n")
    time.sleep(delay)
    write(b"block2\n")
    time.sleep(delay)
    return [b"block3\n"]


def r_write_gone(environ, start_response):
    """Writes until write() raises because the client left; records that."""
    key = _q(environ)["id"]
    write = start_response("200 OK", list(TEXT))
    for _ in range(500):
        try:
            write(b"x" * 1024)
        except Exception as e:
            with _lock:
                closes[key + ".reraised"] = 1
                thread_results[key] = "%s: %s" % (type(e).__name__, e)
            break
        time.sleep(0.02)
    return _Tracked(environ, "normal")


def r_big_header(environ, start_response):
    start_response("200 OK", TEXT + [("X-Big", "v" * 40000)])
    return [b"big header"]


class _CloseFails:
    def __init__(self, environ):
        self.id = _q(environ)["id"]

    def __iter__(self):
        yield b"complete body"

    def close(self):
        _count(self.id)
        raise RuntimeError("close() failed on purpose")


def r_close_raises(environ, start_response):
    start_response("200 OK", TEXT + [("Content-Length", "13")])
    return _CloseFails(environ)


def r_close_raises_chunked(environ, start_response):
    """No Content-Length: the chunked body must still end cleanly."""
    start_response("200 OK", TEXT)
    return _CloseFails(environ)


class _ThreadCheck:
    """Records the Python thread of the app call, every next() and close():
    one request should stay on one Python thread (threading.local)."""

    local = threading.local()

    def __init__(self, environ):
        self.id = _q(environ)["id"]
        self.idents = [threading.get_ident()]
        _ThreadCheck.local.request = self.id
        self.n = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.idents.append(threading.get_ident())
        if getattr(_ThreadCheck.local, "request", None) != self.id:
            self.idents.append("threading.local lost")
        self.n += 1
        if self.n > 5:
            raise StopIteration
        time.sleep(0.005)
        return b"%d\n" % self.n

    def close(self):
        self.idents.append(threading.get_ident())
        with _lock:
            thread_results[self.id] = len(set(self.idents))


def r_thread_check(environ, start_response):
    start_response("200 OK", list(TEXT))
    return _ThreadCheck(environ)


# ---- threads ----

def r_thread_start(environ, start_response):
    key = _q(environ)["key"]

    def work():
        time.sleep(0.05)
        with _lock:
            thread_results[key] = "done by %s" % threading.current_thread().name

    t = threading.Thread(target=work, name="worker-" + key)
    t.start()
    return _text(start_response, "started\n")


def r_thread_result(environ, start_response):
    key = _q(environ)["key"]
    with _lock:
        v = thread_results.get(key)
    return _json(start_response, {"result": v})


def r_sleep(environ, start_response):
    time.sleep(float(_q(environ).get("t", "0.2")))
    return _text(start_response, "slept\n")


def r_spin(environ, start_response):
    """Computes until something stops it (a RequestTimeout)."""
    n = 0
    while True:
        n += 1


_spin_log = None


def r_spin_logging(environ, start_response):
    """Logs in a loop, so that a RequestTimeout is likely to land while
    logging holds its locks."""
    import io
    import logging
    global _spin_log
    if _spin_log is None:
        _spin_log = logging.getLogger("rawapp.spin")
        _spin_log.addHandler(logging.StreamHandler(io.StringIO()))
        _spin_log.propagate = False
    while True:
        _spin_log.warning("spinning")
        _spin_log.handlers[0].stream.seek(0)
        _spin_log.handlers[0].stream.truncate()


def r_log_once(environ, start_response):
    import logging
    logging.getLogger("rawapp.spin").warning("once")
    return _text(start_response, "logged\n")


def r_spin_after_block(environ, start_response):
    """Sends a block, then computes forever: a timeout can only cut it."""
    key = _q(environ).get("id", "")
    start_response("200 OK", TEXT)

    class Body:
        def __iter__(self):
            yield b"first\n"
            while True:
                pass

        def close(self):
            with _lock:
                closes[key] = closes.get(key, 0) + 1
    return Body()


def r_multithread(environ, start_response):
    return _json(start_response, {"multithread": environ["wsgi.multithread"],
                                  "multiprocess": environ["wsgi.multiprocess"],
                                  "run_once": environ["wsgi.run_once"]})


_close_gates = {}


def _close_gate(key):
    with _lock:
        return _close_gates.setdefault(key, threading.Event())


def r_slow_close(environ, start_response):
    """One block with its Content-Length, then a close() that waits for
    /release_close with the same id (at most 30 s): the whole body must
    reach the client while close() still waits."""
    gate = _close_gate(_q(environ)["id"])
    body = b"whole body, before close()\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])

    class Body:
        def __iter__(self):
            yield body

        def close(self):
            gate.wait(30)

    return Body()


def r_release_close(environ, start_response):
    _close_gate(_q(environ)["id"]).set()
    start_response("200 OK", list(TEXT))
    return [b"released\n"]


ROUTES = {
    "/environ": r_environ,
    "/input": r_input,
    "/expect": r_expect,
    "/errors": r_errors,
    "/errors_logging": r_errors_logging,
    "/file": r_file,
    "/file_bytesio": r_file_bytesio,
    "/bad_status": r_bad_status,
    "/bad_header": r_bad_header,
    "/second_call": r_second_call,
    "/exc_before": r_exc_before,
    "/exc_after": r_exc_after,
    "/write": r_write,
    "/write_only": r_write_only,
    "/write_lazy": r_write_lazy,
    "/exc_after_write": r_exc_after_write,
    "/lazy": r_lazy,
    "/lazy_empty": r_lazy_empty,
    "/first_next_error": r_first_next_error,
    "/stream": r_stream,
    "/tracked": r_tracked,
    "/stream_long": r_stream_long,
    "/closes": r_closes,
    "/spin_gone": r_spin_gone,
    "/outcome": r_outcome,
    "/count": r_count,
    "/readerr": r_readerr,
    "/head": r_head,
    "/endless_c": r_endless_c,
    "/catch_timeout": r_catch_timeout,
    "/head_gen": r_head_gen,
    "/cl_larger": r_cl_larger,
    "/cl_smaller": r_cl_smaller,
    "/no_ctype": r_no_ctype,
    "/str_block": r_str_block,
    "/str_block_gen": r_str_block_gen,
    "/non_iterable": r_non_iterable,
    "/none": r_none,
    "/uncaught": r_uncaught,
    "/no_start": r_no_start,
    "/thread_start": r_thread_start,
    "/thread_result": r_thread_result,
    "/sleep": r_sleep,
    "/spin": r_spin,
    "/spin_logging": r_spin_logging,
    "/log_once": r_log_once,
    "/spin_after_block": r_spin_after_block,
    "/multithread": r_multithread,
    "/list_body": r_list_body,
    "/list_bad_item": r_list_bad_item,
    "/list_tail": r_list_tail,
    "/list_short": r_list_short,
    "/no_body_status": r_no_body_status,
    "/write_stream": r_write_stream,
    "/write_gone": r_write_gone,
    "/big_header": r_big_header,
    "/close_raises": r_close_raises,
    "/close_raises_chunked": r_close_raises_chunked,
    "/thread_check": r_thread_check,
    "/slow_close": r_slow_close,
    "/release_close": r_release_close,
}


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    # Any other path shows the environ: the environ tests vary PATH_INFO.
    return ROUTES.get(path, r_environ)(environ, start_response)
