"""The pieces of satrap.uwsgi_api on their own: spool file format, cron matching, cache and lock
semantics (in this test process, on a private directory)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from satrap.uwsgi_api import spoolfile
from satrap.uwsgi_api.cache import SharedCache
from satrap.uwsgi_api.locks import LockSet
from satrap.uwsgi_api.signals import cron_matches
from satrap.uwsgi_api.spooler import task_dict
from satrap.uwsgi_api.state import state


@pytest.fixture
def api_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "api"
    monkeypatch.setattr(state, "api_dir", str(path))
    return path


def test_spool_file_round_trip_in_uwsgi_format(tmp_path: Path) -> None:
    assert spoolfile.encode({b"hello": b"world"}) == b"\x11\x0e\x00\x00\x05\x00hello\x05\x00world"
    path = spoolfile.write_task(str(tmp_path), {"a": "1", b"b": b"\x00\xff", "body": b"BODY" * 10, "n": 5})
    name = os.path.basename(path)
    assert name.startswith("uwsgi_spoolfile_on_")
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary file left
    items, body = spoolfile.decode(Path(path).read_bytes())
    assert items == {b"a": b"1", b"b": b"\x00\xff", b"n": b"5"} and body == b"BODY" * 10
    env = task_dict(path, items, body)
    assert env["spooler_task_name"] == name.encode() and env["body"] == b"BODY" * 10
    later = spoolfile.write_task(str(tmp_path), {"x": "y"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [name, os.path.basename(later)]  # name order = order


def test_spool_at_is_the_file_mtime(tmp_path: Path) -> None:
    at = time.time() + 3600
    path = spoolfile.write_task(str(tmp_path), {"x": "1", "at": str(int(at))})
    assert abs(os.stat(path).st_mtime - int(at)) < 1


def test_spool_file_rejects_oversized_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="body"):
        spoolfile.write_task(str(tmp_path), {"big": "x" * 70000})
    assert list(tmp_path.iterdir()) == []


def test_cron_fields() -> None:
    tm = time.struct_time((2024, 3, 10, 2, 40, 0, 6, 70, 0))  # Sunday 02:40
    assert cron_matches((40, 2, -1, -1, -1), tm)
    assert not cron_matches((41, 2, -1, -1, -1), tm)
    assert cron_matches((-10, -1, -1, -1, 0), tm)  # every 10 minutes, on Sundays
    assert cron_matches((-1, -1, -1, -1, 7), tm)  # 7 is Sunday too
    assert not cron_matches((-1, -1, -1, 4, -1), tm)


def test_cache_semantics(api_dir: Path) -> None:
    cache = SharedCache(str(api_dir / "cache.sqlite3"))
    assert cache.get("k") is None
    assert cache.set("k", "v1") is True
    assert cache.set("k", "v2") is False  # a live key is not replaced
    assert cache.get(b"k") == b"v1"
    assert cache.update("k", b"v3") is True and cache.get("k") == b"v3"
    assert cache.set("k", "other", cache_name="second") is True
    assert cache.get("k", "second") == b"other" and cache.get("k") == b"v3"
    assert cache.keys() == [b"k"]
    assert cache.delete("k") is True and cache.delete("k") is False and not cache.exists("k")
    cache.update("gone", "x", expires=1)
    assert cache.exists("gone")
    cache._now = lambda: time.time() + 2  # type: ignore[method-assign]
    assert cache.get("gone") is None and cache.set("gone", "back") is True
    cache.math("n", 5, "inc")
    cache.math("n", 2, "mul")
    cache.math("n", 3, "dec")
    assert cache.num("n") == 7
    cache.clear()
    assert cache.keys() == [] and cache.get("k", "second") == b"other"
    with pytest.raises(NotImplementedError):
        cache.get("k", "name@127.0.0.1:3031")


def test_locks_serialise_processes(api_dir: Path) -> None:
    locks = LockSet(str(api_dir))
    locks.lock(3)
    assert locks.is_locked(3)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child must wait for the parent's lock
        try:
            child = LockSet(str(api_dir))
            child.lock(3)
            os.write(w, str(time.time()).encode())
            child.unlock(3)
        finally:
            os._exit(0)
    time.sleep(0.3)  # the child is blocked meanwhile: what we check is that it waited
    released = time.time()
    locks.unlock(3)
    got = float(os.read(r, 64))
    os.waitpid(pid, 0)
    os.close(r)
    os.close(w)
    assert got >= released
    assert not locks.is_locked(3)
    with pytest.raises(ValueError):
        locks.lock(-1)
