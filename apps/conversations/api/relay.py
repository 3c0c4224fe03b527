"""Turn a run's events into a streaming HTTP response, in whichever API's format (or wait for all of them).

The view has already authenticated the caller and checked the run is theirs; the
body streams from an async iterator, so an open stream costs a coroutine, not a thread.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from django.db import connection
from django.http import StreamingHttpResponse

from apps.conversations import services, streams
from apps.conversations.api.render import Renderer
from apps.core.streaming import ndjson_response, sse_response, with_heartbeat

logger = logging.getLogger(__name__)


def _stop_detached(run_id: str) -> None:
    try:
        services.run_request_stop_by_id(run_id=run_id)
    finally:
        connection.close()  # an executor thread keeps no connection


def _stop_in_background(run_id: str) -> None:
    asyncio.get_running_loop().run_in_executor(None, _stop_detached, run_id)


async def _frames(
    *, run_id: str, after: int, status: str | None, render: Renderer, stop_on_disconnect: bool
) -> AsyncIterator[str]:
    try:
        # A batch (the events that reached this process together) goes out as one write.
        async for batch in streams.run_event_batches(run_id=run_id, after=after, status=status):
            frames = [frame for event in batch for frame in render(event)]
            if frames:
                yield "".join(frames)
    except (asyncio.CancelledError, GeneratorExit):
        # The client went away mid-run; where the document says the session ends with it, stop it.
        if stop_on_disconnect:
            _stop_in_background(run_id)
        raise


async def events_to_end(
    *, run_id: str, status: str | None = None, on_event: Callable[[dict[str, Any]], Awaitable[None]] | None = None
) -> list[dict[str, Any]]:
    """Every event of the run up to its ``end``, for an answer sent whole rather than streamed.

    Awaited in an async view, so a waiting request holds no thread. A client that leaves
    first cancels the wait (Django's ASGI handler does so on disconnect), which stops the run.
    ``on_event`` sees each event as it comes (an MCP tool call reports progress with it).
    """
    events = []
    try:
        async for event in streams.run_events(run_id=str(run_id), status=status):
            events.append(event)
            if on_event is not None:
                await on_event(event)
        return events
    except asyncio.CancelledError:
        _stop_in_background(str(run_id))
        raise


def relay(
    *,
    run_id: str,
    render: Renderer,
    heartbeat: Callable[[], str],
    after: int = 0,
    status: str | None = None,
    ndjson: bool = False,
    stop_on_disconnect: bool = False,
) -> StreamingHttpResponse:
    # ``status`` is what the view read with the run; it spares the stream a database round trip.
    frames = _frames(
        run_id=str(run_id), after=after, status=status, render=render, stop_on_disconnect=stop_on_disconnect
    )
    stream = with_heartbeat(frames, heartbeat)
    return ndjson_response(stream) if ndjson else sse_response(stream)
