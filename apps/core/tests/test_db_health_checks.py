"""The database backend (apps/core/db): a kept connection that PostgreSQL dropped is replaced in
threads that never start or end a request (the run worker's), not only per request."""
from __future__ import annotations

import time
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
