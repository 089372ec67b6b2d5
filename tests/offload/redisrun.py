"""Run a real redis-server for a test: its own config and directory, a free loopback port.

    rr = RedisRun(password="s3cret")
    rr.start()                 # waits until PING answers; raises with redis's log otherwise
    rr.publish("news", b"hi")  # -> number of subscribers that got it
    rr.numsub("news")          # PUBSUB NUMSUB: subscribers now
    rr.stop()                  # SIGKILL by pid, reaped, directory removed

Nothing is persisted (``save ""``, ``appendonly no``). Tests call :func:`require_redis` to skip
with a clear message when redis-server is not installed (``apt-get install redis-server``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from support import free_port, require_binary, system_binary, wait_until

from satrap.protocol.resp import RespParser, encode_command


def redis_binary() -> str | None:
    return system_binary("redis-server")


def require_redis() -> str:
    return require_binary("redis-server", "redis-server is not installed (apt-get install redis-server; "
                          ".ci/run installs it): the sse offload tests need a real redis")


class RedisRun:
    """One redis-server process owned by a test."""

    def __init__(self, password: str | None = None) -> None:
        self.password = password
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="satrap-redis-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = require_redis()
        conf = [f"port {self.port}", "bind 127.0.0.1", "save \"\"", "appendonly no", f"dir {self.dir}",
                "daemonize no", f"logfile {self.dir / 'redis.log'}", "protected-mode no"]
        if self.password:
            conf.append(f'requirepass "{self.password}"')
        (self.dir / "redis.conf").write_text("\n".join(conf) + "\n")
        self.proc = subprocess.Popen([binary, str(self.dir / "redis.conf")], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                     start_new_session=True)

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited: {self.log()[-2000:]}")
            try:
                return self.command("PING") == b"PONG"
            except OSError:
                return False

        wait_until(ready, 15, message=f"redis on port {self.port}")

    def log(self) -> str:
        try:
            return (self.dir / "redis.log").read_text(errors="replace")
        except OSError:
            return ""

    def command(self, *args: bytes | str | int) -> Any:
        """One command on a fresh connection (after AUTH when a password is set); its reply."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            wire = encode_command("AUTH", self.password) if self.password else b""
            s.sendall(wire + encode_command(*args))
            parser = RespParser()
            replies: list[Any] = []
            want = 2 if self.password else 1
            while len(replies) < want:
                data = s.recv(65536)
                if not data:
                    raise OSError("redis closed the connection")
                replies += parser.feed(data)
            return replies[-1]

    def publish(self, channel: str, message: bytes) -> int:
        return int(self.command("PUBLISH", channel, message))

    def numsub(self, channel: str) -> int:
        reply = self.command("PUBSUB", "NUMSUB", channel)
        return int(reply[1])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def running_redis(password: str = "") -> Iterator[RedisRun]:
    """A redis-server for a test (skips when none is installed), stopped by pid afterwards."""
    rr = RedisRun(password=password)
    try:
        rr.start()
        yield rr
    finally:
        rr.stop()
