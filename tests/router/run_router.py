"""Test harness: run satrap's router alone (``run_router``) in front of a satrap instance whose
workers listen on a uwsgi socket. Used until (and besides) the master's ``--http`` wiring.

usage: python run_router.py HOST:PORT UPSTREAM [satrap options...]
"""

from __future__ import annotations

import socket
import sys

from satrap.config.merge import load_config
from satrap.net.listeners import Listener
from satrap.router.process import run_router


def main() -> int:
    address, upstream, *options = sys.argv[1:]
    host, _, port = address.rpartition(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, int(port)))
    sock.listen(1024)
    lst = Listener(sock, address, "http", host=host, port=sock.getsockname()[1])
    cfg = load_config(options or ["--module", "none"])
    return run_router(cfg, [lst], upstream, 1)


if __name__ == "__main__":
    sys.exit(main())
