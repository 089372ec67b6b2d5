"""WSGI app for the stats tests: fixed bodies so sent bytes are known, chosen statuses, and a
request that blocks until a flag file exists (to hold a worker busy without sleeping in tests)."""

import os
import time

BODY = b"hello stats\n"


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path.startswith("/status/"):
        code = int(path.rsplit("/", 1)[1])
        start_response(f"{code} X", [("Content-Type", "text/plain")])
        return [BODY]
    if path == "/block":
        flag = environ.get("QUERY_STRING", "")
        deadline = time.monotonic() + 30
        while not os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.01)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [BODY]
