"""The database backend (``DATABASES[...]["ENGINE"] = "apps.core.db"``): Django's PostgreSQL one, with
health checks that also run in threads that live for the whole process, and a note of a request
that failed because the database was unreachable (see :mod:`.base`)."""
from __future__ import annotations

from contextvars import ContextVar

#: True once a query of the current request (its context) failed with an OperationalError or an
#: InterfaceError: the server is down, restarting or out of connections. Django's handler500 runs
#: on another thread than the failed query under ASGI, where ``sys.exc_info()`` is empty, so the
#: error view reads this to answer 503 instead of 500. Reset when each request starts.
unavailable: ContextVar[bool] = ContextVar("database_unavailable", default=False)


def reset_unavailable(**_: object) -> None:
    unavailable.set(False)
