"""Fixtures: ``serve(path, *options)`` starts satrap serving HTTP via ``--http`` (the router) or
``--http-socket`` (workers direct) and stops it at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from router.servers import Server


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(path: str, *options: str, processes: int = 2, upstream: str | None = None,
              harness: bool = False) -> Server:
        server = Server(path, tmp_path, list(options), processes, upstream, harness)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
