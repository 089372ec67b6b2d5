"""The ``uwsgi`` and ``uwsgidecorators`` modules, end to end through the real ``satrap`` command.

The app (api_app.py) writes what it does into files under a results directory; the tests poll
those files and the app's endpoints with deadlines.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable

import pytest

from support import REPO, Satrap, free_port, http_request, wait_until

HERE = Path(__file__).resolve().parent


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


class Api:
    """One satrap instance running api_app.py, with its results directory."""

    def __init__(self, start: Callable[..., Satrap], tmp: Path, *extra: str, processes: int = 2,
                 env: dict[str, str] | None = None, results: Path | None = None) -> None:
        self.port = free_port()
        self.results = results or tmp / "results"
        self.results.mkdir(exist_ok=True)
        full_env = {"API_RESULTS": str(self.results), "PYTHONPATH": str(HERE)}
        full_env.update(env or {})
        self.proc = start("--http-socket", f"127.0.0.1:{self.port}", "--master", "--processes", str(processes),
                          "--module", "api_app", *extra, cwd=tmp, env=full_env)
        self.proc.wait_http(self.port, "/pid")

    def get(self, path: str) -> str:
        status, _, body = http_request(self.port, "GET", path)
        assert status == 200, (path, status, body)
        return body.decode()

    def lines(self, name: str) -> list[str]:
        return _lines(self.results / name)

    def wait_lines(self, name: str, n: int, timeout: float = 10.0) -> list[str]:
        try:
            return wait_until(lambda: (ls if len(ls := self.lines(name)) >= n else None), timeout,
                              message=f"{n} lines in {name}")  # type: ignore[return-value]
        except AssertionError:
            raise AssertionError(f"{name}: {self.lines(name)}\nlog:\n{self.proc.log()[-3000:]}") from None

    def hold_one_worker(self) -> tuple[int, threading.Thread]:
        """Keep one worker busy (a request that waits for the release file); returns its id."""
        before = len(self.lines("holding"))
        thread = threading.Thread(target=self.get, args=("/hold",), daemon=True)
        thread.start()
        held = self.wait_lines("holding", before + 1)[-1]
        return int(held), thread

    def release(self, thread: threading.Thread, wid: int | None = None) -> None:
        flag = self.results / ("release" if wid is None else f"release-{wid}")
        flag.write_text("go")
        thread.join(15)
        assert not thread.is_alive()
        flag.unlink()


def _postfork_workers(api: Api) -> dict[int, int]:
    """worker id -> pid, from the @postfork lines of workers (id 0 is the spooler, if any)."""
    out: dict[int, int] = {}
    for line in api.lines("postfork"):
        wid, pid = map(int, line.split())
        if wid:
            out.setdefault(wid, pid)
    return out


# -- import ------------------------------------------------------------------------------------
def test_import_uwsgi_fails_outside_satrap() -> None:
    spec = importlib.util.find_spec("uwsgi")
    assert spec is None or "satrap" not in str(spec.origin)
    if spec is None:
        with pytest.raises(ImportError):
            import uwsgi  # noqa: F401
    assert "uwsgi" not in sys.modules or "satrap" not in repr(sys.modules["uwsgi"])
    # importing satrap itself does not provide the modules either
    code = ("import satrap.cli, satrap.uwsgi_api, importlib.util, sys; "
            "assert 'uwsgi' not in sys.modules and 'uwsgidecorators' not in sys.modules; "
            "spec = importlib.util.find_spec('uwsgi'); assert spec is None or 'satrap' not in str(spec.origin)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(REPO))


# -- postfork, worker ids, reload --------------------------------------------------------------
def test_postfork_runs_once_per_worker_and_again_after_reload(satrap, tmp_path: Path) -> None:
    api = Api(satrap, tmp_path)
    api.wait_lines("postfork", 2)
    first = _postfork_workers(api)
    assert sorted(first) == [1, 2]
    assert len(set(first.values())) == 2
    assert sorted(first.values()) == sorted(api.proc.workers())
    assert len(api.lines("postfork")) == 2  # once each, not once per request
    for _ in range(3):
        api.get("/pid")
    assert len(api.lines("postfork")) == 2
    wid, pid, master = map(int, api.get("/pid").split())
    assert first[wid] == pid and master == api.proc.pid

    api.proc.signal(signal.SIGHUP)  # graceful reload: new workers run @postfork again
    lines = api.wait_lines("postfork", 4, timeout=15)
    second = {}
    for line in lines[2:]:
        w, p = map(int, line.split())
        second[w] = p
    assert sorted(second) == [1, 2]
    assert not set(second.values()) & set(first.values())
    api.proc.wait_http(api.port, "/pid")
    wid, pid, master = map(int, api.get("/pid").split())
    assert second[wid] == pid and master == api.proc.pid


def test_worker_id_differs_per_worker(satrap, tmp_path: Path) -> None:
    api = Api(satrap, tmp_path)
    held, thread = api.hold_one_worker()
    try:
        other, other_pid, _ = map(int, api.get("/pid").split())
    finally:
        api.release(thread)
    assert {held, other} == {1, 2}
    assert other_pid in api.proc.workers()


# -- cache ---------------------------------------------------------------------------------------
def test_cache_is_shared_across_workers(satrap, tmp_path: Path) -> None:
    api = Api(satrap, tmp_path)
    held_a, thread_a = api.hold_one_worker()  # worker A busy: the next request goes to B
    writer, result = api.get("/cache/set?k=color&v=blue").split()
    assert result == "True" and int(writer) != held_a
    api.get("/cache/update?k=counter&v=7")
    held_b, thread_b = api.hold_one_worker()  # now B is busy too ...
    assert held_b == int(writer)
    api.release(thread_a, held_a)  # ... and only A is free: it reads what B wrote
    try:
        reader, value = api.get("/cache/get?k=color").split()
        assert int(reader) == held_a and value == "blue"
        assert api.get("/cache/get?k=counter").split() == [str(held_a), "7"]
        # cache_set does not replace a live key; cache_update does; cache_del removes
        assert api.get("/cache/set?k=color&v=red").split()[1] == "None"
        assert api.get("/cache/del?k=color").split()[1] == "True"
    finally:
        api.release(thread_b, held_b)
    assert api.get("/cache/get?k=color").split()[1] == "MISSING"


# -- spooler --------------------------------------------------------------------------------------
def test_spool_task_runs_in_the_spooler_and_survives_a_restart(satrap, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    results = tmp_path / "results"
    results.mkdir()
    args = ("--spooler", str(spool), "--lazy-apps")  # lazy: the spooler loads the app itself
    api = Api(satrap, tmp_path, *args, results=results)
    spooler_pid = int(wait_until(lambda: int(api.get("/spooler-pid")) or None, 10, message="spooler pid"))
    assert spooler_pid in api.proc.workers()
    os.kill(spooler_pid, signal.SIGSTOP)  # the spooler cannot run anything from now on
    try:
        path = api.get("/spool?name=first")
        assert Path(path).parent == spool and Path(path).exists()
    finally:
        api.proc.stop()  # SIGKILL everything: the task was never run
    assert Path(path).exists()
    assert api.lines("spooled") == []

    again = Api(satrap, tmp_path, *args, results=results)
    lines = again.wait_lines("spooled", 1, timeout=15)
    name, pid, wid = lines[0].split()
    assert name == "first" and wid == "0"  # run by the spooler (worker id 0), not a worker
    assert int(pid) == int(again.get("/spooler-pid"))
    wait_until(lambda: not Path(path).exists(), 10, message="task file deleted after SPOOL_OK")
    again.proc.wait_log(r"done with task uwsgi_spoolfile_on_")


def test_spool_with_arguments_from_a_preloaded_app(satrap, tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    api = Api(satrap, tmp_path, "--spooler", str(spool))
    api.get("/spool-args?a=2&b=40&name=answer")
    lines = api.wait_lines("spooled", 1)
    name, total, pid = lines[0].split()
    assert (name, total) == ("answer", "42")
    assert int(pid) == int(api.get("/spooler-pid"))
    wait_until(lambda: not any(spool.iterdir()), 10, message="spool directory empty")
    # a graceful stop lets the spooler go too
    api.proc.signal(signal.SIGINT)
    assert api.proc.wait_exit(20) == 0


# -- timers, locks -----------------------------------------------------------------------------------
def test_timer_fires_in_one_worker(satrap, tmp_path: Path) -> None:
    api = Api(satrap, tmp_path, env={"API_TIMER": "0.2"})
    lines = api.wait_lines("timer", 4)
    pids = {int(line.split()[1]) for line in lines}
    wids = {int(line.split()[2]) for line in lines}
    assert wids == {1}  # one ticker for the instance, not one per worker
    assert len(pids) == 1 and pids <= set(api.proc.workers())


def test_lock_decorator_serialises_across_workers(satrap, tmp_path: Path) -> None:
    api = Api(satrap, tmp_path)
    answers: list[str] = []
    threads = [threading.Thread(target=lambda t=t: answers.append(api.get(f"/lock?tag={t}")))
               for t in ("a", "b", "c")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    lines = api.wait_lines("locked", 3)
    spans = sorted((float(start), float(end)) for _, _, start, end in (line.split() for line in lines))
    for (_, end), (next_start, _) in itertools.pairwise(spans):
        assert next_start >= end, f"critical sections overlap: {spans}"
    assert len({line.split()[1] for line in lines}) >= 2, f"expected two workers to take part: {lines}"


# -- the rest of the API ---------------------------------------------------------------------------------
def test_module_values_and_missing_functions(satrap, tmp_path: Path) -> None:
    import json

    api = Api(satrap, tmp_path)
    info = json.loads(api.get("/info"))
    assert info["numproc"] == 2
    assert info["opt_master"] == "True" and info["opt_processes"] == "b'2'"
    assert info["mem"][0] > 0 and info["mem"][1] >= info["mem"][0]
    assert info["has_mule_msg"] is False  # hasattr() feature checks keep working
    assert abs(info["started_on"] - __import__("time").time()) < 120
    assert "uwsgi.mule_msg() is not provided by satrap yet" in api.get("/missing")
    request_id = json.loads(api.get("/info"))["request_id"]
    assert isinstance(request_id, int) and request_id >= 0  # completed requests of that worker
