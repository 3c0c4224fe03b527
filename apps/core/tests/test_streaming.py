"""apps.core.streaming: frames, and heartbeats while a source is silent."""
from __future__ import annotations

import asyncio

import pytest

from apps.core.streaming import ndjson_line, ndjson_response, sse_frame, sse_response, with_heartbeat


def test_an_sse_frame_carries_id_event_and_json_data():
    assert sse_frame({"a": 1}, event="message", id=3) == 'id: 3\nevent: message\ndata: {"a":1}\n\n'
    assert sse_frame("line one\nline two") == "data: line one\ndata: line two\n\n"


def test_an_ndjson_line_is_one_json_object_and_a_newline():
    assert ndjson_line({"type": "stream_end", "text": "é"}) == '{"type":"stream_end","text":"é"}\n'


async def _empty():
    return
    yield  # pragma: no cover — makes this an async generator


def test_stream_responses_disable_caching_and_proxy_buffering():
    sse = sse_response(_empty())
    ndjson = ndjson_response(_empty())
    assert sse["Content-Type"].startswith("text/event-stream")
    assert ndjson["Content-Type"].startswith("text/plain")
    for response in (sse, ndjson):
        assert response["Cache-Control"] == "no-cache"
        assert response["X-Accel-Buffering"] == "no"


async def test_it_sends_a_heartbeat_while_the_source_is_silent_and_then_resumes():
    gate = asyncio.Event()

    async def source():
        yield "first"
        await gate.wait()
        yield "second"

    stream = with_heartbeat(source(), lambda: "ping", interval=0.01)
    assert await anext(stream) == "first"
    assert await anext(stream) == "ping"
    gate.set()
    received = await anext(stream)
    while received == "ping":  # heartbeats already due before the gate opened
        received = await anext(stream)
    assert received == "second"
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_closing_the_stream_closes_its_source():
    closed = asyncio.Event()

    async def source():
        try:
            yield "only"
            await asyncio.Event().wait()
        finally:
            closed.set()

    stream = with_heartbeat(source(), lambda: "ping", interval=0.01)
    assert await anext(stream) == "only"
    assert await anext(stream) == "ping"
    await stream.aclose()
    assert closed.is_set()


async def test_a_busy_source_gets_no_heartbeats():
    async def source():
        for item in ("a", "b", "c"):
            yield item

    assert [item async for item in with_heartbeat(source(), lambda: "ping", interval=60)] == ["a", "b", "c"]
