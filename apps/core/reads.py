"""Reads shared by the runs a worker prepares together.

A burst of runs is claimed and prepared in batches (apps/conversations/services.py), and the
runs of one user in a batch ask the database the same questions: their skills, MCP servers,
toolkit profiles and default provider, and whether they have any document to search. Inside
:func:`shared_reads`, :func:`shared` answers each question once per batch; outside it (a
request, a listing) it simply reads. A batch's reads are all made at one moment, as the runs'
own reads would have been, so nothing is kept longer than the batch: nothing goes stale, and
there is nothing to invalidate.

Values are shared between the batch's runs: callers must treat them as read-only.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_state = threading.local()


@contextmanager
def shared_reads() -> Iterator[None]:
    """Share :func:`shared` reads in this thread until the block ends (nested blocks join the outer one)."""
    if getattr(_state, "memo", None) is not None:
        yield
        return
    _state.memo = {}
    try:
        yield
    finally:
        _state.memo = None


def shared(key: Hashable, read: Callable[[], T]) -> T:
    """``read()``, or inside :func:`shared_reads` the value an earlier call with ``key`` read."""
    memo = getattr(_state, "memo", None)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()  # a read that raises is not kept: the next caller reads again
    return memo[key]
