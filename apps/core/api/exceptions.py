"""One exception handler for every API: the right status, the right shape, never a raw 500."""
from __future__ import annotations

import logging
import math
import sys
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.http.request import RawPostDataException
from rest_framework import exceptions as drf
from rest_framework.response import Response

from apps.core import db
from apps.core.api.styles import ApiStyle, ErrorInfo, style_for_path
from apps.core.errors import ServiceError, TooManyRequests

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The database is unavailable; try again in a few seconds."
#: What a 503 for an unavailable database tells clients to wait before retrying.
DATABASE_RETRY_AFTER_SECONDS = 5


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as ``{"field.sub": ["message", ...]}``."""
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten(value, name))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return {prefix or "non_field_errors": [str(item) for item in detail]}
        out = {}
        for index, item in enumerate(detail):
            out.update(_flatten(item, f"{prefix}[{index}]" if prefix else str(index)))
        return out
    return {prefix or "non_field_errors": [str(detail)]}


def _summary(field_errors: dict[str, list[str]]) -> str:
    parts = []
    for field, messages in field_errors.items():
        text = " ".join(messages)
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return "; ".join(parts) or "Invalid input."


def error_info(exc: Exception) -> ErrorInfo:
    """Classify ``exc`` as an HTTP error; anything unknown becomes a logged 500."""
    if isinstance(exc, ServiceError):
        return ErrorInfo(exc.status, exc.message, exc.code, exc.field_errors)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return ErrorInfo(400, _summary(fields), "invalid", fields)
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return ErrorInfo(404, "Not found.", "not_found")
    if isinstance(exc, DjangoPermissionDenied):
        return ErrorInfo(403, "You do not have permission to perform this action.", "permission_denied")
    if isinstance(exc, drf.ValidationError):
        fields = _flatten(exc.detail)
        return ErrorInfo(400, _summary(fields), "invalid", fields)
    if isinstance(exc, drf.APIException):
        detail = exc.detail
        message = _summary(_flatten(detail)) if isinstance(detail, (dict, list)) else str(detail)
        code = detail.code if hasattr(detail, "code") else exc.default_code
        return ErrorInfo(exc.status_code, message, str(code))
    if isinstance(exc, RawPostDataException):
        # A route that reads its raw body (a signed webhook) was sent a form, which is parsed as it streams in.
        return ErrorInfo(400, "This route takes a raw body (e.g. JSON), not form data.", "invalid")
    if isinstance(exc, (OperationalError, InterfaceError)):
        # PostgreSQL restarting or out of connections: the same request works again shortly,
        # and the next request reconnects (CONN_HEALTH_CHECKS, the pool's checks).
        logger.warning("database unavailable: %s", exc)
        return ErrorInfo(503, DATABASE_UNAVAILABLE, "database_unavailable")
    if isinstance(exc, DataError):
        # The edge bounds what clients send (apps.core.api.input_guard, apps.core.limits); a
        # value that still does not fit its column is the client's, and must not be a 500.
        logger.warning("database refused a value: %s", exc)
        return ErrorInfo(400, "A value does not fit its field.", "invalid")
    logger.exception("unhandled error", exc_info=exc)
    return ErrorInfo(500, "Internal server error.", "server_error")


def error_response(request: Any, exc: Exception, style: ApiStyle) -> Response:
    info = error_info(exc)
    response = Response(style.error_body(request, info), status=info.status)
    response.is_error = True
    if info.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    wait = getattr(exc, "wait", None) or getattr(exc, "retry_after", None)
    if info.status == 429 and wait is not None:
        response["Retry-After"] = str(math.ceil(wait))
    elif isinstance(exc, TooManyRequests) and exc.retry_after:
        response["Retry-After"] = str(exc.retry_after)
    elif info.code == "database_unavailable":
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    request = context.get("request")
    view = context.get("view")
    style = getattr(view, "api_style", None) or style_for_path(getattr(request, "path", ""))
    if isinstance(exc, (drf.NotAuthenticated, drf.AuthenticationFailed)):
        # DRF answers 403 when the first authenticator has no header; our APIs say 401.
        exc.status_code = 401
    return error_response(request, exc, style)


def _plain_json(request: HttpRequest, status: int, message: str, code: str) -> JsonResponse:
    style = style_for_path(request.path)
    return JsonResponse(style.error_body(request, ErrorInfo(status, message, code)), status=status)


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _plain_json(request, 404, "Not found.", "not_found")


def database_unavailable_body(path: str) -> dict[str, Any]:
    """The 503 of an unreachable database in the error shape of the API ``path`` belongs to."""
    request = HttpRequest()
    request.path = path
    return style_for_path(path).error_body(request, ErrorInfo(503, DATABASE_UNAVAILABLE, "database_unavailable"))


def server_error_view(request: HttpRequest) -> JsonResponse:
    """Django's handler500: an error raised outside DRF (a middleware, a Django view).

    An unreachable database is a 503 with Retry-After here too, as in DRF's views. Under ASGI
    this view runs on another thread than the error, without ``sys.exc_info()``; the database
    backend noted the failure for this request then (``apps.core.db.unavailable``).
    """
    error = sys.exc_info()[1]
    if isinstance(error, (OperationalError, InterfaceError)) or (error is None and db.unavailable.get()):
        response = JsonResponse(database_unavailable_body(request.path), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    return _plain_json(request, 500, "Internal server error.", "server_error")


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _plain_json(request, 400, "Bad request.", "bad_request")


def permission_denied_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _plain_json(request, 403, "You do not have permission to perform this action.", "permission_denied")
