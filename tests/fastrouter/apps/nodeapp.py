"""A node behind the fastrouter: says which node it is (env NODE) and echoes the body size."""

import os


def application(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"node=%s host=%s len=%d" % (os.environ.get("NODE", "?").encode(),
                                           environ.get("HTTP_HOST", "").encode(), len(body))]
