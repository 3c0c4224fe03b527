"""The five APIs' edges: each one's error body and success envelope, written once.

The OpenAI-compatible ``/v1`` routes have an edge of their own here too.
A view names its API with ``api_style``; the exception handler and the Sage
envelope read it from there. Requests that never reach a view (an unknown URL)
are matched by path with :func:`style_for_path`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class ErrorInfo:
    status: int
    message: str
    code: str
    field_errors: dict[str, list[str]] | None = None


class ApiStyle:
    """A documented API's edge; the base renders 000's and 004's ``{"detail"}``."""

    name = "codex"
    wraps_success = False

    def error_body(self, request: Any, error: ErrorInfo) -> dict[str, Any]:
        body: dict[str, Any] = {"detail": error.message}
        if error.field_errors:
            body["errors"] = error.field_errors
        return body

    def success_body(self, data: Any, *, status: int, message: str = "success") -> Any:
        return data


class CodexStyle(ApiStyle):
    """000 — CodexEngine: ``{"detail": "..."}``."""


class PlatformStyle(ApiStyle):
    """004 — agent platform: ``{"detail": "..."}``."""

    name = "platform"

    def error_body(self, request: Any, error: ErrorInfo) -> dict[str, Any]:
        body = super().error_body(request, error)
        if error.status == 402:
            # 004 names the reason in ``error`` (``insufficient_credits``), beside the usual ``detail``.
            body = {"error": error.code, **body}
        return body


class AdminStyle(ApiStyle):
    """003 — agents backend: ``{"detail", "code"}``."""

    name = "admin"

    def error_body(self, request: Any, error: ErrorInfo) -> dict[str, Any]:
        body = super().error_body(request, error)
        body["code"] = error.code.upper()
        return body


class TaskStyle(ApiStyle):
    """001 — task agent: ``{path, message, statusCode, timestamp, validationErrors?}``."""

    name = "task"

    def error_body(self, request: Any, error: ErrorInfo) -> dict[str, Any]:
        body: dict[str, Any] = {
            "path": getattr(request, "path", ""),
            "message": error.message,
            "statusCode": error.status,
            "timestamp": timezone.now().isoformat(),
        }
        if error.field_errors:
            body["validationErrors"] = [
                {"field": field, "message": " ".join(messages)} for field, messages in error.field_errors.items()
            ]
        return body


class SageStyle(ApiStyle):
    """002 — Sage: ``BaseResponse {code, message, data, timestamp}``; HTTP status equals ``code``."""

    name = "sage"
    wraps_success = True

    def error_body(self, request: Any, error: ErrorInfo) -> dict[str, Any]:
        return {
            "code": error.status,
            "message": error.message,
            "data": {"errors": error.field_errors} if error.field_errors else None,
            "timestamp": time.time(),
        }

    def success_body(self, data: Any, *, status: int, message: str = "success") -> dict[str, Any]:
        return {"code": status, "message": message, "data": data, "timestamp": time.time()}


class OpenAIStyle(ApiStyle):
    """The OpenAI-compatible ``/v1``: ``{"error": {message, type, param, code}}`` as OpenAI sends it.

    Clients (the openai SDKs among them) pick their exception by the HTTP status; ``type``
    and ``code`` use OpenAI's words where one fits, so client code written for OpenAI works.
    """

    name = "openai"
    _CODES = {
        "not_authenticated": "invalid_api_key",
        "authentication_failed": "invalid_api_key",
        "token_not_valid": "invalid_api_key",
        "invalid_api_key": "invalid_api_key",
        "throttled": "rate_limit_exceeded",
        "invalid": None,
        "parse_error": None,
    }

    def error_body(self, request: Any, error: ErrorInfo) -> dict[str, Any]:
        if error.status == 429:
            kind = "requests"
        elif error.status >= 500:
            kind = "server_error"
        else:
            kind = "invalid_request_error"
        field = next(iter(error.field_errors), None) if error.field_errors else None
        if field is not None:
            # OpenAI names the parameter at fault ("messages[0].role"), never a "non_field_errors".
            field = field.removesuffix("non_field_errors").removesuffix(".") or None
        return {
            "error": {
                "message": error.message,
                "type": kind,
                "param": field,
                "code": self._CODES.get(error.code, error.code),
            }
        }


CODEX = CodexStyle()
TASK = TaskStyle()
SAGE = SageStyle()
ADMIN = AdminStyle()
PLATFORM = PlatformStyle()
OPENAI = OpenAIStyle()

_TASK_PREFIXES = ("/auth/", "/users/", "/api/tasks", "/api/documents", "/api/chunks")
_PLATFORM_PREFIXES = (
    "/api/health",
    "/api/projects",
    "/api/threads",
    "/api/thread/",
    "/api/models/",
    "/api/agent-run/",
    "/api/agent/initiate",
    "/api/project/",
    "/api/sandboxes/",
    "/api/billing/",
    "/api/composio",
    "/api/webhooks/",
    "/api/send-welcome-email",
    "/api/feature-flags",
    "/api/inngest",
)


def style_for_path(path: str) -> ApiStyle:
    """The API a path belongs to, for responses made before any view runs."""
    if path.startswith("/v1/"):
        return OPENAI
    if path.startswith("/api/keys"):
        return CODEX
    if path.startswith(("/api/v1/", "/health")):
        return ADMIN
    if path.startswith(_TASK_PREFIXES):
        return TASK
    if path.startswith(_PLATFORM_PREFIXES):
        return PLATFORM
    if path.startswith(("/api/", "/oauth2/", "/.well-known/")):
        return SAGE
    return CODEX
