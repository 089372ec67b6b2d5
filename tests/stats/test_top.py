"""``satrap top --once``: one block per address, one row per worker; Emperor vassals listed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

from conftest import send_requests
from support import free_port


def _top(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "satrap", "top", "--once", *args], capture_output=True,
                          text=True, timeout=30, check=False)


def _worker_rows(text: str, pids: list[int]) -> dict[int, list[str]]:
    rows = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) >= 10 and f[0].isdigit() and f[1].isdigit() and int(f[1]) in pids:
            rows[int(f[1])] = f
    return rows


def test_top_once_instance(instance):
    proc, port, stats = instance(processes=2)
    send_requests(port, ["/"] * 11)
    out = _top(stats)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"== {stats} == satrap 2.0.") and f"pid {proc.pid}" in lines[0]
    assert "workers 2" in lines[0] and "req 11" in lines[0]
    rows = _worker_rows(out.stdout, proc.workers())
    assert len(rows) == 2
    assert sum(int(r[3]) for r in rows.values()) == 11
    assert {r[2] for r in rows.values()} == {"idle"}


def test_top_once_many_addresses_and_unreachable(instance, tmp_path):
    a = instance(processes=1)
    b = instance(processes=2, stats=str(tmp_path / "b.sock"))
    dead = f"127.0.0.1:{free_port()}"
    out = _top(a[2], b[2], dead)
    assert out.returncode == 1  # one address did not answer
    assert sum(1 for line in out.stdout.splitlines() if line.startswith("== ")) == 3
    assert len(_worker_rows(out.stdout, a[0].workers() + b[0].workers())) == 3
    assert f"== {dead} == unreachable" in out.stdout


class FakeEmperor:
    """A tiny stats server with an Emperor's document: three vassals, one carrying its own
    stats address (the future shape), two carrying only what the Emperor knows."""

    def __init__(self, vassal_stats: str) -> None:
        self.doc = {
            "version": "0.1.0", "pid": 4242, "uid": 0, "gid": 0, "cwd": "/etc/uwsgi",
            "emperor": ["/etc/uwsgi/vassals"], "emperor_tyrant": 0, "throttle_level": 0,
            "vassals": [
                {"id": "alpha.ini", "pid": 5001, "ready": 1, "accepting": 1, "respawns": 0,
                 "state": "loyal", "stats": vassal_stats},
                {"id": "beta.ini", "pid": 5002, "ready": 1, "accepting": 1, "respawns": 2, "state": "loyal"},
                {"id": "gamma.ini", "pid": 0, "ready": 0, "accepting": 0, "respawns": 5, "state": "throttled"},
            ],
            "blacklist": [],
        }
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(json.dumps(self.doc, indent="\t").encode())

    def close(self) -> None:
        self.sock.close()


def test_top_once_emperor_lists_every_vassal(instance):
    proc, port, stats = instance(processes=2)
    send_requests(port, ["/"] * 5)
    emperor = FakeEmperor(stats)
    try:
        out = _top(emperor.address)
    finally:
        emperor.close()
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.splitlines()[0] == f"== {emperor.address} == emperor pid 4242 vassals 3"
    for name, pid, state in (("alpha.ini", 5001, "loyal"), ("beta.ini", 5002, "loyal"), ("gamma.ini", 0, "throttled")):
        assert f"vassal {name} pid {pid} state {state}" in text
    assert "respawns 5" in text
    rows = _worker_rows(text, proc.workers())
    assert len(rows) == 2 and sum(int(r[3]) for r in rows.values()) == 5
    assert f"== alpha.ini {stats} ==" in text


def test_top_once_real_emperor_with_three_vassals(satrap, tmp_path):
    """A real Emperor, three real vassals each with its own stats socket: ``satrap top --once``
    on the Emperor's stats address lists every vassal and every vassal's workers."""
    from support import children_of, http_request, wait_until

    vassals = tmp_path / "vassals"
    vassals.mkdir()
    (tmp_path / "app.py").write_text(
        "def application(e, s):\n    s('200 OK', [('Content-Type', 'text/plain')])\n    return [b'hi']\n")
    ports = {}
    for name in ("alpha", "beta", "gamma"):
        ports[name] = free_port()
        (vassals / f"{name}.ini").write_text(
            f"[uwsgi]\nhttp-socket = 127.0.0.1:{ports[name]}\nchdir = {tmp_path}\nmodule = app\n"
            f"processes = 2\nstats = {tmp_path}/{name}-stats.sock\n")
    emperor_stats = free_port()
    emperor = satrap("--emperor", str(vassals), "--emperor-stats", f"127.0.0.1:{emperor_stats}")
    for name, port in ports.items():
        emperor.wait_http(port)

    def six_workers() -> tuple[list[int], list[int]] | None:
        # a vassal answers as soon as its first worker is up: its second may still be forking
        masters = children_of(emperor.pid)
        found = [w for m in masters for w in children_of(m)]
        return (masters, found) if len(found) == 6 else None

    masters, workers = wait_until(six_workers, 10, message="six workers")  # type: ignore[misc]
    emperor.seen_pids.update(masters + workers)
    wait_until(lambda: len(_worker_rows(_top(f"127.0.0.1:{emperor_stats}").stdout, workers)) == 6, 10,
               message="every vassal's workers in satrap top")
    before = _worker_rows(_top(f"127.0.0.1:{emperor_stats}").stdout, workers)
    for port in ports.values():
        for _ in range(3):
            assert http_request(port)[0] == 200
    out = _top(f"127.0.0.1:{emperor_stats}")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "vassals 3" in text.splitlines()[0]
    for name in ("alpha", "beta", "gamma"):
        assert f"vassal {name}.ini pid " in text
        assert f"{name}-stats.sock" in text
    rows = _worker_rows(text, workers)
    assert len(rows) == 6, text
    # the requests sent, counted per worker across the three vassals
    assert sum(int(r[3]) for r in rows.values()) - sum(int(r[3]) for r in before.values()) == 9
