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


async def with_heartbeat(
    source: AsyncIterator[str], heartbeat: Callable[[], str], *, interval: float = HEARTBEAT_SECONDS
) -> AsyncIterator[str]:
    """Yield from ``source``; when it is silent for ``interval`` seconds, yield ``heartbeat()``."""
    iterator = source.__aiter__()
    pending: asyncio.Task | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                yield heartbeat()
                continue
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            finally:
                pending = None
            yield item
    finally:
        if pending is not None:
            pending.cancel()
            # The source runs until the cancellation lands; closing it sooner raises RuntimeError.
            await asyncio.wait({pending})
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


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
