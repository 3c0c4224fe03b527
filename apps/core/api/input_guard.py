"""Refuse, at the edge, text that PostgreSQL cannot store: NUL and unpaired surrogates.

PostgreSQL refuses ``\\u0000`` in ``text`` and ``jsonb`` and psycopg cannot encode a lone
surrogate, so either one reaching a query became a ``DataError`` 500 after the view had
already done part of its work. One middleware checks the path, the query string and the
body (JSON or form) of every request before any view runs, and answers 400 in the error
shape of the API the route belongs to, naming the offending field. JSON numbers that no
column can hold (beyond a 64-bit integer, or infinite) are refused the same way.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.urls import Resolver404, resolve

from apps.core.api.styles import ApiStyle, ErrorInfo, style_for_path
from apps.core.limits import BIGINT_MAX, BIGINT_MIN

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "Must not contain NUL characters or unpaired surrogates."
NUMBER_MESSAGE = "Number out of range."
INLINE_CHECK_BYTES = 64 * 1024
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _walk_json(value: Any, name: str) -> Iterator[tuple[str, str]]:
    """``(field, message)`` for each unstorable string or number inside a decoded JSON value."""
    if isinstance(value, str):
        if _UNSTORABLE.search(value):
            yield name, UNSTORABLE_MESSAGE
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not BIGINT_MIN <= value <= BIGINT_MAX:
            yield name, NUMBER_MESSAGE
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield name, NUMBER_MESSAGE
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{name}.{key}" if name else str(key)
            if _UNSTORABLE.search(key):
                yield child.replace("\x00", "\\u0000"), UNSTORABLE_MESSAGE
            yield from _walk_json(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk_json(item, f"{name}[{index}]" if name else f"[{index}]")


def _walk_pairs(pairs: Any) -> Iterator[tuple[str, str]]:
    for key, values in pairs.lists():
        if _UNSTORABLE.search(key):
            yield _printable(key), UNSTORABLE_MESSAGE
        for item in values:
            text = item if isinstance(item, str) else getattr(item, "name", "") or ""
            if _UNSTORABLE.search(text):
                yield _printable(key), UNSTORABLE_MESSAGE


def _printable(name: str) -> str:
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", name)


def _body_problems(request: HttpRequest, view_class: type | None) -> Iterator[tuple[str, str]]:
    content_type = (request.content_type or "").lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        if not request.body:
            return
        try:
            # Same refusal of NaN/Infinity as DRF's parser; a malformed body is left to DRF's 400.
            data = json.loads(request.body, parse_constant=_refuse_constant)
        except ValueError:
            return
        yield from ((_printable(name), message) for name, message in _walk_json(data, ""))
    elif content_type in _FORM_TYPES and request.method not in ("GET", "HEAD") and _parses(view_class, content_type):
        # Django parses the form once; DRF reuses request.POST/FILES parsed here.
        yield from _walk_pairs(request.POST)
        yield from _walk_pairs(request.FILES)


def _parses(view_class: type | None, content_type: str) -> bool:
    """Whether the view reads this form type; a JSON-only view answers 415 itself, unparsed."""
    parsers = getattr(view_class, "parser_classes", None)
    if parsers is None:
        return True
    return any(parser.media_type == content_type for parser in parsers)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _view_class(request: HttpRequest) -> type | None:
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None
    return getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)


def request_problems(request: HttpRequest, view_class: type | None = None) -> dict[str, list[str]]:
    """Every field of ``request`` that could not be stored, as ``{field: [message]}``."""
    problems: dict[str, list[str]] = {}
    if _UNSTORABLE.search(request.path):
        problems["path"] = [UNSTORABLE_MESSAGE]
    for name, message in (*_walk_pairs(request.GET), *_body_problems(request, view_class)):
        problems.setdefault(name or "body", [message])
    return problems


def style_for_view(request: HttpRequest, view_class: type | None) -> ApiStyle:
    """The API style of the view that answers ``request``, else the one its path implies."""
    return getattr(view_class, "api_style", None) or style_for_path(request.path)


def _refusal(request: HttpRequest, view_class: type | None, problems: dict[str, list[str]]) -> HttpResponse:
    message = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in problems.items())
    info = ErrorInfo(400, message, "invalid", problems)
    return JsonResponse(style_for_view(request, view_class).error_body(request, info), status=400)


def _check(request: HttpRequest) -> HttpResponse | None:
    view_class = _view_class(request)
    try:
        problems = request_problems(request, view_class)
    except RequestDataTooBig:
        raise
    except (MultiPartParserError, ValueError) as exc:
        problems = {"body": [f"Malformed form body: {exc}"]}
    return _refusal(request, view_class, problems) if problems else None


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class InputGuardMiddleware:
    """Answer 400 before any view for a request carrying text or numbers the database cannot hold."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        return _check(request) or self.get_response(request)

    async def __acall__(self, request: HttpRequest) -> Any:
        # ASGI has spooled the body before the request exists, so a small one is checked on
        # the loop; a large one (an upload) is parsed in a thread to keep the streams moving.
        if _content_length(request) > INLINE_CHECK_BYTES:
            refusal = await sync_to_async(_check)(request)
        else:
            refusal = _check(request)
        return refusal or await self.get_response(request)
