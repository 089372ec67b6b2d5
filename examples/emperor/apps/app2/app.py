"""Vassal app2 of the emperor example: one Flask app per domain (seed 000)."""

import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return f"app2 says hello (pid {os.getpid()})\n"
