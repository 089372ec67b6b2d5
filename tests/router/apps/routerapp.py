"""The app behind the router tests: every response shape the router must re-frame."""

import hashlib
import json
import os
import time


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/echo":
        data = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%d %s" % (len(data), hashlib.sha256(data).hexdigest().encode())]
    if path == "/nolength":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (part for part in (b"part1;", b"part2;", b"part3"))
    if path == "/stream":  # a big body of unknown length, in many pieces
        n = int(environ.get("QUERY_STRING") or 64)
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"%06d" % i + b"y" * 65530 for i in range(n))
    if path == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [b"x" * (1 << 20)]
    if path == "/204":
        start_response("204 No Content", [])
        return [b""]
    if path == "/304":
        start_response("304 Not Modified", [("ETag", '"v1"')])
        return [b""]
    if path == "/sleep":
        with open("sleep-started", "w"):  # lets a test see that the request is in the app
            pass
        time.sleep(float(environ.get("QUERY_STRING") or 1))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slept"]
    if path == "/die":  # the worker dies in the middle of a request
        os.kill(os.getpid(), 9)
    if path == "/pid":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(os.getpid()).encode()]
    if path == "/environ":
        keys = ("REQUEST_METHOD", "REQUEST_URI", "PATH_INFO", "QUERY_STRING", "SERVER_PROTOCOL",
                "CONTENT_TYPE", "CONTENT_LENGTH", "REMOTE_ADDR", "REMOTE_PORT", "SERVER_NAME",
                "SERVER_PORT", "HTTP_HOST", "HTTP_X_TEST", "HTTP_TRANSFER_ENCODING",
                "wsgi.url_scheme")
        body = json.dumps({k: environ.get(k) for k in keys}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok " + path.encode("latin-1")]
