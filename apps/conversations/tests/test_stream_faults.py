"""A live reader that loses Redis, or finds a hole in the live list, follows PostgreSQL to the end.

No index is lost or repeated either way (the kill -9 of a real Redis mid-stream is
bench/redis_fault.py; it takes too long for the suite).
"""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from asgiref.sync import sync_to_async

from apps.conversations import livelog, streams
from apps.conversations.models import AgentRun, RunEvent
from apps.conversations.tests.factories import AgentRunFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _event(seq: int, kind: str = "content") -> dict:
    data = {"status": "completed"} if kind == "end" else {"content": f"w{seq} "}
    return {"seq": seq, "type": kind, "data": data, "ts": 1_800_000_000.0 + seq}


def _keep(run: AgentRun, events: list[dict]) -> None:
    RunEvent.objects.bulk_create([
        RunEvent(run=run, sequence=e["seq"], type=e["type"], payload=e["data"],
                 created_at=datetime.fromtimestamp(e["ts"], tz=UTC))
        for e in events
    ])


async def _read(run_id: str) -> list[int]:
    return [event["seq"] async for event in streams.run_events(run_id=run_id, status=AgentRun.Status.RUNNING)]


async def test_a_hole_in_the_live_list_is_filled_from_postgresql(alice):
    run = await sync_to_async(AgentRunFactory)(thread__owner=alice, status=AgentRun.Status.RUNNING)
    events = [_event(n) for n in range(1, 6)] + [_event(6, "end")]
    await sync_to_async(_keep)(run, events)
    await sync_to_async(AgentRun.objects.filter(pk=run.pk).update)(status=AgentRun.Status.COMPLETED)
    # Event 3's live append failed (Redis was away): the list holds 1, 2, 4, 5, 6.
    for event in events:
        if event["seq"] != 3:
            livelog.append_event(str(run.pk), event)
    await livelog.flush_appends()
    assert await asyncio.wait_for(_read(str(run.pk)), timeout=30) == [1, 2, 3, 4, 5, 6]


async def test_a_reader_without_redis_follows_postgresql_while_the_run_goes_on(alice, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there: Redis is down
    livelog._hubs.clear()
    run = await sync_to_async(AgentRunFactory)(thread__owner=alice, status=AgentRun.Status.RUNNING)
    await sync_to_async(_keep)(run, [_event(1), _event(2)])
    seen: list[int] = []

    async def read() -> None:
        async for event in streams.run_events(run_id=str(run.pk), status=AgentRun.Status.RUNNING):
            seen.append(event["seq"])

    reader = asyncio.create_task(read())
    for _ in range(200):
        if len(seen) == 2:
            break
        await asyncio.sleep(0.05)
    assert seen == [1, 2]
    # The runner goes on writing batches; one lands before the other.
    await sync_to_async(_keep)(run, [_event(4), _event(5, "end")])
    await asyncio.sleep(streams.POLL_SECONDS * 3)
    assert seen == [1, 2], "4 must wait for 3"
    await sync_to_async(_keep)(run, [_event(3)])
    await sync_to_async(AgentRun.objects.filter(pk=run.pk).update)(status=AgentRun.Status.COMPLETED)
    await asyncio.wait_for(reader, timeout=30)
    assert seen == [1, 2, 3, 4, 5]
    livelog._hubs.clear()


async def test_readers_subscribing_at_once_on_a_cold_process_all_hear_their_runs(settings):
    # A process's first burst of streams: every reader subscribes before the one pub/sub
    # connection exists. Each must be heard on it at once, not after CATCH_UP_SECONDS.
    if not settings.REDIS_AVAILABLE:
        pytest.skip("the pub/sub hub is Redis's")
    livelog._hubs.clear()
    channels = [f"cold-burst-{n}" for n in range(50)]

    async def listen(channel: str) -> list:
        async with livelog.subscribed(channel) as subscription:
            await ready.wait()
            return await asyncio.wait_for(subscription.queue.get(), timeout=2)

    ready = asyncio.Event()
    readers = [asyncio.create_task(listen(channel)) for channel in channels]
    hub = livelog._hub()
    while len(hub.subscribers) < len(channels):
        await asyncio.sleep(0.01)
    for channel in channels:
        await sync_to_async(livelog.publish)(channel, [{"channel": channel}])
    ready.set()
    assert [message[0]["channel"] for message in await asyncio.gather(*readers)] == channels
    await hub.pubsub.aclose()
    livelog._hubs.clear()
