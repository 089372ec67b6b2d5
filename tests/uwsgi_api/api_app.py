"""A WSGI app exercising satrap's ``uwsgi`` / ``uwsgidecorators`` modules (tests/uwsgi_api).

Side effects go to files in $API_RESULTS so the test process can watch them.
"""

import json
import os
import time
from urllib.parse import parse_qs

import uwsgi
from uwsgidecorators import lock, postfork, spool, timer

RESULTS = os.environ["API_RESULTS"]


def _append(name, line):
    with open(os.path.join(RESULTS, name), "a") as f:
        f.write(line + "\n")


@postfork
def after_fork():
    _append("postfork", f"{uwsgi.worker_id()} {os.getpid()}")


if os.environ.get("API_TIMER"):
    @timer(float(os.environ["API_TIMER"]))
    def tick(signum):
        _append("timer", f"{signum} {os.getpid()} {uwsgi.worker_id()}")


@spool
def write_marker(arguments):
    _append("spooled", f"{arguments['name']} {os.getpid()} {uwsgi.worker_id()}")


@spool(pass_arguments=True)
def add(a, b, name="sum"):
    _append("spooled", f"{name} {a + b} {os.getpid()}")


@lock
def critical(tag):
    start = time.time()
    time.sleep(0.3)
    _append("locked", f"{tag} {os.getpid()} {start} {time.time()}")


def application(environ, start_response):
    path = environ["PATH_INFO"]
    q = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/pid":
        body = f"{uwsgi.worker_id()} {os.getpid()} {uwsgi.masterpid()}"
    elif path == "/cache/set":
        body = f"{uwsgi.worker_id()} {uwsgi.cache_set(q['k'], q['v'], int(q.get('expires', 0)))!r}"
    elif path == "/cache/update":
        body = f"{uwsgi.worker_id()} {uwsgi.cache_update(q['k'], q['v'])!r}"
    elif path == "/cache/get":
        value = uwsgi.cache_get(q["k"])
        body = f"{uwsgi.worker_id()} {'MISSING' if value is None else value.decode()}"
    elif path == "/cache/del":
        body = f"{uwsgi.worker_id()} {uwsgi.cache_del(q['k'])!r}"
    elif path == "/hold":
        # keep this worker busy until the test creates the release file
        _append("holding", str(uwsgi.worker_id()))
        release = os.path.join(RESULTS, "release")
        mine = os.path.join(RESULTS, f"release-{uwsgi.worker_id()}")
        deadline = time.monotonic() + 20
        while not (os.path.exists(release) or os.path.exists(mine)) and time.monotonic() < deadline:
            time.sleep(0.01)
        body = str(uwsgi.worker_id())
    elif path == "/spool":
        body = write_marker.spool(name=q["name"]).decode()
    elif path == "/spool-args":
        body = add.spool(int(q["a"]), int(q["b"]), name=q["name"]).decode()
    elif path == "/spooler-pid":
        body = str(uwsgi.spooler_pid())
    elif path == "/lock":
        critical(q["tag"])
        body = f"{os.getpid()}"
    elif path == "/info":
        body = json.dumps({
            "numproc": uwsgi.numproc, "started_on": uwsgi.started_on,
            "opt_master": repr(uwsgi.opt.get("master")), "opt_processes": repr(uwsgi.opt.get("processes")),
            "mem": list(uwsgi.mem()), "request_id": uwsgi.request_id(),
            "has_mule_msg": hasattr(uwsgi, "mule_msg"),
        })
    elif path == "/missing":
        try:
            uwsgi.mule_msg("x")
        except NotImplementedError as exc:
            body = str(exc)
        else:
            body = "no error"
    elif path == "/reload":
        body = repr(uwsgi.reload())
    else:
        body = "api app"
    data = body.encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
