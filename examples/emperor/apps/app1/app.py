"""Vassal app1 of the emperor example: one Flask app per domain (seed 000)."""

import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return f"app1 says hello (pid {os.getpid()})\n"
