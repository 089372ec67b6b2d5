"""Subscribie's layout for real (corpus 042 + 043): an Emperor runs the fastrouter; on-demand
vassals sleep until a request for their key arrives through the fastrouter, and after
``die-on-idle`` the next request wakes them again, because the Emperor keeps announcing the
sleeping vassal's on-demand socket to the subscription server."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from support import Satrap, children_of, free_port, wait_until
from .test_fastrouter_e2e import APP, uwsgi_request


def _answer(port: int, host: str) -> bytes:
    """The body of an answer through the fastrouter, or b"" (not listening yet, no node yet)."""
    try:
        return uwsgi_request(port, host).partition(b"\r\n\r\n")[2]
    except OSError:
        return b""


def test_on_demand_vassal_wakes_through_the_fastrouter_again_and_again(
        satrap: Callable[..., Satrap], tmp_path: Path) -> None:
    vassals = tmp_path / "vassals"
    vassals.mkdir()
    sockets = tmp_path / "ondemand"
    sockets.mkdir()
    sub = tmp_path / "sub.sock"
    port = free_port()
    (tmp_path / "inject.ini").write_text(
        "[uwsgi]\nmaster = true\nprocesses = 1\nidle = 2\ndie-on-idle = true\n"
        f"subscribe-to = {sub}:%(vassal_name).test\nsubscribe-freq = 1\n")
    # as corpus 043: the injected config takes the key from a placeholder each vassal defines
    (vassals / "shop.ini").write_text(f"[uwsgi]\nvassal_name = shop\nwsgi-file = {APP}\nenv = NODE=shop\n")
    emperor = satrap("--emperor", str(vassals), "--vassals-include", str(tmp_path / "inject.ini"),
                     "--emperor-on-demand-directory", str(sockets),
                     "--fastrouter", f"127.0.0.1:{port}", "--fastrouter-subscription-server", str(sub),
                     "--subscription-tolerance", "3")
    emperor.wait_log(r"fastrouter started", timeout=10)
    emperor.wait_log(r"vassal shop.* is on demand", timeout=10)

    def cmdline(pid: int) -> str | None:
        try:
            with open(f"/proc/{pid}/cmdline") as f:
                return f.read()
        except FileNotFoundError:
            return None  # exited between the listing and the read: not a live vassal

    def vassal_masters() -> list[int]:
        kids = [p for p in children_of(emperor.pid) if (c := cmdline(p)) is not None and "fastrouter" not in c]
        emperor.seen_pids.update(kids)
        return kids

    for round_ in range(2):
        # asleep: no vassal process, yet the key is known to the fastrouter (the Emperor announces)
        wait_until(lambda: vassal_masters() == [], 20, message=f"vassal asleep (round {round_})")
        answer = wait_until(lambda: _answer(port, "shop.test"), 15,
                            message=f"an answer through the fastrouter (round {round_})")
        assert answer.startswith(b"node=shop"), answer
    emperor.wait_log(r"die-on-idle", timeout=10)
