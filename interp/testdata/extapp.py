"""Uses an extension module of each kind the interpreter loads from
lib-dynload, for the test that they load in every build (shared or static
libpython)."""

import ctypes
import decimal
import hashlib
import json
import sqlite3
import ssl
import zlib
import xml.parsers.expat


def app(environ, start_response):
    db = sqlite3.connect(":memory:")
    (n,) = db.execute("select 6 * 7").fetchone()
    db.close()
    parsed = []
    p = xml.parsers.expat.ParserCreate()
    p.StartElementHandler = lambda name, attrs: parsed.append(name)
    p.Parse("<a><b/></a>", True)
    body = json.dumps({
        "sqlite": n,
        "sha256": hashlib.sha256(b"gowsgi").hexdigest()[:8],
        "zlib": len(zlib.decompress(zlib.compress(b"x" * 1000))),
        "decimal": str(decimal.Decimal("1.10") + decimal.Decimal("2.20")),
        "ctypes": ctypes.c_int(7).value,
        "ssl": ssl.OPENSSL_VERSION.split()[0],
        "expat": parsed,
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
