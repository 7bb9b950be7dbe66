"""Flask hello: the framework's routing, request and response objects."""

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return "Hello, World!"
