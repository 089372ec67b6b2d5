"""Flask hello: a realistic framework cost per request (routing, request/response objects)."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index() -> str:
    return "Hello, World!"


application = app
