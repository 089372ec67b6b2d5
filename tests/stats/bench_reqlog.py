"""Cost of one request log line (format + one write(2) to /dev/null), in µs per request.

Run: ``python tests/stats/bench_reqlog.py``. Target: the default line ≤ 10 µs.
"""

from __future__ import annotations

import os
import sys
import time
import timeit
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from satrap.worker.reqlog import RequestLog

APACHE = ('%(addr) - %(user) [%(ltime)] "%(method) %(uri) %(proto)" %(status) %(size) '
          '"%(referer)" "%(uagent)"')
UWSGI_EQUIV = ("[pid: %(pid)|app: -|req: -/-] %(addr) (%(user)) {%(vars) vars in %(pktsize) bytes} "
               "[%(ctime)] %(method) %(uri) => generated %(rsize) bytes in %(msecs) msecs "
               "(%(proto) %(status)) %(headers) headers in %(hsize) bytes (%(switches) switches on core %(core))")


def main() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    saved = os.dup(2)
    env = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET", "REQUEST_URI": "/hello?x=1",
           "SERVER_PROTOCOL": "HTTP/1.1", "HTTP_HOST": "example.com", "HTTP_USER_AGENT": "curl/8.0",
           "HTTP_REFERER": "-"}
    resp = SimpleNamespace(code=200, sent=12, headers=[("Content-Type", "text/plain"), ("X", "y")],
                           header_bytes=79)
    started = time.time()
    cases = {"default": None, "apache combined": APACHE, "uWSGI-equivalent": UWSGI_EQUIV}
    results = {}
    os.dup2(devnull, 2)
    try:
        for name, fmt in cases.items():
            log = RequestLog(True, SimpleNamespace(log_format=fmt), wid=1)
            n = 200_000
            best = min(timeit.repeat(lambda log=log: log.write(env, resp, started, started + 0.001, 0, 14, 402, 1),
                                     number=n, repeat=5))
            results[name] = best / n * 1e6
    finally:
        os.dup2(saved, 2)
    for name, us in results.items():
        print(f"{name:>18}: {us:.2f} µs/request")


if __name__ == "__main__":
    main()
