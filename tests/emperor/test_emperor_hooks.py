"""The Emperor's hook phases, end to end (uWSGI's core/emperor.c):

- emperor-start (Emperor, before the first scan, fatal), as-vassal (the vassal's process before it
  execs, fatal for that vassal), as-emperor (Emperor after each spawn, non-fatal, UWSGI_VASSAL_*);
- emperor-reload / emperor-stop / emperor-lost run in the *vassal's* master when its Emperor sends
  reload / stop or the link breaks (as in uWSGI);
- as-on-demand-vassal (Emperor, UWSGI_HOOK_CONTEXT = the vassal's name) when an on-demand vassal's
  socket is bound and again when the vassal goes back to on-demand; a failure drops that vassal
  until the next scan.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

from helpers import EmperorProc, touch, unix_http, write_file
from support import alive, free_port, http_request, pgid_members, wait_until

APP = """\
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def answers(port: int) -> bool:
    try:
        return http_request(port, timeout=2)[0] == 200
    except OSError:
        return False


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def wait_lines(path: Path, n: int, timeout: float = 15.0) -> list[str]:
    return wait_until(lambda: (got if len(got := lines(path)) >= n else None), timeout,  # type: ignore[return-value]
                      message=f"{n} lines in {path.name}: {lines(path)}")


def test_emperor_phases_in_order(emperor, vassals: Path, tmp_path: Path) -> None:
    order = tmp_path / "order"
    app = tmp_path / "app.py"
    app.write_text(APP)
    emperor_ini = tmp_path / "emperor.ini"
    emperor_ini.write_text(
        "[uwsgi]\n"
        f"emperor = {vassals}\n"
        f"hook-emperor-start = writen:{tmp_path}/hook-start started\n"
        f"exec-emperor-start = echo emperor-start >> {order}\n"
        f'exec-as-vassal = echo "as-vassal $PPID `pwd` fd=$SATRAP__EMPEROR_FD" >> {order}\n'
        f'exec-as-emperor = echo "as-emperor $UWSGI_VASSAL_CONFIG $UWSGI_VASSAL_PID $UWSGI_VASSAL_UID '
        f'$UWSGI_VASSAL_GID" >> {order}\n')
    port = free_port()
    ini = vassals / "app.ini"
    emp: EmperorProc = emperor("--ini", str(emperor_ini))
    emp.wait_log("watching")
    wait_until(lambda: lines(order), 10, message="the emperor-start hook's output")
    assert lines(order) == ["emperor-start"]  # before any vassal exists
    assert (tmp_path / "hook-start").read_text() == "started\n"
    write_file(ini, f"[uwsgi]\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {app}\nprocesses = 1\n"
                    f'exec-emperor-reload = echo "emperor-reload $PPID" >> {order}\n'
                    f'exec-emperor-stop = echo "emperor-stop $PPID" >> {order}\n')
    wait_until(lambda: answers(port), 20, message="vassal answers")
    first = emp.wait_vassals(1)[0]
    st = ini.stat()
    got = wait_lines(order, 3)
    assert got[1].startswith(f"as-vassal {first} {vassals} fd=") and got[1] != f"as-vassal {first} {vassals} fd="
    assert got[2] == f"as-emperor app.ini {first} {st.st_uid} {st.st_gid}"

    os.kill(first, signal.SIGKILL)  # a lost vassal: respawned, the spawn phases run again
    emp.wait_log(r"vassal app\.ini respawned")
    second = wait_until(lambda: (k[0] if (k := emp.vassal_pids()) and k[0] != first else None), 15,
                        message="respawned vassal")
    wait_until(lambda: answers(port), 20, message="respawned vassal answers")
    got = wait_lines(order, 5)
    assert got[3].startswith(f"as-vassal {second} {vassals} fd=")
    assert got[4] == f"as-emperor app.ini {second} {st.st_uid} {st.st_gid}"

    touch(ini)  # the Emperor sends RELOAD: emperor-reload runs in the vassal's master
    assert wait_lines(order, 6)[5] == f"emperor-reload {second}"
    emp.wait_log(r"vassal app\.ini is ready to accept requests", count=3)

    emp.signal(signal.SIGINT)  # the Emperor stops its vassals: emperor-stop runs in the vassal
    assert emp.wait_exit(30) == 0
    assert lines(order) == [
        "emperor-start",
        got[1], f"as-emperor app.ini {first} {st.st_uid} {st.st_gid}",
        got[3], f"as-emperor app.ini {second} {st.st_uid} {st.st_gid}",
        f"emperor-reload {second}",
        f"emperor-stop {second}",
    ]
    assert not alive(second)


