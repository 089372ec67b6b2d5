"""The master and its workers (issue 3): respawn, reload, harakiri, mercy, autoreload, back-off."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import threading
import time

import pytest

from support import FIXTURE_APPS, alive, free_port, http_request, pgid_members, wait_until


class ClientLoop:
    """Requests in a loop from a thread, each on a new connection; counts what failed."""

    def __init__(self, port: int, path: str = "/pid") -> None:
        self.port = port
        self.path = path
        self.ok = 0
        self.failures: list[str] = []
        self.pids: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status, _, body = http_request(self.port, "GET", self.path, timeout=30,
                                               headers={"Connection": "close"})
                if status == 200:
                    self.ok += 1
                    self.pids.add(body.decode())
                else:
                    self.failures.append(f"status {status}")
            except (OSError, http.client.HTTPException) as exc:
                self.failures.append(repr(exc))

    def __enter__(self) -> "ClientLoop":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(40)

    def wait_ok(self, n: int, timeout: float = 10) -> None:
        target = self.ok + n
        wait_until(lambda: self.ok >= target, timeout, message=f"{n} more successful requests")


@pytest.fixture
def flask_master(satrap, tmp_path):
    def start(*extra: str, processes: int = 2):
        shutil.copy(FIXTURE_APPS / "flaskapp.py", tmp_path / "flaskapp.py")
        port = free_port()
        proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "flaskapp:app", "--master",
                      "--processes", str(processes), *extra)
        proc.wait_http(port)
        proc.wait_workers(processes)
        return proc, port

    return start


def _in_background(fn, *args):
    box: dict = {}

    def run() -> None:
        try:
            box["result"] = fn(*args)
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def test_sigkill_worker_under_load_is_replaced_quickly(flask_master):
    proc, port = flask_master("--disable-logging")
    before = set(proc.workers())
    victim = sorted(before)[0]
    with ClientLoop(port) as loop:
        loop.wait_ok(20)
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(set(proc.workers()) - before) == 1 and len(proc.workers()) == 2, 5,
                   message="replacement worker")
        replaced_in = time.monotonic() - killed_at
        loop.wait_ok(20)
    assert replaced_in < 1.0, f"replacement took {replaced_in:.2f}s"
    proc.wait_log(r"DAMN ! worker \d \(pid: %d\) died, killed by signal 9" % victim)
    proc.wait_log(r"Respawned satrap worker \d \(new pid: \d+\)")
    # only the request the killed worker was serving at that instant may be lost
    assert len(loop.failures) <= 1, loop.failures


@pytest.mark.parametrize("how", ["SIGHUP", "--reload"])
def test_graceful_reload_loses_nothing(flask_master, satrap, tmp_path, how):
    pidfile = tmp_path / "m.pid"
    proc, port = flask_master("--pidfile", str(pidfile), "--threads", "2")
    old_workers = set(proc.workers())
    with ClientLoop(port) as loop:
        loop.wait_ok(10)
        slow, box = _in_background(http_request, port, "GET", "/sleep/1.5")
        wait_until(lambda: "GET /sleep" in proc.log() or True, 1)
        time.sleep(0.2)  # not synchronisation: gives the slow request time to be in flight
        if how == "SIGHUP":
            proc.signal(signal.SIGHUP)
        else:
            assert satrap("--reload", str(pidfile)).wait_exit() == 0
        proc.wait_log(r"binary reloading satrap")
        wait_until(lambda: len(set(proc.workers()) - old_workers) == 2 and
                   not (set(proc.workers()) & old_workers), 15, message="new generation of workers")
        loop.wait_ok(10)
        slow.join(10)
    assert box.get("result", (0,))[0] == 200 and box["result"][2] == b"slept 1.5\n", box
    assert loop.failures == [], loop.failures[:5]
    assert alive(proc.pid) and int(pidfile.read_text()) == proc.pid  # same master pid
    for pid in old_workers:
        assert not alive(pid)


def test_harakiri_kills_a_stuck_request(flask_master):
    proc, port = flask_master("--harakiri", "2", processes=1)
    worker = proc.workers()[0]
    started = time.monotonic()
    try:
        http_request(port, "GET", "/sleep/60", timeout=20)
    except OSError:
        pass
    took = time.monotonic() - started
    assert took < 6, f"harakiri took {took:.1f}s"
    proc.wait_log(r"HARAKIRI ON WORKER 1 \(pid: %d" % worker)
    proc.wait_log(r"WAS managing request GET /sleep/60")
    wait_until(lambda: len(w := proc.workers()) == 1 and w != [worker], 5, message="a new worker")
    assert http_request(port, "GET", "/")[0] == 200


def test_worker_reload_mercy_bounds_shutdown(flask_master):
    proc, port = flask_master("--worker-reload-mercy", "3", processes=1)
    stuck, _ = _in_background(http_request, port, "GET", "/sleep/60", None, None, "127.0.0.1", 70)
    wait_until(lambda: proc.log().count("GET /sleep") == 0 and True, 1)
    time.sleep(0.3)
    started = time.monotonic()
    proc.signal(signal.SIGINT)
    code = proc.wait_exit(20)
    took = time.monotonic() - started
    assert code == 0
    assert 2.5 < took < 6, f"shutdown took {took:.1f}s"
    proc.wait_log(r"taking too much time to die\.\.\.NO MERCY")


def test_graceful_shutdown_lets_in_flight_requests_finish(flask_master):
    proc, port = flask_master("--die-on-term", processes=1)
    slow, box = _in_background(http_request, port, "GET", "/sleep/1")
    time.sleep(0.3)
    proc.signal(signal.SIGTERM)
    assert proc.wait_exit(10) == 0
    slow.join(5)
    assert box.get("result", (0,))[0] == 200, box
    assert pgid_members(proc.pid) == []


def test_py_autoreload_serves_new_code(flask_master, tmp_path):
    proc, port = flask_master("--py-autoreload", "1", processes=1)
    assert http_request(port)[2] == b"hello v1\n"
    app = tmp_path / "flaskapp.py"
    time.sleep(1.1)  # mtime granularity: the edit must land in a later second than the import
    app.write_text(app.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
    wait_until(lambda: http_request(port)[2] == b"hello v2\n", 10, interval=0.2, message="new code")
    proc.wait_log(r"satrap-python-reloader\] module/file .*flaskapp\.py has been modified")


def test_touch_reload(flask_master, tmp_path):
    trigger = tmp_path / "reload.trigger"
    trigger.write_text("x")
    proc, port = flask_master("--touch-reload", str(trigger), processes=1)
    old = proc.workers()
    os.utime(trigger, (time.time() + 5, time.time() + 5))
    wait_until(lambda: proc.workers() and proc.workers() != old, 10, message="reloaded workers")
    proc.wait_log(r"has been touched\.\.\. graceful reload")


def test_crash_looping_app_backs_off_and_master_stays(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "exit_import.py", tmp_path)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "exit_import", "--lazy-apps",
                  "--master", "--processes", "1")
    proc.wait_log(r"respawning too fast !!! backing off 2 seconds", timeout=20)
    assert alive(proc.pid)
    deaths = proc.log().count("DAMN !")
    assert deaths <= 6, f"{deaths} respawns in a few seconds: no back-off"
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().split(") ")[1].split()
    cpu_ticks = int(fields[11]) + int(fields[12])
    assert cpu_ticks < 200, "the master must not spin"


def test_need_app_with_lazy_apps_exits_22(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "crash_import.py", tmp_path)
    proc = satrap("--http-socket", f"127.0.0.1:{free_port()}", "--module", "crash_import",
                  "--lazy-apps", "--master", "--processes", "2", "--need-app")
    assert proc.wait_exit(15) == 22
    assert pgid_members(proc.pid) == []


def test_max_requests_recycles_workers(flask_master):
    proc, port = flask_master("--max-requests", "5", "--min-worker-lifetime", "0", processes=1)
    first = proc.workers()[0]
    pids = set()
    for _ in range(12):
        pids.add(http_request(port, "GET", "/pid")[2])
    assert len(pids) >= 2
    proc.wait_log(r"The work of process %d is done" % first)


def test_ttin_ttou_add_and_remove_workers(flask_master):
    proc, port = flask_master(processes=1)
    proc.signal(signal.SIGTTIN)
    proc.wait_workers(2)
    proc.signal(signal.SIGTTOU)
    proc.wait_workers(1)
    assert http_request(port)[0] == 200


def test_sigusr1_logs_worker_stats(flask_master):
    proc, port = flask_master(processes=2)
    http_request(port)
    proc.signal(signal.SIGUSR1)
    proc.wait_log(r"worker 1 pid: \d+ state: running requests: \d+")


def test_threads_serve_concurrently(flask_master):
    proc, port = flask_master("--threads", "4", processes=1)
    started = time.monotonic()
    threads = [_in_background(http_request, port, "GET", "/sleep/1")[0] for _ in range(4)]
    for t in threads:
        t.join(10)
    assert time.monotonic() - started < 2.5


def test_no_zombies_or_orphans_after_stop(flask_master):
    proc, port = flask_master(processes=2)
    workers = proc.workers()
    proc.signal(signal.SIGINT)
    assert proc.wait_exit(10) == 0
    for pid in workers:
        wait_until(lambda: not alive(pid), 5, message=f"worker {pid} gone")
    assert pgid_members(proc.pid) == []


def test_chain_reload_replaces_workers_one_at_a_time(flask_master, tmp_path):
    trigger = tmp_path / "chain.trigger"
    trigger.write_text("x")
    proc, port = flask_master("--lazy-apps", "--touch-chain-reload", str(trigger), processes=3)
    old = set(proc.workers())
    with ClientLoop(port) as loop:
        loop.wait_ok(5)
        app = tmp_path / "flaskapp.py"
        app.write_text(app.read_text().replace('VERSION = "v1"', 'VERSION = "v3"'))
        os.utime(trigger, (time.time() + 5, time.time() + 5))
        proc.wait_log(r"chain reload complete", timeout=20)
        loop.wait_ok(5)
    replaced = proc.wait_log(r"chain reload: worker (\d) \(pid: \d+\) replaced", count=3)
    assert sorted(replaced) == ["1", "2", "3"]
    assert not (set(proc.workers()) & old)
    assert len(proc.workers()) == 3
    assert http_request(port)[2] == b"hello v3\n"
    assert loop.failures == []


def test_master_fifo_commands(flask_master, tmp_path):
    fifo = tmp_path / "master.fifo"
    proc, port = flask_master("--master-fifo", str(fifo), processes=1)
    proc.wait_log("master fifo .* ready")
    with open(fifo, "w") as f:
        f.write("+")
    proc.wait_workers(2)
    before = set(proc.workers())
    with open(fifo, "w") as f:
        f.write("w")
    wait_until(lambda: len(w := set(proc.workers())) == 2 and not (w & before), 10,
               message="workers reloaded")
    with open(fifo, "w") as f:
        f.write("q")
    assert proc.wait_exit(10) == 0


def test_daemonize_detaches_and_logs_to_file(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    logfile = tmp_path / "daemon.log"
    pidfile = tmp_path / "d.pid"
    launcher = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "hello", "--master",
                      "--daemonize", str(logfile), "--pidfile", str(pidfile), "--vacuum")
    assert launcher.wait_exit(10) == 0  # the launching process returns at once
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10, message="pidfile")
    master = int(pidfile.read_text())
    launcher.seen_pids.add(master)
    try:
        assert master != launcher.pid
        wait_until(lambda: http_request(port)[0] == 200, 10, message="daemon serving")
        wait_until(lambda: "GET / =>" in logfile.read_text(), 5, message="request logged to the file")
        assert os.getsid(master) != launcher.pid  # a session of its own, away from the launcher
    finally:
        launcher.seen_pids.update(__import__("support").children_of(master))
        os.kill(master, signal.SIGINT)
    wait_until(lambda: not alive(master), 10, message="daemon stopped")
    assert not pidfile.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="dropping privileges needs root")
def test_uid_gid_drop_privileges_after_binding(satrap, tmp_path):
    import pwd

    nobody = pwd.getpwnam("nobody")
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    os.chmod(tmp_path, 0o755)
    os.chmod(tmp_path / "hello.py", 0o644)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "hello", "--master",
                  "--uid", "nobody", "--gid", str(nobody.pw_gid))
    proc.wait_http(port)
    for pid in [proc.pid, *proc.workers()]:
        with open(f"/proc/{pid}/status") as f:
            uids = next(line for line in f if line.startswith("Uid:")).split()[1:]
        assert set(map(int, uids)) == {nobody.pw_uid}
    assert "running satrap as root" not in proc.log()


def test_attach_daemon_is_supervised_and_stopped(satrap, tmp_path):
    marker = tmp_path / "daemon.out"
    shutil.copy(FIXTURE_APPS / "hello.py", tmp_path)
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "hello", "--master",
                  "--attach-daemon", f"echo $$ >> {marker}; exec sleep 300")
    proc.wait_http(port)
    wait_until(lambda: marker.exists() and marker.read_text().strip(), 10, message="daemon started")
    first = int(marker.read_text().split()[0])
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: len(marker.read_text().split()) == 2, 10, message="daemon respawned")
    second = int(marker.read_text().split()[1])
    proc.signal(signal.SIGINT)
    assert proc.wait_exit(10) == 0
    wait_until(lambda: not alive(second), 5, message="daemon stopped with the master")


def test_cheaper_grows_under_load_and_shrinks_when_idle(satrap, tmp_path):
    shutil.copy(FIXTURE_APPS / "flaskapp.py", tmp_path / "flaskapp.py")
    port = free_port()
    proc = satrap("--http-socket", f"127.0.0.1:{port}", "--module", "flaskapp:app", "--master",
                  "--processes", "3", "--cheaper", "1", "--cheaper-overload", "1", "--disable-logging")
    proc.wait_http(port)
    assert len(proc.wait_workers(1)) == 1
    stop = threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                http_request(port, "GET", "/sleep/0.3", timeout=10)
            except OSError:
                pass

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        proc.wait_workers(3, timeout=15)
        proc.wait_log(r"cheaper: all \d workers busy", timeout=5)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
    proc.wait_workers(1, timeout=15)
    proc.wait_log(r"cheaper: worker \d idle, stopping it")
