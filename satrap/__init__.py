"""satrap: a pure-Python application server that runs WSGI apps the way uWSGI does.

Importing the package has no side effects; the work starts in :func:`satrap.cli.main`.
"""

__version__ = "0.1.0"

#: what ``uwsgi.version``-style fields report; the uWSGI release whose behaviour satrap follows
UWSGI_COMPAT_VERSION = "2.0.30"
