"""Django's PostgreSQL backend, whose kept connections are checked in long-lived threads too.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection once per request: the flag that says
"checked" is reset only when a request starts or ends. The run worker's database threads, its
event loop's thread-sensitive thread and the Celery threads never start or end a request, so a
connection PostgreSQL dropped (a restart) stayed in them and failed every query of the next
runs. Here a connection that has not been checked for ``HEALTH_CHECK_SECONDS`` is checked again
(one ``SELECT 1``) before its next query between transactions, and replaced when it is broken.
Pooled connections (daphne) are checked by the pool instead, on every checkout; a lost one is
retried once a second (psycopg_pool doubles the delay, 1, 2, 4, ... s, so after an outage of a
minute the next try could come a minute after PostgreSQL is back). And a checkout goes past every
dead connection at once (:class:`CheckedPool`): after a restart, a daphne that had no request
during the outage still holds all its old connections, and psycopg_pool sleeps a second after
each one it finds dead, so its first request waited a second per kept connection, past its timeout.
"""
from __future__ import annotations

import time
from typing import Any

from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base
from django.db.utils import DatabaseErrorWrapper, InterfaceError, OperationalError
from django.utils.functional import cached_property
from psycopg_pool import ConnectionPool, PoolTimeout
from psycopg_pool.base import AttemptWithBackoff

from apps.core.db import unavailable

HEALTH_CHECK_SECONDS = 1.0
# The pool's reconnection attempts keep their first delay (1 s, with jitter) instead of doubling it.
AttemptWithBackoff.DELAY_BACKOFF = 1.0


class CheckedPool(ConnectionPool):
    """psycopg_pool's pool, whose checkout discards every dead kept connection without waiting.

    psycopg_pool sleeps after each connection that fails its check (its reconnection delay: 1 s
    each here, with DELAY_BACKOFF above), to avoid a busy loop. A kept connection that fails is
    closed and replaced in the background, so the next one to check is either another kept one
    (checked at once here) or a new one that the checkout waits for in the pool's queue: no busy
    loop either way. Past ``max_size`` failures in one checkout (new connections failing their
    check too) it waits a second between tries.
    """

    def _getconn_with_check_loop(self, deadline: float) -> Any:
        failed = 0
        while True:
            conn = self._getconn_unchecked(deadline - time.monotonic())
            try:
                self._check_connection(conn)
            except Exception:
                self._putconn(conn, from_getconn=True)
            except BaseException:
                self._putconn(conn, from_getconn=True)  # cancelled: keep the connection, stop trying
                raise
            else:
                return conn
            failed += 1
            if failed > self.max_size:
                if time.monotonic() + 1.0 >= deadline:
                    raise PoolTimeout()
                time.sleep(1.0)


class _ErrorWrapper(DatabaseErrorWrapper):
    """Django's translation of driver errors, noting an unreachable database for the error view."""

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        try:
            super().__exit__(exc_type, exc_value, traceback)
        except (OperationalError, InterfaceError):
            unavailable.set(True)
            raise


class DatabaseWrapper(base.DatabaseWrapper):
    _health_checked_at = float("-inf")

    @cached_property
    def wrap_database_errors(self) -> _ErrorWrapper:
        return _ErrorWrapper(self)

    @property
    def pool(self) -> ConnectionPool | None:
        """Django's pool property (django/db/backends/postgresql/base.py) with :class:`CheckedPool`."""
        options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                return super().pool  # Django's own error for pooling with persistent connections
            kwargs = {**self.get_connection_params(), "autocommit": True}  # Django sets it per use
            pool = CheckedPool(
                kwargs=kwargs,
                open=False,
                configure=self._configure_connection,
                check=ConnectionPool.check_connection if self.settings_dict["CONN_HEALTH_CHECKS"] else None,
                **({} if options is True else options),
            )
            self._connection_pools.setdefault(self.alias, pool)  # the first thread's pool wins
        return self._connection_pools[self.alias]

    def connect(self) -> None:
        self._health_checked_at = time.monotonic()  # a new connection is a checked one
        super().connect()

    def close_if_health_check_failed(self) -> None:
        now = time.monotonic()
        # Only between transactions: the check's SELECT would open one on a connection that is not
        # in autocommit mode (Django also calls this from set_autocommit, on the way out of atomic()).
        between_transactions = self.autocommit and not self.in_atomic_block
        if self.health_check_done and between_transactions and now - self._health_checked_at >= HEALTH_CHECK_SECONDS:
            self.health_check_done = False
        due = not self.health_check_done
        super().close_if_health_check_failed()
        if due and self.health_check_done:
            self._health_checked_at = now
