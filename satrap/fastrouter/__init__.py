"""uWSGI's fastrouter and subscription system.

* :mod:`satrap.fastrouter.subscription` (sans-IO): the subscription datagram (modifier1 224) and
  the table of subscribed nodes (expiry after ``subscription-tolerance``, weighted round robin).
* :mod:`satrap.fastrouter.subscriber`: the node side, ``subscribe-to`` / ``subscribe2``; the master
  calls ``Subscriber.tick(now)`` and ``goodbye()``.
* :mod:`satrap.fastrouter.process`: the "fastrouter N" gateway process (asyncio): uwsgi requests in,
  each forwarded to a node picked by its key, with the subscription server in the same loop.

See docs/fastrouter.md.
"""
