"""The operator's view of a running instance: uWSGI's stats JSON, Prometheus text, a status page.

Everything here is built from one plain-data snapshot (``Master.stats_view()``), turned into
uWSGI's document by :mod:`satrap.stats.snapshot`; the Prometheus text (:mod:`.prom`) and the HTML
page (:mod:`.page`) are views of that same document, so the three never disagree. The server
(:mod:`.server`) is a daemon thread of the master; ``satrap top`` (:mod:`.top`) is a client.
"""
