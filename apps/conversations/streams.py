"""Reading a run's events from any index: replay what is kept, then follow live ones.

The reader subscribes before it reads the backlog and drops every sequence it has
already sent, so it has no gap and no duplicate whichever way the two race; a
live event that skips ahead makes it fill the hole from the kept list. A finished
run (or one whose live list has expired) is replayed from PostgreSQL, and a live reader
that loses Redis, or finds a hole the list cannot fill, follows PostgreSQL to the end.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.db import connection
from redis.exceptions import RedisError

from apps.conversations import livelog, selectors
from apps.conversations.models import AgentRun

logger = logging.getLogger(__name__)

#: The event type that ends every run; its data carries the final status.
END = "end"
#: How long a reader waits on silence before it checks the kept list and the run's status itself.
CATCH_UP_SECONDS = 5.0


def _call_and_close(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    try:
        return fn(**kwargs)
    finally:
        # An open stream must not pin a database connection for its whole life: with
        # hundreds of streams per process that would exhaust the server's connections.
        connection.close()


async def _db(fn: Callable[..., Any], **kwargs: Any) -> Any:
    return await sync_to_async(_call_and_close)(fn, kwargs)


def _key_ordered(value: Any) -> Any:
    """``value`` with every object's keys sorted.

    PostgreSQL's jsonb reorders keys (by length) while Redis keeps them as written; with
    one order for both, a replay renders the same bytes whichever store serves it.
    """
    if isinstance(value, dict):
        return {key: _key_ordered(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_key_ordered(item) for item in value]
    return value


def _same_everywhere(event: dict[str, Any]) -> dict[str, Any]:
    data = event["data"]
    if len(data) < 2 and not any(isinstance(value, dict | list) for value in data.values()):
        return event  # a token's {"content": ...}: already in the one order (the hot path)
    return {**event, "data": _key_ordered(data)}


async def run_events(*, run_id: str, after: int = 0, status: str | None = None) -> AsyncIterator[dict[str, Any]]:
    """Events of run ``run_id`` numbered above ``after``, ending with its ``end`` event.

    ``status`` is the run's status as the caller just read it, if it did. Queued or running
    is enough to follow the live list: a run that finishes meanwhile keeps that list
    (with its ``end``) for FINISHED_TTL_SECONDS.
    """
    async for batch in run_event_batches(run_id=run_id, after=after, status=status):
        for event in batch:
            yield event


async def run_event_batches(
    *, run_id: str, after: int = 0, status: str | None = None
) -> AsyncIterator[list[dict[str, Any]]]:
    """:func:`run_events` in the batches they arrive in, so a relay writes a batch at once."""
    run_id = str(run_id)
    if status is None:
        status = await _db(selectors.run_status, run_id=run_id)
    if status in AgentRun.FINISHED:
        yield [_same_everywhere(event) for event in await _db(selectors.run_events_after, run_id=run_id, after=after)]
        return
    last = after
    try:
        async with livelog.subscribed(livelog.run_channel(run_id)) as subscription:
            pending = await _live(livelog.read_events(run_id, last))
            while True:
                batch = []
                for event in pending:
                    if event["seq"] <= last:
                        continue
                    if event["seq"] != last + 1:
                        if batch:
                            yield batch
                        raise LiveLogGap(f"event {last + 1} is missing from the live log")
                    last = event["seq"]
                    batch.append(_same_everywhere(event))
                    if event["type"] == END:
                        yield batch
                        return
                if batch:
                    yield batch
                pending = await _next_events(subscription, run_id=run_id, last=last)
    except LIVE_LOG_ERRORS as exc:
        # Redis went away (or came back without what it held): every event is also kept in
        # PostgreSQL, so the stream goes on from there, without a gap or a repeat.
        logger.warning("run %s: live log unavailable after event %d (%s); following PostgreSQL", run_id, last, exc)
    async for event in _follow_database(run_id=run_id, last=last):
        yield [_same_everywhere(event)]


class LiveLogGap(Exception):
    """The live log lacks an event the reader needs next (Redis restarted empty, or an append failed)."""


#: What makes a reader leave the live log for PostgreSQL: Redis errors, a Redis call that
#: hangs past LIVE_CALL_SECONDS, or a hole in the list.
LIVE_LOG_ERRORS = (RedisError, OSError, TimeoutError, LiveLogGap)
LIVE_CALL_SECONDS = 5.0
#: How often a reader that follows PostgreSQL looks for new rows (the runner writes them every second).
POLL_SECONDS = 0.5


async def _live(call: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(call, timeout=LIVE_CALL_SECONDS)


async def _follow_database(*, run_id: str, last: int) -> AsyncIterator[dict[str, Any]]:
    """Events above ``last`` from PostgreSQL, in order, as the runner writes them, up to ``end``."""
    while True:
        finished = await _db(selectors.run_status, run_id=run_id) in AgentRun.FINISHED
        for event in await _db(selectors.run_events_after, run_id=run_id, after=last):
            if event["seq"] != last + 1:
                break  # a later batch landed first; the missing one follows
            last = event["seq"]
            yield event
            if event["type"] == END:
                return
        if finished:
            # Every row lands before the run is marked finished, so nothing more will come.
            return
        await asyncio.sleep(POLL_SECONDS)


async def _next_events(subscription: livelog.Subscription, *, run_id: str, last: int) -> list[dict[str, Any]]:
    """Every event announced since the last call (each message is a list of one run's events).

    A waiting reader sets a timer; one with messages queued (a busy process) takes them all at
    once, with no timer and no wait: this is the hot path of every stream.
    """
    queue = subscription.queue
    if queue.empty():
        try:
            events = list(await asyncio.wait_for(queue.get(), timeout=CATCH_UP_SECONDS))
        except TimeoutError:
            return await _catch_up(run_id=run_id, last=last)
    else:
        events = []
    while not queue.empty():
        events.extend(queue.get_nowait())
    if events and events[0]["seq"] > last + 1:
        # Announced before we subscribed, or lost with a dropped connection: take it from the list.
        return [*await _live(livelog.read_events(run_id, last)), *events]
    return events


async def _catch_up(*, run_id: str, last: int) -> list[dict[str, Any]]:
    kept = await _live(livelog.read_events(run_id, last))
    if kept:
        return kept
    status = await _db(selectors.run_status, run_id=run_id)
    if status in AgentRun.FINISHED:
        return await _db(selectors.run_events_after, run_id=run_id, after=last)
    return []


async def active_sessions(*, user: Any) -> AsyncIterator[dict[str, Any]]:
    """A snapshot of the user's running sessions, then one message per change."""
    async with livelog.subscribed(livelog.user_runs_channel(str(user.pk))) as subscription:
        runs = await _db(lambda user: list(selectors.runs_active(user=user)), user=user)
        yield {
            "type": "snapshot",
            "sessions": [
                {"session_id": run.thread_id, "run_id": str(run.pk), "status": run.status, "title": run.thread.title}
                for run in runs
            ],
        }
        while True:
            update = await subscription.queue.get()
            yield {"type": "session_update", **update}
