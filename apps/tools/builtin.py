"""The built-in tools: the current time, a calculator and a safe URL fetcher."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.core.fetch import FetchRefused, fetch
from apps.tools.isolation import run_isolated
from apps.tools.registry import ToolContext, ToolFailed, register


@register(
    "calculator",
    description="Evaluate an arithmetic expression, e.g. '(2 + 3) * 4' or 'sqrt(2) ** 2'.",
    parameters={
        "type": "object",
        "properties": {"expression": {"type": "string", "description": "The arithmetic expression."}},
        "required": ["expression"],
    },
)
async def calculator(params: dict[str, Any], context: ToolContext) -> str:
    # Bounded arithmetic, and in a child process with a time limit: a slip in a bound still
    # cannot hold this process's GIL (and every stream it serves).
    return await run_isolated("apps.tools.calc", "calculate", params["expression"])


@register(
    "current_time",
    description="The current date and time, in UTC or a given IANA time zone.",
    parameters={
        "type": "object",
        "properties": {"timezone": {"type": "string", "description": "An IANA time zone such as Europe/Paris."}},
    },
)
async def current_time(params: dict[str, Any], context: ToolContext) -> str:
    name = params.get("timezone") or "UTC"
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolFailed(f"Unknown time zone: {name}.") from exc
    return datetime.now(zone).strftime(f"%Y-%m-%d %H:%M:%S {name}")


def _readable(text: str, content_type: str) -> str:
    if "html" not in content_type:
        return text
    text = re.sub(r"(?is)<(script|style|noscript)\b.*?</\1>", " ", text)
    text = re.sub(r"(?s)<[^>]+>", " ", text)
    return re.sub(r"\s+", " ", text).strip()


@register(
    "http_fetch",
    description="Fetch a public web page or file over HTTP(S) and return its text.",
    parameters={
        "type": "object",
        "properties": {"url": {"type": "string", "description": "An http:// or https:// URL.", "maxLength": 2000}},
        "required": ["url"],
    },
)
async def http_fetch(params: dict[str, Any], context: ToolContext) -> str:
    try:
        result = await fetch(params["url"])
    except FetchRefused as exc:
        raise ToolFailed(exc.message) from exc
    text = _readable(result.text, result.content_type)[:20000]
    note = " (truncated)" if result.truncated else ""
    return f"HTTP {result.status} from {result.url}{note}\n\n{text}"
