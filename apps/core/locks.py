"""PostgreSQL session advisory locks: held across transactions, gone with a killed process's connection."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def uuid_lock_key(value: uuid.UUID | str) -> int:
    """A 64-bit advisory lock key from a UUID (its first eight bytes)."""
    return int.from_bytes(uuid.UUID(str(value)).bytes[:8], "big", signed=True)


@contextmanager
def advisory_lock(key: int) -> Iterator[bool]:
    """Try the session lock ``key`` without waiting; yields whether it was acquired.

    Unlike a row lock it needs no open transaction, so slow work (a model call) can run
    under it without holding a transaction open; it never goes stale after a crash.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
