"""The "legacy" Flask app of the flask-migration example.

It knows nothing about Go. The Go program in front of it authenticates the
request and hands over what it learned through the WSGI environ:

    REMOTE_USER          the authenticated user (absent: anonymous)
    gowsgi.request_id    the request id Go put in the X-Request-Id header

The Go side mounts the app with wsgi.Handler, so SCRIPT_NAME carries the
mount prefix and url_for() builds URLs that include it.
"""

import hashlib
import logging
import os
import tempfile
import time

from flask import (Flask, abort, jsonify, redirect, render_template, request,
                   send_file, session, stream_with_context, url_for)
from werkzeug.exceptions import HTTPException
from werkzeug.utils import secure_filename


class Conflict(Exception):
    """A domain error the app turns into a 409 with an error handler."""


def create_app(upload_dir=None, secret_key=None):
    app = Flask(__name__)
    # The session cookie is signed with this key: FLASK_SECRET_KEY if set
    # (sessions then survive a restart), else a random key per start.
    app.secret_key = secret_key or os.environ.get("FLASK_SECRET_KEY") or os.urandom(32)
    app.config["MAX_CONTENT_LENGTH"] = 32 << 20
    app.config["UPLOAD_DIR"] = upload_dir or tempfile.mkdtemp(prefix="legacy-uploads-")
    os.makedirs(app.config["UPLOAD_DIR"], exist_ok=True)
    # app.logger writes to environ["wsgi.errors"], which gowsgi sends to the
    # Go program's slog.Logger.
    app.logger.setLevel(logging.INFO)

    def identity():
        return request.environ.get("REMOTE_USER"), request.environ.get("gowsgi.request_id")

    @app.route("/")
    def index():
        user, rid = identity()
        return render_template("index.html", user=user, request_id=rid)

    @app.route("/whoami")
    def whoami():
        user, rid = identity()
        return jsonify(
            remote_user=user,
            request_id=rid,
            script_name=request.script_root,
            path=request.path,
            # Go keeps the bearer token to itself.
            saw_authorization="HTTP_AUTHORIZATION" in request.environ,
            # A client's "Remote-User" header is HTTP_REMOTE_USER, never
            # REMOTE_USER: it cannot pose as the authenticated user.
            http_remote_user=request.environ.get("HTTP_REMOTE_USER"),
            urls={
                "index": url_for("index"),
                "stream": url_for("stream", n=3),
                "download": url_for("download", name="report.txt"),
                "external": url_for("whoami", _external=True),
            },
        )

    @app.route("/old-home")
    def old_home():
        # Redirects stay inside the mount prefix, since url_for knows it.
        return redirect(url_for("index"))

    @app.route("/private")
    def private():
        user, _ = identity()
        if not user:
            abort(401)
        return jsonify(secret="only for %s" % user)

    @app.route("/stream")
    def stream():
        n = request.args.get("n", 5, type=int)
        delay = request.args.get("delay", 0.0, type=float)

        @stream_with_context
        def generate():
            # stream_with_context keeps the request context alive while the
            # server iterates, after the view has returned.
            user, rid = identity()
            yield "stream for %s (request %s)\n" % (user or "anonymous", rid)
            for i in range(n):
                time.sleep(delay)
                yield "line %d of %d, path %s\n" % (i + 1, n, request.path)

        return app.response_class(generate(), mimetype="text/plain")

    @app.route("/upload", methods=["POST"])
    def upload():
        f = request.files.get("file")
        if f is None or not f.filename:
            abort(400, description="no file in the form field 'file'")
        name = secure_filename(f.filename)
        path = os.path.join(app.config["UPLOAD_DIR"], name)
        f.save(path)
        h = hashlib.sha256()
        with open(path, "rb") as saved:
            for block in iter(lambda: saved.read(1 << 16), b""):
                h.update(block)
        user, rid = identity()
        app.logger.info("upload %s (%d bytes) by %s, request %s", name, os.path.getsize(path), user, rid)
        return jsonify(
            name=name,
            size=os.path.getsize(path),
            sha256=h.hexdigest(),
            comment=request.form.get("comment", ""),
            uploaded_by=user,
            download=url_for("download", name=name),
        ), 201

    @app.route("/download/<name>")
    def download(name):
        path = os.path.join(app.config["UPLOAD_DIR"], secure_filename(name))
        if not os.path.isfile(path):
            abort(404)
        # A real file: werkzeug wraps it in environ["wsgi.file_wrapper"], and
        # the server sends it with sendfile(2).
        resp = send_file(path, as_attachment=True, download_name=name)
        body = type(resp.response)
        resp.headers["X-Body-Type"] = "%s.%s" % (body.__module__, body.__qualname__)
        return resp

    @app.route("/visits")
    def visits():
        session["visits"] = session.get("visits", 0) + 1
        resp = jsonify(visits=session["visits"], theme=request.cookies.get("theme"))
        return resp

    @app.route("/theme/<name>", methods=["POST"])
    def theme(name):
        resp = redirect(url_for("visits"))
        resp.set_cookie("theme", name, httponly=True, samesite="Lax",
                        path=request.script_root or "/")
        return resp

    @app.route("/boom")
    def boom():
        raise RuntimeError("the legacy code failed")

    @app.route("/reserve/<int:seat>", methods=["POST"])
    def reserve(seat):
        if seat == 13:
            raise Conflict("seat 13 is taken")
        return jsonify(seat=seat)

    # Error handlers: JSON for the API-ish paths, all with the request id so
    # a user's report can be found in the logs.
    @app.errorhandler(Conflict)
    def conflict(e):
        return jsonify(error="conflict", detail=str(e), request_id=identity()[1]), 409

    @app.errorhandler(HTTPException)
    def http_error(e):
        return jsonify(error=e.name, status=e.code, detail=e.description,
                       request_id=identity()[1]), e.code

    @app.errorhandler(500)
    def internal_error(e):
        # Flask logs the traceback to app.logger, which goes to wsgi.errors.
        return render_template("500.html", request_id=identity()[1]), 500

    return app
