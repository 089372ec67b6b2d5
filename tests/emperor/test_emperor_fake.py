"""The real Emperor over fake vassals (``fake_vassal.py``): its side of every lifecycle event,
independent of the vassal master's wiring."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

from helpers import group_alive, journal, touch, unix_http, write_file
from support import alive, free_port, wait_until


def started(path: Path, n: int = 1) -> list[str]:
    return wait_until(lambda: (s if len(s := [l for l in journal(path) if l.startswith("start")]) >= n
                               else None), 10, message=f"{n} starts of {path.name}")  # type: ignore


def test_spawn_vassal_set_reload_stop_and_reaction_time(fake_emperor, vassals: Path) -> None:
    emp = fake_emperor("--emperor", str(vassals), "--vassal-set", "thunder-lock=true",
                       "--vassal-set", "processes=3")
    emp.wait_log(r"watching .* with inotify")
    a = vassals / "a.ini"
    t0 = time.monotonic()
    write_file(a, "[uwsgi]\nloyal = 1\n")
    (first,) = started(a)
    spawn_latency = time.monotonic() - t0
    pid = int(first.split()[1])
    assert first.endswith(f"--set thunder-lock=true --set processes=3 --ini {a}")  # absolute: see vassal_argv
    emp.wait_log(r"vassal a\.ini is now loyal")
    t0 = time.monotonic()
    touch(a)
    wait_until(lambda: f"reload {pid}" in journal(a), 5, message="reload")
    reload_latency = time.monotonic() - t0
    started(a, 2)
    assert alive(pid) and emp.vassal_pids() == [pid]  # same pid after a reload
    t0 = time.monotonic()
    a.unlink()
    wait_until(lambda: f"gracefulstop {pid}" in journal(a), 5, message="graceful stop")
    stop_latency = time.monotonic() - t0
    wait_until(lambda: not alive(pid), 5, message="vassal gone")
    emp.wait_log(r"vassal a\.ini \(pid \d+\) stopped \(exit status 0\)")
    print(f"reaction: spawn {spawn_latency*1000:.0f} ms, reload {reload_latency*1000:.0f} ms, "
          f"stop {stop_latency*1000:.0f} ms")
    assert max(reload_latency, stop_latency) < 0.5


def test_broken_vassal_does_not_disturb_others_and_is_retried_when_fixed(fake_emperor, vassals: Path) -> None:
    good = vassals / "good.ini"
    bad = vassals / "bad.ini"
    write_file(good, "loyal = 1\n")
    write_file(bad, "exit = 2\n")
    emp = fake_emperor("--emperor", str(vassals))
    emp.wait_log(r"vassal bad\.ini \(pid \d+\) is broken")
    (gstart,) = started(good)
    time.sleep(0.5)  # nothing may happen for a while: not a synchronisation, a quiet period
    assert len(emp.log().count("is broken") * [1]) == 1  # one line, no retry loop
    assert journal(bad) == []
    write_file(bad, "loyal = 1\n")
    started(bad)
    assert started(good) == [gstart]  # the good one was never touched
    assert alive(int(gstart.split()[1]))


def test_throttle_grows_for_a_crashing_vassal(fake_emperor, vassals: Path) -> None:
    write_file(vassals / "crash.ini", "exit = 1\n")
    emp = fake_emperor("--emperor", str(vassals), "--emperor-throttle", "200")
    lines = emp.wait_log(r"respawning in ([\d.]+) s", count=3, timeout=10)
    assert [float(x) for x in lines[:3]] == [0.2, 0.4, 0.6]
    emp.wait_log(r"unloyal bad behaving vassal found: crash\.ini")


def test_vassal_ignoring_graceful_stop_is_killed_after_mercy(fake_emperor, vassals: Path) -> None:
    v = vassals / "stubborn.ini"
    write_file(v, "ignore-stop = 1\n")
    emp = fake_emperor("--emperor", str(vassals), "--reload-mercy", "1")
    (line,) = started(v)
    pid = int(line.split()[1])
    t0 = time.monotonic()
    emp.signal(signal.SIGTERM)
    assert emp.wait_exit(10) == 0
    took = time.monotonic() - t0
    assert f"gracefulstop {pid}" in journal(v)
    assert "NO MERCY" in emp.log() and "The Emperor is buried." in emp.log()
    assert 0.9 <= took < 5, took
    assert not alive(pid) and group_alive(emp.pid) == []


def test_respawn_after_kill_9(fake_emperor, vassals: Path) -> None:
    v = vassals / "a.ini"
    write_file(v, "loyal = 1\n")
    emp = fake_emperor("--emperor", str(vassals))
    (line,) = started(v)
    emp.wait_log("is now loyal")
    t0 = time.monotonic()
    os.kill(int(line.split()[1]), signal.SIGKILL)
    started(v, 2)
    assert time.monotonic() - t0 < 2
    emp.wait_log(r"\[emperor\] vassal a\.ini \(pid \d+\) died \(killed by signal 9 \(SIGKILL\)\), "
                 r"respawning in 0 s")


def test_sighup_reloads_every_vassal(fake_emperor, vassals: Path) -> None:
    a, b = vassals / "a.ini", vassals / "b.ini"
    write_file(a, "loyal = 1\n")
    write_file(b, "loyal = 1\n")
    emp = fake_emperor("--emperor", str(vassals))
    pa, pb = (int(started(p)[0].split()[1]) for p in (a, b))
    emp.wait_log("ready to accept", count=2)
    emp.signal(signal.SIGHUP)
    wait_until(lambda: f"reload {pa}" in journal(a) and f"reload {pb}" in journal(b), 5,
               message="both reloaded")


def test_stats_json(fake_emperor, vassals: Path) -> None:
    write_file(vassals / "a.ini", "loyal = 1\n")
    write_file(vassals / "broken.ini", "exit = 2\n")
    port = free_port()
    emp = fake_emperor("--emperor", str(vassals), "--emperor-stats", f"127.0.0.1:{port}")
    emp.wait_log("is now loyal")
    emp.wait_log("is broken")

    def read() -> dict:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return json.loads(data)

    doc = read()
    assert doc["pid"] == emp.pid and doc["emperor"] == [str(vassals)]
    by_id = {v["id"]: v for v in doc["vassals"]}
    assert by_id["a.ini"]["state"] == "loyal" and by_id["a.ini"]["loyal"] > 0
    assert by_id["a.ini"]["pid"] in emp.vassal_pids()
    assert by_id["broken.ini"]["state"] == "broken" and by_id["broken.ini"]["pid"] == 0
    assert {"blacklist", "version", "emperor_tyrant", "throttle_level"} <= set(doc)


def test_on_demand_spawn_serve_goodbye_and_again(fake_emperor, vassals: Path, tmp_path: Path) -> None:
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    v = vassals / "lazy.ini"
    write_file(v, "idle = 0.5\ntag = lazy\n")
    emp = fake_emperor("--emperor", str(vassals), "--emperor-on-demand-directory", str(sockets))
    sock = str(sockets / "lazy.socket")
    emp.wait_log("is on demand")
    wait_until(lambda: os.path.exists(sock), 5, message="socket bound")
    assert emp.vassal_pids() == [] and journal(v) == []
    t0 = time.monotonic()
    body = unix_http(sock)
    cold = time.monotonic() - t0
    assert body.startswith(b"lazy ")
    first_pid = int(body.split()[1])
    emp.wait_log("went idle: back to waiting")
    emp.wait_vassals(0)
    body = unix_http(sock)  # the next connection wakes it again, not refused
    assert body.startswith(b"lazy ") and int(body.split()[1]) != first_pid
    print(f"on-demand cold start (fake vassal): {cold*1000:.0f} ms")
    v.unlink()
    wait_until(lambda: not os.path.exists(sock), 5, message="socket removed with its vassal")


def test_shutdown_leaves_nothing_and_notifies_systemd(fake_emperor, vassals: Path, tmp_path: Path) -> None:
    for name in "abc":
        write_file(vassals / f"{name}.ini", "loyal = 1\n")
    emp = fake_emperor("--emperor", str(vassals))
    emp.wait_vassals(3)
    emp.signal(signal.SIGINT)
    assert emp.wait_exit(10) == 0
    assert emp.log().rstrip().endswith("The Emperor is buried.")
    assert group_alive(emp.pid) == []
