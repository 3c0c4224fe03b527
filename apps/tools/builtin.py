"""The built-in tools: the current time, a calculator and a safe URL fetcher."""
from __future__ import annotations

import ast
import math
import operator
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.core.fetch import FetchRefused, fetch
from apps.tools.registry import ToolContext, ToolFailed, register

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS = {
    name: getattr(math, name)
    for name in ("sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "log", "log10", "log2", "exp", "floor", "ceil")
} | {"abs": abs, "round": round, "min": min, "max": max}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
MAX_EXPRESSION = 500


def _evaluate(node: ast.AST) -> float | int:
    """Numbers, + - * / // % **, a few math functions; nothing else (no eval, no names)."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        # A huge power would pin a CPU: 9**9**9 is a denial of service, not arithmetic.
        if isinstance(node.op, ast.Pow) and (abs(right) > 1000 or abs(left) > 10**100):
            raise ToolFailed("That power is too large to compute.")
        return _BINARY[type(node.op)](left, right)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and len(node.args) <= 4
    ):
        return _FUNCTIONS[node.func.id](*(_evaluate(arg) for arg in node.args))
    raise ToolFailed("Only numbers, arithmetic operators and basic math functions are allowed.")


def calculate(expression: str) -> str:
    expression = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not expression or len(expression) > MAX_EXPRESSION:
        raise ToolFailed(f"The expression must be 1 to {MAX_EXPRESSION} characters.")
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ToolFailed("That is not a valid arithmetic expression.") from exc
    try:
        value = _evaluate(tree)
    except ZeroDivisionError as exc:
        raise ToolFailed("Division by zero.") from exc
    except (OverflowError, ValueError, TypeError) as exc:
        raise ToolFailed(f"Cannot compute that: {exc}.") from exc
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    elif isinstance(value, float):
        value = round(value, 10)
    return str(value)


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
    return calculate(params["expression"])


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
