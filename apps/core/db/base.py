"""Django's PostgreSQL backend, whose kept connections are checked in long-lived threads too.

With ``CONN_HEALTH_CHECKS`` Django checks a kept connection once per request: the flag that says
"checked" is reset only when a request starts or ends. The run worker's database threads, its
event loop's thread-sensitive thread and the Celery threads never start or end a request, so a
connection PostgreSQL dropped (a restart) stayed in them and failed every query of the next
runs. Here a connection that has not been checked for ``HEALTH_CHECK_SECONDS`` is checked again
(one ``SELECT 1``) before its next query between transactions, and replaced when it is broken.
Pooled connections (daphne) are checked by the pool instead, on every checkout; a lost one is
retried once a second (psycopg_pool doubles the delay, 1, 2, 4, ... s, so after an outage of a
minute the next try could come a minute after PostgreSQL is back).
"""
from __future__ import annotations

import time
from typing import Any

from django.db.backends.postgresql import base
from django.db.utils import DatabaseErrorWrapper, InterfaceError, OperationalError
from django.utils.functional import cached_property
from psycopg_pool.base import AttemptWithBackoff

from apps.core.db import unavailable

HEALTH_CHECK_SECONDS = 1.0
# The pool's reconnection attempts keep their first delay (1 s, with jitter) instead of doubling it.
AttemptWithBackoff.DELAY_BACKOFF = 1.0


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
