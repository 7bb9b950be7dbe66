"""A real Flask app for gowsgi's end-to-end tests (frameworks_test.go)."""

import hashlib
import time

from flask import (Flask, Response, jsonify, redirect, request, session,
                   stream_with_context, url_for)

app = Flask(__name__)
app.secret_key = "gowsgi-test-secret-key"


class Teapot(Exception):
    pass


@app.route("/")
def index():
    return "flask index"


@app.route("/hello/<name>")
def hello(name):
    return "hello %s" % name


@app.route("/urls")
def urls():
    return jsonify(
        index=url_for("index"),
        hello=url_for("hello", name="x y"),
        external=url_for("hello", name="x", _external=True),
        script_root=request.script_root,
        path=request.path,
        url=request.url,
        scheme=request.scheme,
    )


@app.route("/redirect")
def go_home():
    return redirect(url_for("index"))


@app.route("/json", methods=["POST"])
def json_echo():
    data = request.get_json()
    return jsonify(got=data, n=len(data.get("items", [])), content_type=request.content_type)


@app.route("/form", methods=["POST"])
def form():
    return jsonify(name=request.form["name"], multi=request.form.getlist("multi"),
                   args=request.args.getlist("q"))


@app.route("/upload", methods=["POST"])
def upload():
    f = request.files["file"]
    data = f.read()
    return jsonify(filename=f.filename, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   field=request.form.get("field"), content_length=request.content_length)


@app.route("/stream")
def stream():
    delay = float(request.args.get("delay", "0.5"))

    def gen():
        yield "part1\n"
        time.sleep(delay)
        yield "part2 %s\n" % request.args.get("tag", "")  # the request context is kept
        time.sleep(delay)
        yield "part3\n"
    return Response(stream_with_context(gen()), mimetype="text/plain")


@app.route("/teapot")
def teapot():
    raise Teapot("short and stout")


@app.route("/crash")
def crash():
    raise ValueError("flask view crashed")


@app.errorhandler(Teapot)
def handle_teapot(e):
    return jsonify(error="teapot", detail=str(e)), 418


@app.errorhandler(404)
def not_found(e):
    return jsonify(error="not found", path=request.path), 404


@app.route("/session/set/<value>")
def session_set(value):
    session["value"] = value
    return "set"


@app.route("/session/get")
def session_get():
    return jsonify(value=session.get("value"))