def test_failing_as_emperor_hook_logs_and_vassals_run(emperor, vassals: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    emperor_ini = tmp_path / "emperor.ini"
    emperor_ini.write_text(f"[uwsgi]\nemperor = {vassals}\nexec-as-emperor = exit 3\n"
                           f"hook-as-emperor = exec:false\n"
                           f"call-as-emperor1 = no_such_module_here.func\n")
    emp: EmperorProc = emperor("--ini", str(emperor_ini))
    emp.wait_log("watching")
    ports = [free_port(), free_port()]
    for name, port in zip(("a.ini", "b.ini"), ports):
        write_file(vassals / name, f"[uwsgi]\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {app}\nprocesses = 1\n")
    for port in ports:
        wait_until(lambda port=port: answers(port), 20, message=f"vassal on {port} answers")
    for name in ("a.ini", "b.ini"):
        emp.wait_log(rf'as-emperor for vassal {name} hook "exit 3" failed: command exited with status 3')
        emp.wait_log(rf'as-emperor for vassal {name} hook "exec:false" failed: command exited with status 1')
        emp.wait_log(rf'as-emperor for vassal {name} hook "no_such_module_here.func" failed: cannot find')
    assert "respawned" not in emp.log() and "FATAL" not in emp.log()
    assert emp.proc.poll() is None and len(emp.vassal_pids()) == 2


def test_failing_as_vassal_hook_kills_only_that_vassal(emperor, vassals: Path, tmp_path: Path) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP)
    emperor_ini = tmp_path / "emperor.ini"
    emperor_ini.write_text(f"[uwsgi]\nemperor = {vassals}/*/app.ini\nemperor-throttle = 100\n"
                           'exec-as-vassal = pwd | grep -qv /bad$\n')
    (vassals / "bad").mkdir()
    (vassals / "good").mkdir()
    emp: EmperorProc = emperor("--ini", str(emperor_ini))
    emp.wait_log("watching")
    ports = {"bad": free_port(), "good": free_port()}
    for name, port in ports.items():
        write_file(vassals / name / "app.ini",
                   f"[uwsgi]\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {app}\nprocesses = 1\n")
    wait_until(lambda: answers(ports["good"]), 20, message="the good vassal answers")
    emp.wait_log(r"FATAL as-vassal hook failed for vassal .*bad/app\.ini: the vassal exits")
    emp.wait_log(r"vassal .*bad/app\.ini \(pid \d+\) died \(exit status 1\)", count=2)  # respawned, fails again
    assert not answers(ports["bad"])
    assert answers(ports["good"]) and emp.proc.poll() is None


def test_failing_emperor_start_is_fatal(emperor, vassals: Path, tmp_path: Path) -> None:
    (vassals / "app.ini").write_text("[uwsgi]\nhttp-socket = 127.0.0.1:1\n")
    emp: EmperorProc = emperor("--emperor", str(vassals), "--hook-emperor-start", "exec:exit 7")
    assert emp.wait_exit(15) == 1
    assert 'emperor-start hook "exec:exit 7" failed: command exited with status 7' in emp.log()
    assert "FATAL emperor-start hook failed" in emp.log()
    assert "vassal app.ini started" not in emp.log()


ON_DEMAND_APP = """\
import os

def application(environ, start_response):
    with open(os.environ["ORDER_FILE"], "a") as f:
        f.write("request " + os.environ.get("UWSGI_HOOK_CONTEXT", "-") + "\\n")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def test_as_on_demand_vassal_runs_when_the_socket_is_bound(emperor, vassals: Path, tmp_path: Path) -> None:
    """uWSGI (core/emperor.c) runs as-on-demand-vassal in the Emperor right after binding an
    on-demand vassal's socket, before anything spawns it, and again when the vassal goes back to
    on-demand (die-on-idle); UWSGI_HOOK_CONTEXT is the vassal's name, for the hook only."""
    order = tmp_path / "order"
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    sock = sockets / "app.socket"
    app = tmp_path / "app.py"
    app.write_text(ON_DEMAND_APP)
    emperor_ini = tmp_path / "emperor.ini"
    emperor_ini.write_text(
        "[uwsgi]\n"
        f"emperor = {vassals}\n"
        f"emperor-on-demand-directory = {sockets}\n"
        # `test -S`: the socket is already there when the hook runs; $PPID: it runs in the Emperor
        f'hook-as-on-demand-vassal = exec:echo "as-on-demand-vassal $UWSGI_HOOK_CONTEXT '
        f'`test -S {sock} && echo bound` $PPID" >> {order}\n')
    emp: EmperorProc = emperor("--ini", str(emperor_ini))
    emp.wait_log("watching")
    write_file(vassals / "app.ini",
               f"[uwsgi]\nwsgi-file = {app}\nprotocol = http\nprocesses = 1\nidle = 1\ndie-on-idle = true\n"
               f"env = ORDER_FILE={order}\n")
    hooked = f"as-on-demand-vassal app.ini bound {emp.pid}"
    assert wait_lines(order, 1) == [hooked]
    emp.wait_log(r"vassal app\.ini is on demand")
    emp.wait_vassals(0)  # the hook's shell is gone, and no vassal was spawned:
    assert "vassal app.ini started" not in emp.log()

    assert unix_http(str(sock), timeout=20) == b"ok"  # the first connection spawns the vassal
    assert lines(order) == [hooked, "request -"]  # the hook's variable stayed out of the vassal
    emp.wait_log(r"vassal app\.ini started")

    emp.wait_log(r"vassal app\.ini \(pid \d+\) went idle: back to waiting", timeout=20)  # die-on-idle: back to on-demand
    assert wait_lines(order, 3) == [hooked, "request -", hooked]
    emp.wait_vassals(0)
    assert unix_http(str(sock), timeout=20) == b"ok"  # and it still wakes on a connection
    assert lines(order) == [hooked, "request -", hooked, "request -"]


