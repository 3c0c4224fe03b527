"""Server-sent events and NDJSON responses, with heartbeats on idle streams."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from django.db import connection
from django.http import StreamingHttpResponse

HEARTBEAT_SECONDS = 15.0

_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_frame(data: Any, *, event: str | None = None, id: str | int | None = None) -> str:
    """One SSE frame; ``data`` is JSON-encoded unless already a string."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    lines = []
    if id is not None:
        lines.append(f"id: {id}")
    if event:
        lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in payload.split("\n"))
    return "\n".join(lines) + "\n\n"


def sse_comment(text: str = "ping") -> str:
    return f": {text}\n\n"


def ndjson_line(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"


_END = object()


async def with_heartbeat(
    source: AsyncIterator[str], heartbeat: Callable[[], str], *, interval: float = HEARTBEAT_SECONDS
) -> AsyncIterator[str]:
    """Yield from ``source``; when it is silent for ``interval`` seconds, yield ``heartbeat()``.

    One task reads the source into a queue and one timer task adds a heartbeat when nothing
    came for ``interval``: an item costs a queue hand-over, not a task and a timer of its own
    (this runs once per frame of every open stream).
    """
    iterator = source.__aiter__()
    # Bounded: a client that reads slowly slows the source down instead of filling memory.
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
    loop = asyncio.get_running_loop()
    last = loop.time()

    async def pump() -> None:
        nonlocal last
        try:
            async for item in iterator:
                last = loop.time()
                await queue.put(item)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the reader, which raises it
            await queue.put(exc)
            return
        await queue.put(_END)

    async def beat() -> None:
        nonlocal last
        while True:
            await asyncio.sleep(max(0.0, last + interval - loop.time()))
            if loop.time() - last >= interval:
                last = loop.time()  # the next one is another ``interval`` of silence away
                if not queue.full():  # a full queue is no silence
                    queue.put_nowait(_Heartbeat)

    tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(beat())]
    try:
        while True:
            item = await queue.get()
            if item is _END:
                return
            if item is _Heartbeat:
                yield heartbeat()
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        for task in tasks:
            task.cancel()
        # The source runs until the cancellation lands; closing it sooner raises RuntimeError.
        await asyncio.wait(tasks)
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


class _Heartbeat:
    """The marker the timer task queues: the reader yields ``heartbeat()`` for it."""


def _release_request_connection() -> None:
    """Give the request's database connection back before its stream starts.

    Django returns it only when the response closes, that is when the stream ends: with a
    pool of 16 connections, the 17th concurrent stream would wait for a whole answer. The
    view that builds the stream has done (and committed) everything it needed.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        if not connection.in_atomic_block:
            connection.close()
    # An async view holds no connection of its own between its sync_to_async calls.


def sse_response(stream: AsyncIterator[str], *, status: int = 200) -> StreamingHttpResponse:
    _release_request_connection()
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8", status=status)
    for name, value in _STREAM_HEADERS.items():
        response[name] = value
    return response


def ndjson_response(stream: AsyncIterator[str], *, status: int = 200) -> StreamingHttpResponse:
    _release_request_connection()
    response = StreamingHttpResponse(stream, content_type="text/plain; charset=utf-8", status=status)
    for name, value in _STREAM_HEADERS.items():
        response[name] = value
    return response
