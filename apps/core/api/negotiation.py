"""Content negotiation for stream routes: a streaming client's ``Accept`` never costs it a 406.

DRF negotiates against the view's renderers (JSON) before the view runs, so a client that
sends ``Accept: text/event-stream`` (EventSource, fetch-event-source) or
``application/x-ndjson`` was refused, although the view answers with exactly that stream.
On these routes the stream is the answer whatever ``Accept`` says; errors before the first
byte still come as the API's JSON error shape with their real status.
"""
from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class StreamContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: str | None = None) -> tuple[Any, str]:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


class StreamingRouteMixin:
    """For a view whose success body is SSE or NDJSON (see :class:`StreamContentNegotiation`)."""

    content_negotiation_class = StreamContentNegotiation
