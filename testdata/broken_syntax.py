"""Deliberately broken: loading it must fail with the SyntaxError."""

def app(environ, start_response)
    return []
