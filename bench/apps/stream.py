"""A streamed response: 100 blocks of 10 KB (1,024,000 bytes) from a
generator, without Content-Length, so the server must send each block as it
comes (chunked on HTTP/1.1, or close the connection at the end)."""

BLOCK = b"x" * 10240
BLOCKS = 100


def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])

    def body():
        for _ in range(BLOCKS):
            yield BLOCK

    return body()
