"""Deliberately broken: it imports a module that does not exist."""

import gowsgi_test_no_such_dependency  # noqa: F401


def app(environ, start_response):
    return []
