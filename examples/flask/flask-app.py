"""The seeds' Flask app: run it with `satrap --http 127.0.0.1:8081 --module flask-app:app --master
--processes 2 --threads 2` from this directory (or with `--chdir examples/flask`)."""

import os

from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return f"Hello from satrap worker pid {os.getpid()}!\n"


if __name__ == "__main__":
    app.run()  # only when run as a script: satrap imports the module and never runs this
