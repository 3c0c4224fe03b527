"""apps/core/reads.py: a read answered once per batch of runs, and only inside the batch."""
from __future__ import annotations

import threading

import pytest

from apps.core.reads import shared, shared_reads


def _counter():
    calls = []

    def read() -> list[int]:
        calls.append(1)
        return [len(calls)]

    return calls, read


def test_outside_a_batch_every_call_reads():
    calls, read = _counter()
    assert shared("k", read) == [1] and shared("k", read) == [2]
    assert len(calls) == 2


def test_inside_a_batch_one_read_per_key_and_none_kept_after_it():
    calls, read = _counter()
    with shared_reads():
        first = shared("k", read)
        assert shared("k", read) is first
        assert shared(("other", 1), read) == [2]
        with shared_reads():  # a nested block is the same batch
            assert shared("k", read) is first
    assert len(calls) == 2
    assert shared("k", read) == [3]  # the batch is over: read again


def test_a_read_that_raises_is_not_kept():
    attempts = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database hiccup")
        return "rows"

    with shared_reads():
        with pytest.raises(RuntimeError):
            shared("k", flaky)
        assert shared("k", flaky) == "rows"


def test_a_batch_belongs_to_its_thread():
    calls, read = _counter()
    seen = []
    with shared_reads():
        shared("k", read)
        other = threading.Thread(target=lambda: seen.append(shared("k", read)))
        other.start()
        other.join()
    assert seen == [[2]] and len(calls) == 2