def test_failing_as_on_demand_vassal_hook_drops_the_vassal(emperor, vassals: Path, tmp_path: Path) -> None:
    """A failing as-on-demand-vassal hook drops the vassal (uWSGI: emperor_del): its socket is
    closed and nothing runs it; the next scan finds the file again, binds afresh and runs the hook
    again, which here succeeds, so the vassal then serves on demand."""
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    runs = tmp_path / "runs"
    failed_once = tmp_path / "failed-once"
    app = tmp_path / "app.py"
    app.write_text(APP)
    emp: EmperorProc = emperor(
        "--emperor", str(vassals), "--emperor-on-demand-directory", str(sockets),
        "--hook-as-on-demand-vassal",
        f"exec:echo $UWSGI_HOOK_CONTEXT >> {runs}; test -e {failed_once} || {{ touch {failed_once}; false; }}")
    emp.wait_log("watching")
    write_file(vassals / "app.ini", f"[uwsgi]\nwsgi-file = {app}\nprotocol = http\nprocesses = 1\n")
    emp.wait_log(r'as-on-demand-vassal for vassal app\.ini hook ".*" failed: command exited with status 1')
    emp.wait_log(r"as-on-demand-vassal hook failed for vassal app\.ini: dropping it")
    emp.wait_log(r"vassal app\.ini is on demand", count=2, timeout=15)  # the next scan: bound again
    assert wait_lines(runs, 2) == ["app.ini", "app.ini"]
    emp.wait_vassals(0)
    assert "vassal app.ini started" not in emp.log()
    assert len(re.findall("dropping it", emp.log())) == 1
    assert unix_http(str(sockets / "app.socket"), timeout=20) == b"ok"
    assert lines(runs) == ["app.ini", "app.ini"]  # spawning it runs no as-on-demand-vassal


def test_emperor_lost_runs_in_the_vassal(tmp_path: Path) -> None:
    """A vassal master whose link to its Emperor breaks runs emperor-lost, then stops."""
    app = tmp_path / "app.py"
    app.write_text(APP)
    out = tmp_path / "lost"
    port = free_port()
    ini = tmp_path / "app.ini"
    ini.write_text(f"[uwsgi]\nhttp-socket = 127.0.0.1:{port}\nwsgi-file = {app}\nprocesses = 1\n"
                   f'exec-emperor-lost = echo "emperor-lost $PPID" >> {out}\n')
    ours, theirs = socket.socketpair()
    env = {k: v for k, v in os.environ.items() if k not in ("UWSGI_INI", "NOTIFY_SOCKET")}
    env["SATRAP__EMPEROR_FD"] = str(theirs.fileno())
    log_path = tmp_path / "vassal.log"
    with open(log_path, "wb") as logf:
        proc = subprocess.Popen([sys.executable, "-m", "satrap", "--ini", str(ini)], cwd=tmp_path, env=env,
                                pass_fds=[theirs.fileno()], stdout=logf, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    theirs.close()
    try:
        ours.settimeout(20)
        seen = b""
        while 5 not in seen:  # ACCEPTING
            chunk = ours.recv(16)
            assert chunk, log_path.read_text()
            seen += chunk
        assert not out.exists()
        ours.close()  # the Emperor is gone
        assert proc.wait(20) == 0, log_path.read_text()
        assert lines(out) == [f"emperor-lost {proc.pid}"]
        assert "lost connection with my emperor" in log_path.read_text()
    finally:
        ours.close()
        for pid in {proc.pid, *pgid_members(proc.pid)}:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
