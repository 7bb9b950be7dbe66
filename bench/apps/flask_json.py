"""Flask JSON: about 1 KB of JSON serialised on every request.

The payload is built once; jsonify encodes it per request. bench/goserver
encodes the same document with encoding/json."""

from flask import Flask, jsonify

app = Flask(__name__)

ITEMS = [
    {
        "id": i,
        "name": "item-%02d" % i,
        "email": "user%02d@example.com" % i,
        "active": i % 3 != 0,
        "score": round(i * 1.25, 2),
        "tags": ["alpha", "beta"] if i % 2 else ["gamma"],
    }
    for i in range(10)
]
PAYLOAD = {"count": len(ITEMS), "page": 1, "items": ITEMS}


@app.route("/")
def index():
    return jsonify(PAYLOAD)
