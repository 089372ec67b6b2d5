"""Spool files: uWSGI's format, written atomically.

A spool file is a uwsgi packet (modifier1 17, little-endian u16 size, modifier2 0, then
``u16 len, key, u16 len, value`` pairs) optionally followed by a raw body (the ``body`` key).
Files are named ``uwsgi_spoolfile_on_<host>_<time ns>_<pid>_<counter>``, so name order is
creation order; ``at`` (run not before this unix time) is stored as the file's mtime, as uWSGI
does. A file is written under a dot-name and renamed into place, so a spooler never sees half a
task. Compatible both ways with uWSGI's spooler directories.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
import time
from typing import Any

from satrap.uwsgi_api.cache import to_bytes

MODIFIER_SPOOL = 17
PREFIX = "uwsgi_spoolfile_on_"
_HEADER = struct.Struct("<BHB")
_LEN = struct.Struct("<H")
_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _b(value: Any) -> bytes:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value).encode()  # spool arguments may be numbers (uWSGI stringifies them)
    return to_bytes(value, "spool arguments must be str or bytes (or numbers)")


def encode(items: dict[bytes, bytes]) -> bytes:
    parts = []
    for key, value in items.items():
        if len(key) > 0xFFFF or len(value) > 0xFFFF:
            raise ValueError(f"spool argument {key[:40]!r} is larger than 64 KiB; pass big data as 'body'")
        parts.append(_LEN.pack(len(key)) + key + _LEN.pack(len(value)) + value)
    block = b"".join(parts)
    if len(block) > 0xFFFF:
        raise ValueError(f"spool arguments take {len(block)} bytes, more than the 64 KiB a spool file "
                         "allows; pass big data as 'body'")
    return _HEADER.pack(MODIFIER_SPOOL, len(block), 0) + block


def decode(data: bytes) -> tuple[dict[bytes, bytes], bytes]:
    """(vars, body) of a spool file; ValueError when it is not one."""
    if len(data) < 4:
        raise ValueError("truncated spool file")
    _mod1, size, _mod2 = _HEADER.unpack_from(data)
    if len(data) < 4 + size:
        raise ValueError("truncated spool file")
    items: dict[bytes, bytes] = {}
    pos, end = 4, 4 + size
    while pos < end:
        if pos + 2 > end:
            raise ValueError("malformed spool file")
        (klen,) = _LEN.unpack_from(data, pos)
        pos += 2
        key = data[pos:pos + klen]
        pos += klen
        if pos + 2 > end:
            raise ValueError("malformed spool file")
        (vlen,) = _LEN.unpack_from(data, pos)
        pos += 2
        value = data[pos:pos + vlen]
        pos += vlen
        if pos > end:
            raise ValueError("malformed spool file")
        items[key] = value
    return items, data[end:]


def write_task(directory: str, args: dict[Any, Any]) -> str:
    """Write one task into ``directory``; returns its full path."""
    items: dict[bytes, bytes] = {}
    body = b""
    at = None
    for key, value in args.items():
        k = _b(key)
        if k == b"body":
            body = _b(value)
            continue
        if k == b"spooler":
            continue  # picks the directory; not part of the task
        if k == b"at":
            at = float(value.decode() if isinstance(value, bytes) else value)
        items[k] = _b(value)
    packet = encode(items)
    with _counter_lock:
        n = next(_counter)
    host = socket.gethostname().replace("/", "_").replace("_", "-")
    name = f"{PREFIX}{host}_{time.time_ns():020d}_{os.getpid()}_{n}"
    tmp = os.path.join(directory, f".{name}.tmp")
    final = os.path.join(directory, name)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(packet + body)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    if at is not None:
        os.utime(tmp, (at, at))
    os.rename(tmp, final)
    return final
