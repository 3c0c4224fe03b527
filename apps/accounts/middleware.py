"""Records every mutating API call in the operation log, with secrets removed from the body."""
from __future__ import annotations

import json
import time
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse

from apps.core.client_ip import client_ip

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SKIPPED_PREFIXES = ("/admin/", "/static/", "/media/")
SECRET_MARKERS = ("password", "token", "secret", "key", "code", "authorization", "credential")
MAX_LOGGED_BODY = 64 * 1024


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "***" if any(marker in str(key).lower() for marker in SECRET_MARKERS) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _body(request: HttpRequest) -> Any:
    if not request.content_type or "json" not in request.content_type:
        return None
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length == 0 or length > MAX_LOGGED_BODY:
        return None
    try:
        return redact(json.loads(request.body))
    except (ValueError, UnicodeDecodeError):
        return None


def _record(request: HttpRequest, response: HttpResponse, started: float, body: Any) -> None:
    from apps.accounts.services.logs import operation_log_record

    user = getattr(request, "user", None)
    operation_log_record(
        user=user if user is not None and user.is_authenticated else None,
        method=request.method or "",
        path=request.path,
        status_code=response.status_code,
        ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        duration_ms=int((time.monotonic() - started) * 1000),
        body=body,
    )


class OperationLogMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _wanted(self, request: HttpRequest) -> bool:
        return request.method in MUTATING_METHODS and not request.path.startswith(SKIPPED_PREFIXES)

    @staticmethod
    def _logged(response: HttpResponse) -> bool:
        # A stream that started is a run, and its AgentRun row already records who started what,
        # where and when; a row here too would cost every chat a write (and, after the stream
        # released its connection, a second connection for the stream's whole life).
        return not (getattr(response, "streaming", False) and response.status_code < 400)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        if not self._wanted(request):
            return self.get_response(request)
        started, body = time.monotonic(), _body(request)
        response = self.get_response(request)
        if self._logged(response):
            _record(request, response, started, body)
        return response

    async def __acall__(self, request: HttpRequest) -> Any:
        if not self._wanted(request):
            return await self.get_response(request)
        started, body = time.monotonic(), _body(request)
        response = await self.get_response(request)
        if self._logged(response):
            await sync_to_async(_record)(request, response, started, body)
        return response
