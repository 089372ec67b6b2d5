"""A stand-in vassal master that speaks the Emperor wire protocol and nothing else.

The Emperor tests run it in place of ``python -m satrap`` so the Emperor's side is tested on its
own. It reads ``key = value`` lines from its config file (``--ini FILE``, sections ignored):

- ``exit = N``      exit with status N at once, before saying anything (a config that fails)
- ``loyal = 1``     send LOYAL right after ACCEPTING
- ``ignore-stop = 1``  ignore GRACEFUL_STOP (the Emperor must SIGKILL it after the mercy)
- ``idle = S``      on-demand: after S seconds without a connection send GOODBYE and exit 0
- ``tag = T``       written into every answer, to tell generations apart

It appends one line per event to ``<config file>.journal``: ``start <pid> <argv...>``,
``reload <pid>``, ``gracefulstop <pid>``, ``stop <pid>``, ``served <pid>``. An on-demand vassal
(``SATRAP__ON_DEMAND_FD``) accepts from the inherited socket and answers one HTTP response per
connection.
"""

from __future__ import annotations

import os
import select
import socket
import sys
import time

SPAWNED, ACCEPTING, LOYAL, GOODBYE = 1, 5, 17, 22
STOP, RELOAD, GRACEFUL_STOP = 0, 1, 2


def read_config(argv: list[str]) -> tuple[str, dict[str, str]]:
    path = argv[argv.index("--ini") + 1] if "--ini" in argv else argv[-1]
    values: dict[str, str] = {}
    with open(path) as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip()
    return path, values


def journal(path: str, line: str) -> None:
    with open(path + ".journal", "a") as f:
        f.write(line + "\n")


def main() -> int:
    argv = sys.argv[1:]
    path, conf = read_config(argv)
    if "exit" in conf:
        return int(conf["exit"])
    pid = os.getpid()
    journal(path, f"start {pid} {' '.join(argv)}")
    link = socket.socket(fileno=int(os.environ["SATRAP__EMPEROR_FD"]))
    link.send(bytes([SPAWNED, ACCEPTING]))
    loyal_sent = conf.get("loyal") == "1"
    if loyal_sent:
        link.send(bytes([LOYAL]))
    listener = None
    if os.environ.get("SATRAP__ON_DEMAND_FD", "").isdigit():
        listener = socket.socket(fileno=int(os.environ["SATRAP__ON_DEMAND_FD"]))
    idle = float(conf.get("idle", "0") or 0)
    last = time.monotonic()
    while True:
        watch = [link] + ([listener] if listener is not None else [])
        ready, _, _ = select.select(watch, [], [], 0.05)
        if link in ready:
            data = link.recv(64)
            if not data:
                return 1  # lost connection with my emperor
            for byte in data:
                if byte == RELOAD:
                    journal(path, f"reload {pid}")
                    os.set_inheritable(link.fileno(), True)
                    if listener is not None:
                        os.set_inheritable(listener.fileno(), True)
                    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])
                if byte == GRACEFUL_STOP:
                    journal(path, f"gracefulstop {pid}")
                    if conf.get("ignore-stop") != "1":
                        return 0
                if byte == STOP:
                    journal(path, f"stop {pid}")
                    return 0
        if listener is not None and listener in ready:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                body = f"{conf.get('tag', 'fake')} {pid}".encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                             % (len(body), body))
            journal(path, f"served {pid}")
            last = time.monotonic()
            if not loyal_sent:
                link.send(bytes([LOYAL]))
                loyal_sent = True
        if idle and time.monotonic() - last >= idle:
            link.send(bytes([GOODBYE]))
            return 0


if __name__ == "__main__":
    raise SystemExit(main())
