"""Seed 001's app: a Flask app named ``myapp`` in ``server.py``, served by satrap behind nginx."""

import os

from flask import Flask, request

myapp = Flask(__name__)


@myapp.route("/")
def hello():
    return f"Hello from satrap (pid {os.getpid()}) behind nginx, via {request.environ.get('SERVER_SOFTWARE', 'uwsgi_pass')}\n"


@myapp.route("/echo", methods=["POST"])
def echo():
    return request.get_data()


if __name__ == "__main__":
    myapp.run()  # only when run as a script: satrap imports the module and never runs this
