"""The real Emperor over real ``python -m satrap`` vassals serving a tiny WSGI app over HTTP."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from helpers import EmperorProc, group_alive, touch, unix_http, write_file
from support import alive, children_of, free_port, http_request, wait_until

APP = """\
import os
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{os.environ.get('GREETING', '-')} {os.getpid()} {os.getppid()}".encode()]
"""


def vassal_ini(app: Path, port: int, greeting: str = "hello", extra: str = "") -> str:
    return (f"[uwsgi]\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {app}\nprocesses = 2\n"
            f"env = GREETING={greeting}\n{extra}")


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(APP)
    return path


def answer(port: int) -> tuple[str, int, int] | None:
    try:
        status, _, body = http_request(port, timeout=2)
    except OSError:
        return None
    if status != 200:
        return None
    greeting, pid, ppid = body.decode().split()
    return greeting, int(pid), int(ppid)


def wait_answer(port: int, timeout: float = 15.0, greeting: str | None = None,
                master_not: int | None = None) -> tuple[str, int, int]:
    def ok() -> tuple[str, int, int] | None:
        got = answer(port)
        if got and (greeting is None or got[0] == greeting) and (master_not is None or got[2] != master_not):
            return got
        return None

    return wait_until(ok, timeout, message=f"answer on {port}")  # type: ignore[return-value]


def test_spawn_touch_edit_delete(emperor, vassals: Path, app: Path) -> None:
    emp: EmperorProc = emperor("--emperor", str(vassals))
    emp.wait_log("watching")
    port = free_port()
    ini = vassals / "app.ini"
    write_file(ini, vassal_ini(app, port))
    greeting, worker, master = wait_answer(port)
    assert greeting == "hello" and emp.vassal_pids() == [master]
    workers = set(children_of(master))
    assert len(workers) == 2 and worker in workers
    write_file(ini, vassal_ini(app, port, greeting="bonjour"))  # an edit = a touch
    got = wait_answer(port, greeting="bonjour")
    assert got[2] == master  # same master pid: reloaded in place
    wait_until(lambda: len(k := set(children_of(master))) == 2 and not (k & workers), 10,
               message="two new workers")
    touch(ini)
    emp.wait_log(r"reload the satrap instance app\.ini", count=2)
    emp.wait_log(r"vassal app\.ini is ready to accept requests", count=3)  # the reload is done
    ini.unlink()
    wait_until(lambda: not alive(master), 10, message="vassal stopped")
    assert answer(port) is None
    emp.wait_log(r"vassal app\.ini \(pid \d+\) stopped \(exit status 0\)")
    assert "NO MERCY" not in emp.log()  # it stopped gracefully, not by SIGKILL


def test_kill_9_respawn_within_2s_other_vassal_unaffected(emperor, vassals: Path, app: Path) -> None:
    pa, pb = free_port(), free_port()
    write_file(vassals / "a.ini", vassal_ini(app, pa, "a"))
    write_file(vassals / "b.ini", vassal_ini(app, pb, "b"))
    emp = emperor("--emperor", str(vassals))
    _, _, master_a = wait_answer(pa)
    _, _, master_b = wait_answer(pb)
    emp.wait_log(r"vassal a\.ini is now loyal")
    t0 = time.monotonic()
    os.kill(master_a, signal.SIGKILL)
    failures = 0
    while True:
        got = answer(pa)
        if got and got[2] not in (master_a, emp.pid):  # not an orphan of the dead master
            break
        if answer(pb) is None:
            failures += 1
        assert time.monotonic() - t0 < 5, emp.log()[-3000:]
    took = time.monotonic() - t0
    print(f"kill -9 -> serving again in {took*1000:.0f} ms")
    assert took < 2.0
    assert failures == 0 and answer(pb)[2] == master_b  # type: ignore[index]
    emp.wait_log(r"vassal a\.ini \(pid \d+\) died \(killed by signal 9 \(SIGKILL\)\), respawning in")


def test_broken_vassal_logged_others_unaffected_then_fixed(emperor, vassals: Path, app: Path) -> None:
    good, bad = free_port(), free_port()
    write_file(vassals / "good.ini", vassal_ini(app, good, "good"))
    write_file(vassals / "bad.ini", vassal_ini(app, bad, "bad", extra="processes = many\n"))
    emp = emperor("--emperor", str(vassals))
    emp.wait_log(r"vassal bad\.ini \(pid \d+\) is broken")
    _, _, master = wait_answer(good)
    assert answer(bad) is None
    write_file(vassals / "bad.ini", vassal_ini(app, bad, "fixed"))
    assert wait_answer(bad)[0] == "fixed"
    assert answer(good)[2] == master  # type: ignore[index]
    assert emp.log().count("is broken") == 1


def test_sighup_reloads_all_then_shutdown_leaves_nothing(emperor, vassals: Path, app: Path) -> None:
    pa, pb = free_port(), free_port()
    write_file(vassals / "a.ini", vassal_ini(app, pa, "a"))
    write_file(vassals / "b.ini", vassal_ini(app, pb, "b"))
    emp = emperor("--emperor", str(vassals))
    masters = {wait_answer(pa)[2], wait_answer(pb)[2]}
    emp.wait_log("ready to accept", count=2)
    old = {m: set(children_of(m)) for m in masters}
    emp.signal(signal.SIGHUP)
    for m in masters:
        wait_until(lambda m=m: len(k := set(children_of(m))) == 2 and not (k & old[m]), 10,
                   message=f"new workers of {m}")
    assert {answer(pa)[2], answer(pb)[2]} == masters  # type: ignore[index]
    emp.vassal_pids()
    emp.signal(signal.SIGTERM)
    assert emp.wait_exit(20) == 0
    assert "The Emperor is buried." in emp.log()
    wait_until(lambda: group_alive(emp.pid) == [], 5, message="no process left")
    assert "NO MERCY" not in emp.log()


def test_on_demand_vassal_sleeps_and_wakes(emperor, vassals: Path, app: Path, tmp_path: Path) -> None:
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    write_file(vassals / "lazy.ini", f"[uwsgi]\nprotocol = http\nwsgi-file = {app}\nprocesses = 1\n"
                                     "env = GREETING=lazy\nidle = 1\ndie-on-idle = true\n")
    emp = emperor("--emperor", str(vassals), "--emperor-on-demand-directory", str(sockets))
    sock = str(sockets / "lazy.socket")
    wait_until(lambda: os.path.exists(sock), 10, message="on-demand socket")
    assert emp.vassal_pids() == []
    colds = []
    for _ in range(2):
        t0 = time.monotonic()
        body = unix_http(sock, timeout=15)
        colds.append(time.monotonic() - t0)
        assert body.startswith(b"lazy ")
        emp.wait_log("went idle", count=len(colds), timeout=15)
        emp.wait_vassals(0)
    print("on-demand cold starts: " + ", ".join(f"{c*1000:.0f} ms" for c in colds))
