"""The app's own CPU per request: a WSGI app called in a loop in plain
Python, with no server at all.

    python3 bench/appcpu.py [--secs S] [--body-size N] MODULE:APP METHOD PATH[,PATH...]

Run from bench/apps (benchrun does, with PYTHONPATH=bench/apps). Each call
builds a minimal PEP 3333 environ for the request (the paths in turn),
calls the app with a start_response that only records the status, iterates
the body, and closes it, as a server would. After a warm-up it loops until
S seconds of CPU (time.process_time, this thread's process) or 2 S of wall
time have passed, and prints one JSON line:

    {"calls": N, "cpu_us": CPU µs per call, "wall_us": wall µs per call}

Time an app spends sleeping (time.sleep, a database's wait) is in wall_us,
not in cpu_us."""

import argparse
import importlib
import io
import json
import sys
import time


def load(spec):
    module, _, attr = spec.partition(":")
    obj = importlib.import_module(module)
    for name in (attr or "application").split("."):
        obj = getattr(obj, name)
    return obj


def environ(method, path, body):
    path, _, query = path.partition("?")
    env = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "appcpu",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if body:
        env["CONTENT_LENGTH"] = str(len(body))
        env["CONTENT_TYPE"] = "application/octet-stream"
    return env


def call(app, method, path, body):
    status = []

    def start_response(s, headers, exc_info=None):
        status.append(s)
        return lambda data: None

    result = app(environ(method, path, body), start_response)
    n = 0
    try:
        for block in result:
            n += len(block)
    finally:
        if hasattr(result, "close"):
            result.close()
    if not status or not status[-1].startswith("200"):
        raise SystemExit("appcpu: %s %s answered %r" % (method, path, status))
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--secs", type=float, default=1.0, help="CPU seconds to measure (default 1)")
    ap.add_argument("--body-size", type=int, default=0, help="request body bytes (default none)")
    ap.add_argument("spec")
    ap.add_argument("method")
    ap.add_argument("paths")
    args = ap.parse_args()
    app = load(args.spec)
    paths = args.paths.split(",")
    body = bytes((ord("a") + i * 7 % 26) for i in range(args.body_size))

    # Warm-up: imports, template compilation, caches.
    for i in range(10 * len(paths)):
        call(app, args.method, paths[i % len(paths)], body)

    calls = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        for p in paths:
            call(app, args.method, p, body)
            calls += 1
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        if calls >= 10 * len(paths) and (cpu >= args.secs or wall >= 2 * args.secs):
            break
    print(json.dumps({"calls": calls, "cpu_us": cpu / calls * 1e6, "wall_us": wall / calls * 1e6}))


if __name__ == "__main__":
    main()
