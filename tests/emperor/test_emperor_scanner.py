"""Scanner: listings and diffs on a real directory (tmp_path); the inotify watcher wakes."""

from __future__ import annotations

import os
import select
from pathlib import Path

from satrap.emperor.scanner import (
    Diff,
    Scanner,
    Watcher,
    config_switch,
    diff,
    is_vassal_name,
    listing,
)


def test_new_touched_removed(tmp_path: Path) -> None:
    sc = Scanner([str(tmp_path)])
    assert sc.scan() == Diff()
    a = tmp_path / "a.ini"
    a.write_text("[uwsgi]\n")
    assert sc.scan() == Diff(added=(str(a),))
    assert not sc.scan()  # nothing changed since
    st = a.stat()
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # a 1 ns touch is a change
    assert sc.scan() == Diff(changed=(str(a),))
    a.unlink()
    assert sc.scan() == Diff(removed=(str(a),))


def test_size_and_inode_changes_count(tmp_path: Path) -> None:
    a = tmp_path / "a.ini"
    a.write_text("x")
    sc = Scanner([str(tmp_path)])
    sc.scan()
    st = a.stat()
    a.write_text("xy")
    os.utime(a, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime, other size
    assert sc.scan().changed == (str(a),)
    b = tmp_path / "b.tmp"
    b.write_text("xy")
    os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(b, a)  # same size and mtime, new inode (an atomic editor save)
    assert sc.scan().changed == (str(a),)


def test_only_valid_regular_files(tmp_path: Path) -> None:
    for name in ("a.ini", "b.yml", "c.yaml", "d.json", "e.xml", "f.txt", "g.ini~", "README"):
        (tmp_path / name).write_text("")
    (tmp_path / "dir.ini").mkdir()
    (tmp_path / "link.ini").symlink_to(tmp_path / "a.ini")
    (tmp_path / "dangling.ini").symlink_to(tmp_path / "missing.ini")
    names = sorted(os.path.basename(p) for p in listing([str(tmp_path)]))
    assert names == ["a.ini", "b.yml", "c.yaml", "d.json", "e.xml", "link.ini"]
    assert not is_vassal_name("x" * 260 + ".ini")


def test_glob_monitor(tmp_path: Path) -> None:
    (tmp_path / "a.ini").write_text("")
    (tmp_path / "b.yaml").write_text("")
    sc = Scanner([str(tmp_path / "*.ini")])
    assert sc.scan().added == (str(tmp_path / "a.ini"),)
    assert sc.directories() == [str(tmp_path)]


def test_missing_directory_is_empty_not_an_error(tmp_path: Path) -> None:
    assert listing([str(tmp_path / "nope")]) == {}


def test_diff_is_pure_and_sorted() -> None:
    from satrap.emperor.scanner import Stamp

    s1, s2 = Stamp(1, 1, 1, 0, 0), Stamp(2, 1, 1, 0, 0)
    d = diff({"/b": s1, "/a": s1, "/c": s1}, {"/c": s2, "/a": s1, "/z": s1, "/y": s1})
    assert d == Diff(added=("/y", "/z"), changed=("/c",), removed=("/b",))


def test_owner_change_is_a_change() -> None:
    from satrap.emperor.scanner import Stamp

    assert diff({"/a": Stamp(1, 1, 1, 0, 0)}, {"/a": Stamp(1, 1, 1, 1000, 0)}).changed == ("/a",)


def test_config_switch() -> None:
    assert config_switch("x/app.ini") == "--ini"
    assert config_switch("app.YAML") == "--yaml"
    assert config_switch("app.yml") == "--yaml"
    assert config_switch("app.json") == "--json"
    assert config_switch("app.xml") == "--xml"


def test_watcher_wakes_on_create_touch_delete(tmp_path: Path) -> None:
    w = Watcher()
    if not w.active:
        import pytest

        pytest.skip("no inotify here: the Emperor polls instead")
    try:
        assert w.watch([str(tmp_path)])
        fd = w.fileno()
        assert select.select([fd], [], [], 0)[0] == []
        f = tmp_path / "a.ini"
        f.write_text("")
        assert select.select([fd], [], [], 2)[0] == [fd]
        w.drain()
        assert select.select([fd], [], [], 0)[0] == []
        os.utime(f)
        assert select.select([fd], [], [], 2)[0] == [fd]
        w.drain()
        f.unlink()
        assert select.select([fd], [], [], 2)[0] == [fd]
    finally:
        w.close()
