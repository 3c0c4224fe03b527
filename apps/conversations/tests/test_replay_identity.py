"""A replay of a run's events gives the same bytes at every index, whether Redis or PostgreSQL serves it.

PostgreSQL's jsonb does not keep key order (it sorts keys by length), so a ``usage``
event kept as ``{"model", "input_tokens", "output_tokens", "cached_tokens", ...}``
came back from the database as ``{"model", "input_tokens", "cached_tokens", ...}``,
and the final ``token_usage`` line differed between the two replays.
"""
from __future__ import annotations

import pytest

from apps.conversations import livelog, streams
from apps.conversations.api import render
from apps.conversations.models import AgentRun
from apps.conversations.runner import RunRecorder
from apps.conversations.tests.factories import AgentRunFactory

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = [
    ("status", {"step": "agent", "content": "Thinking"}),
    ("tool_call", {"id": "c1", "tool": "calculator", "arguments": {"expression": "1+1", "a": 1}}),
    ("content", {"content": "Two."}),
    ("usage", {"model": "fake", "input_tokens": 20, "output_tokens": 5, "cached_tokens": 0, "reasoning_tokens": 0}),
    ("end", {"status": "completed", "usage": {"total_tokens": 25, "steps": 1, "models": ["fake"]}}),
]


async def _lines(run_id: str, *, after: int, status: str) -> list[str]:
    renderer = render.sage(render.StreamContext(thread_id="sess", message_id="m1", agent_name="A"))
    return [line async for event in streams.run_events(run_id=run_id, after=after, status=status)
            for line in renderer(event)]


async def test_redis_and_postgres_replays_are_byte_identical_at_every_index(alice):
    from asgiref.sync import sync_to_async

    run = await sync_to_async(AgentRunFactory)(thread__owner=alice, status=AgentRun.Status.RUNNING)
    run_id = str(run.pk)
    recorder = RunRecorder(run_id)
    for kind, data in EVENTS:
        recorder.emit(kind, data)
    await livelog.flush_appends()
    await sync_to_async(recorder.flush_now)()
    for after in range(len(EVENTS)):
        live = await _lines(run_id, after=after, status=AgentRun.Status.RUNNING)
        kept = await _lines(run_id, after=after, status=AgentRun.Status.COMPLETED)
        assert live == kept, f"after={after}"
        assert len(live) == len(EVENTS) - after
    assert '"type":"token_usage"' in (await _lines(run_id, after=3, status=AgentRun.Status.COMPLETED))[0]
