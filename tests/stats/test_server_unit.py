"""StatsServer in-process: an Emperor document passes through, /metrics carries one set of series
per vassal that has its own stats address, and a bad address never raises into the master."""

from __future__ import annotations

import json

from conftest import raw_stats, send_requests
from support import free_port

from satrap.stats.server import StatsServer


def test_emperor_document_and_per_vassal_metrics(instance):
    _proc, port, stats = instance(processes=2)
    send_requests(port, ["/"] * 6)
    doc = {"version": "0.1.0", "pid": 1, "uid": 0, "gid": 0, "cwd": "/", "emperor": ["/v"],
           "emperor_tyrant": 0, "throttle_level": 0, "blacklist": [],
           "vassals": [{"id": "a.ini", "pid": 11, "ready": 1, "accepting": 1, "respawns": 1, "stats": stats},
                       {"id": "b.ini", "pid": 12, "ready": 1, "accepting": 1, "respawns": 0}]}
    server = StatsServer(f"127.0.0.1:{free_port()}", lambda: doc)
    server.start()
    try:
        addr = server.bound_address()
        assert json.loads(raw_stats(addr)) == doc
        reply = raw_stats(addr, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").decode()
        assert "satrap_emperor_vassals 2" in reply
        assert 'satrap_vassal_respawns_total{vassal="a.ini"} 1' in reply
        assert sum(float(line.rsplit(" ", 1)[1]) for line in reply.splitlines()
                   if line.startswith('satrap_requests_total{vassal="a.ini",worker=')) == 6
        page = raw_stats(addr, b"GET / HTTP/1.0\r\n\r\n").decode()
        assert page.count('<tr class="vassal">') == 2 and 'data-kind="emperor"' in page
    finally:
        server.close()


def test_bad_address_is_logged_not_raised(capfd):
    busy = StatsServer(f"127.0.0.1:{free_port()}", dict)
    try:
        again = StatsServer(busy.bound_address(), dict)
        again.start()
        assert again.fileno() == -1
        again.close()
    finally:
        busy.close()
    assert "unable to bind the stats server" in capfd.readouterr().err
