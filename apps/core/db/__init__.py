"""The database backend (``DATABASES[...]["ENGINE"] = "apps.core.db"``): Django's PostgreSQL one, with
health checks that also run in threads that live for the whole process, and a note of a request
that failed because the database was unreachable (see :mod:`.base`)."""
from __future__ import annotations

import logging
from contextvars import ContextVar

logger = logging.getLogger(__name__)

#: True once a query of the current request (its context) failed with an OperationalError or an
#: InterfaceError: the server is down, restarting or out of connections. Django's handler500 runs
#: on another thread than the failed query under ASGI, where ``sys.exc_info()`` is empty, so the
#: error view reads this to answer 503 instead of 500. Reset when each request starts.
unavailable: ContextVar[bool] = ContextVar("database_unavailable", default=False)


def reset_unavailable(**_: object) -> None:
    unavailable.set(False)


def open_pool(timeout: float = 5.0) -> None:
    """Open this process's connection pool now and wait for its ``min_size`` connections.

    daphne calls it at start (codex/asgi.py); Django would open the pool on the first query,
    inside a request. A new PostgreSQL backend costs about 5 ms of CPU on a 2-core machine. A
    database that is not up yet is not waited for: the pool keeps connecting in the background.
    """
    from django.db import connection
    from psycopg_pool import PoolTimeout

    pool = connection.pool
    if pool is None:
        return
    try:
        pool.open(wait=True, timeout=timeout)
    except PoolTimeout:
        logger.warning("the database pool did not fill within %.0f s; it goes on in the background", timeout)
