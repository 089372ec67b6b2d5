"""``uwsgi.cache_*``: one key/value store shared by every process of the instance.

Design: an SQLite database (WAL journal) in the instance directory (``/dev/shm`` when available,
so it lives in memory). Every process opens its own connection lazily, after fork, and each
thread uses its own (SQLite connections must not cross a fork, and one connection is not safe to
share between threads mid-transaction). Writes are single statements, atomic across processes;
``busy_timeout`` makes a writer wait for another rather than fail.

Semantics follow uWSGI's cache API: keys and values are bytes (``str`` is UTF-8 encoded), values
come back as ``bytes``; ``expires`` is seconds from now (0 = never); ``cache_set`` does not replace
a live key, ``cache_update`` does; ``cache_name`` picks one of several named caches (a
``name@address`` remote cache is not provided). Unlike uWSGI the cache needs no ``cache2``
option and has no fixed item count or block size.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from typing import TYPE_CHECKING, Any

from satrap.uwsgi_api.state import ensure_dir

if TYPE_CHECKING:
    import sqlite3

_SCHEMA = ("CREATE TABLE IF NOT EXISTS items (name TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, "
           "expires REAL NOT NULL DEFAULT 0, PRIMARY KEY (name, key)) WITHOUT ROWID")
_NUM = struct.Struct("=q")  # uWSGI stores counters (cache_inc & co.) as a native int64


def to_bytes(value: Any, what: str) -> bytes:
    """uWSGI's API takes bytes and str alike (str as UTF-8); anything else is the app's bug."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    raise TypeError(f"{what}, not {type(value).__name__}")


def _b(value: Any, what: str) -> bytes:
    return to_bytes(value, f"uwsgi cache {what} must be bytes or str")


def _name(cache_name: Any) -> str:
    if cache_name is None or cache_name == "" or cache_name == b"":
        return "default"
    name = cache_name.decode() if isinstance(cache_name, bytes) else str(cache_name)
    if "@" in name:
        raise NotImplementedError(f"uwsgi cache {name!r}: remote caches (name@address) are not provided "
                                  "by satrap; every cache is local to the instance")
    return name


class SharedCache:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._ops = 0

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        # imported on first use: sqlite3 is 0.3 MB in every process that forks, and most apps
        # never touch the cache
        import sqlite3

        ensure_dir()
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            pass  # another process is switching it at this very moment: it ends up WAL anyway
        conn.execute("PRAGMA synchronous = OFF")  # it is a cache in memory, not a database
        conn.execute(_SCHEMA)
        self._local.conn = conn
        self._local.pid = os.getpid()
        return conn

    def _now(self) -> float:
        return time.time()

    def _sweep(self, conn: sqlite3.Connection) -> None:
        self._ops += 1
        if self._ops % 100 == 0:  # expired items are invisible anyway; free them now and then
            conn.execute("DELETE FROM items WHERE expires > 0 AND expires <= ?", (self._now(),))

    def get(self, key: Any, cache_name: Any = None) -> bytes | None:
        row = self._conn().execute(
            "SELECT value FROM items WHERE name = ? AND key = ? AND (expires = 0 OR expires > ?)",
            (_name(cache_name), _b(key, "key"), self._now())).fetchone()
        return bytes(row[0]) if row else None

    def exists(self, key: Any, cache_name: Any = None) -> bool:
        row = self._conn().execute(
            "SELECT 1 FROM items WHERE name = ? AND key = ? AND (expires = 0 OR expires > ?)",
            (_name(cache_name), _b(key, "key"), self._now())).fetchone()
        return row is not None

    def _expiry(self, expires: Any) -> float:
        seconds = int(expires or 0)
        return self._now() + seconds if seconds > 0 else 0.0

    def set(self, key: Any, value: Any, expires: Any = 0, cache_name: Any = None) -> bool:
        """Store unless a live value is there already; True when stored."""
        conn = self._conn()
        name, k, v = _name(cache_name), _b(key, "key"), _b(value, "value")
        cur = conn.execute(
            "INSERT INTO items (name, key, value, expires) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name, key) DO UPDATE SET value = excluded.value, expires = excluded.expires "
            "WHERE items.expires > 0 AND items.expires <= ?",
            (name, k, v, self._expiry(expires), self._now()))
        self._sweep(conn)
        return cur.rowcount > 0

    def update(self, key: Any, value: Any, expires: Any = 0, cache_name: Any = None) -> bool:
        conn = self._conn()
        conn.execute("INSERT OR REPLACE INTO items (name, key, value, expires) VALUES (?, ?, ?, ?)",
                     (_name(cache_name), _b(key, "key"), _b(value, "value"), self._expiry(expires)))
        self._sweep(conn)
        return True

    def delete(self, key: Any, cache_name: Any = None) -> bool:
        cur = self._conn().execute("DELETE FROM items WHERE name = ? AND key = ? AND (expires = 0 OR expires > ?)",
                                   (_name(cache_name), _b(key, "key"), self._now()))
        return cur.rowcount > 0

    def clear(self, cache_name: Any = None) -> bool:
        self._conn().execute("DELETE FROM items WHERE name = ?", (_name(cache_name),))
        return True

    def keys(self, cache_name: Any = None) -> list[bytes]:
        rows = self._conn().execute(
            "SELECT key FROM items WHERE name = ? AND (expires = 0 OR expires > ?) ORDER BY key",
            (_name(cache_name), self._now())).fetchall()
        return [bytes(r[0]) for r in rows]

    def math(self, key: Any, operand: int, op: str, expires: Any = 0, cache_name: Any = None) -> bool:
        """cache_inc/dec/mul/div: atomic read-modify-write of a native int64 counter."""
        conn = self._conn()
        name, k = _name(cache_name), _b(key, "key")
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT value FROM items WHERE name = ? AND key = ? AND (expires = 0 OR expires > ?)",
                               (name, k, self._now())).fetchone()
            current = _NUM.unpack(bytes(row[0]).ljust(8, b"\0")[:8])[0] if row else 0
            if op == "inc":
                current += operand
            elif op == "dec":
                current -= operand
            elif op == "mul":
                current *= operand
            else:
                if operand == 0:
                    raise ZeroDivisionError("uwsgi.cache_div() by zero")
                current = int(current / operand)
            current = (current + 2**63) % 2**64 - 2**63  # wrap like an int64
            conn.execute("INSERT OR REPLACE INTO items (name, key, value, expires) VALUES (?, ?, ?, ?)",
                         (name, k, _NUM.pack(current), self._expiry(expires)))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return True

    def num(self, key: Any, cache_name: Any = None) -> int:
        value = self.get(key, cache_name)
        return _NUM.unpack(value.ljust(8, b"\0")[:8])[0] if value else 0


def open_cache(api_dir: str) -> SharedCache:
    return SharedCache(os.path.join(api_dir, "cache.sqlite3"))
