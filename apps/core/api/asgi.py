"""The outermost ASGI layer: an unreachable database is a 503 on paths Django does not handle.

Django turns every error of its own views and middleware into a response (handler500 makes an
unreachable database a 503 there). ASGI code beside Django, such as the preview proxy, has no
such handler: an OperationalError raised there reached daphne, which answered a bare 500.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from django.db import InterfaceError, OperationalError

from apps.core.api.exceptions import DATABASE_RETRY_AFTER_SECONDS, database_unavailable_body

logger = logging.getLogger(__name__)


def database_guard(application: Any) -> Any:
    async def guarded(scope: dict, receive: Any, send: Any) -> None:
        started = False

        async def send_tracked(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await application(scope, receive, send_tracked)
        except (OperationalError, InterfaceError) as exc:
            if scope["type"] != "http" or started:
                raise
            logger.warning("database unavailable: %s", exc)
            body = json.dumps(database_unavailable_body(scope["path"])).encode()
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(DATABASE_RETRY_AFTER_SECONDS).encode()), (b"cache-control", b"no-store"),
            ]})
            await send({"type": "http.response.body", "body": body})

    return guarded
