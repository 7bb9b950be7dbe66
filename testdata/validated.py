"""rawapp.app wrapped in wsgiref.validate.validator, for conformance tests.

Any AssertionError the validator raises (and any WSGIWarning, turned into an
error here) fails the request with a 500, so the test sees it. The one check
the validator can only print -- a body iterator dropped without close() --
is recorded instead, and GET /_validator_problems returns (and clears) the
list, which every test using this app checks at its end."""

import json
import threading
import warnings
import wsgiref.validate
from wsgiref.validate import WSGIWarning, validator

import rawapp

warnings.simplefilter("error", WSGIWarning)

_lock = threading.Lock()
problems = []


def _del(self):
    if not self.closed:
        with _lock:
            problems.append("a body iterator was garbage collected without close() (%r)"
                            % (self.original_iterator,))


wsgiref.validate.IteratorWrapper.__del__ = _del

_validated = validator(rawapp.app)


def app(environ, start_response):
    if environ.get("PATH_INFO") == "/_validator_problems":
        with _lock:
            body = json.dumps(problems).encode()
            del problems[:]
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return _validated(environ, start_response)
