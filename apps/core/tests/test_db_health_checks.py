"""The database backend (apps/core/db): a kept connection that PostgreSQL dropped is replaced in
threads that never start or end a request (the run worker's), not only per request."""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.core.db import base

pytestmark = [pytest.mark.django_db(transaction=True)]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_long_lived_thread_replaces_a_connection_postgresql_dropped(monkeypatch):
    monkeypatch.setattr(base, "HEALTH_CHECK_SECONDS", 0.2)
    thread = ThreadPoolExecutor(max_workers=1)  # one thread, as a run worker's database thread
    try:
        first = thread.submit(_backend_pid).result()
        assert thread.submit(_backend_pid).result() == first  # kept between calls
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first])  # what a restart does to it
        time.sleep(0.3)
        second = thread.submit(_backend_pid).result()
        assert second != first
    finally:
        thread.submit(lambda: connection.close()).result()
        thread.shutdown()


def test_it_checks_at_most_every_health_check_seconds(monkeypatch):
    monkeypatch.setattr(base, "HEALTH_CHECK_SECONDS", 60)
    checks = []
    monkeypatch.setattr(base.DatabaseWrapper, "is_usable", lambda self: checks.append(1) or True)
    for _ in range(5):
        _backend_pid()
    assert len(checks) <= 1


def _terminate(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
                       [application_name])
        return cursor.fetchone()[0]


def test_a_checkout_goes_past_every_connection_a_restart_killed_at_once():
    # A daphne with no request during an outage still holds all its kept connections when
    # PostgreSQL is back; psycopg_pool's own checkout slept a second after each dead one it found
    # (its ConnectionPool here: 2.8 s).
    name = f"codex-pool-test-{uuid.uuid4().hex[:8]}"
    params = {**connection.get_connection_params(), "autocommit": True, "application_name": name}
    pool = base.CheckedPool(kwargs=params, min_size=4, max_size=4, timeout=3,
                            check=base.ConnectionPool.check_connection, open=True)
    try:
        pool.wait(timeout=10)
        assert _terminate(name) == 4  # what a restart does to every kept connection
        time.sleep(0.2)
        started = time.monotonic()
        with pool.connection() as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        assert time.monotonic() - started < 1.0
    finally:
        pool.close()
