"""Bounded arithmetic for the calculator tool.

Every operation is checked *before* it runs, so no expression of at most
``MAX_EXPRESSION`` characters can build a huge number: ``round(1, -10**7)``
would make CPython compute ten to the ten millionth power, ``9 ** 9 ** 9`` a
number of 350 million digits. Integers are kept under ``MAX_INT_BITS`` bits and
``round``'s digits under ``MAX_ROUND_DIGITS``.

The module imports only the standard library: :mod:`apps.tools.isolation` runs it in
a child process with a time limit, so even a bound we forgot cannot stall a server.
"""
from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

MAX_EXPRESSION = 500
MAX_INT_BITS = 4096  # about 1,233 decimal digits
MAX_ROUND_DIGITS = 100

Number = int | float


class CalculationRefused(ValueError):
    """The expression is not arithmetic we compute; the message is for the user."""


def _int_bits(value: Number) -> int:
    return value.bit_length() if isinstance(value, int) else 0


def _checked(value: Any) -> Number:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CalculationRefused("The result is not a real number.")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculationRefused("That number is too large to compute.")
    return value


def _power(left: Number, right: Number) -> Number:
    # The size of left ** right is about bits(left) * right; refuse before computing it.
    if isinstance(right, int) and right > 0 and abs(left) > 1:
        if isinstance(left, int) and max(_int_bits(left) - 1, 1) * right > MAX_INT_BITS:
            raise CalculationRefused("That power is too large to compute.")
        if isinstance(left, float) and right > 10_000:
            raise CalculationRefused("That power is too large to compute.")
    if isinstance(right, int) and abs(right) > 10**6 and abs(left) != 1:
        raise CalculationRefused("That power is too large to compute.")
    return operator.pow(left, right)


def _multiply(left: Number, right: Number) -> Number:
    if _int_bits(left) + _int_bits(right) > MAX_INT_BITS + 1:
        raise CalculationRefused("That number is too large to compute.")
    return operator.mul(left, right)


def _round(value: Number, ndigits: Number | None = None) -> Number:
    if ndigits is not None:
        if not isinstance(ndigits, int) or isinstance(ndigits, bool):
            raise CalculationRefused("round() takes a whole number of digits.")
        if abs(ndigits) > MAX_ROUND_DIGITS:
            raise CalculationRefused(f"round() takes at most {MAX_ROUND_DIGITS} digits either way.")
    return round(value, ndigits) if ndigits is not None else round(value)


def _unary(function: Callable[[float], Number]) -> Callable[..., Number]:
    def call(*args: Number) -> Number:
        if len(args) != 1:
            raise CalculationRefused(f"{function.__name__}() takes one number.")
        return function(args[0])
    return call


_BINARY: dict[type, Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Number]] = {
    name: _unary(getattr(math, name))
    for name in ("sqrt", "sin", "cos", "tan", "asin", "acos", "atan", "log10", "log2", "exp", "floor", "ceil")
} | {"log": math.log, "abs": _unary(abs), "round": _round, "min": min, "max": max}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


def _evaluate(node: ast.AST) -> Number:
    """Numbers, + - * / // % **, a few math functions; nothing else (no eval, no names)."""
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return _checked(node.value)
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _checked(_UNARY[type(node.op)](_evaluate(node.operand)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        return _checked(_BINARY[type(node.op)](left, right))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in _FUNCTIONS
        and not node.keywords
        and 1 <= len(node.args) <= 4
    ):
        return _checked(_FUNCTIONS[node.func.id](*(_evaluate(arg) for arg in node.args)))
    raise CalculationRefused("Only numbers, arithmetic operators and basic math functions are allowed.")


def calculate(expression: str) -> str:
    """The value of ``expression`` as text, or :class:`CalculationRefused` with the reason."""
    if not isinstance(expression, str):
        raise CalculationRefused("The expression must be text.")
    expression = expression.strip().replace("^", "**").replace("×", "*").replace("÷", "/")
    if not expression or len(expression) > MAX_EXPRESSION:
        raise CalculationRefused(f"The expression must be 1 to {MAX_EXPRESSION} characters.")
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise CalculationRefused("That is not a valid arithmetic expression.") from exc
    try:
        value = _evaluate(tree)
    except ZeroDivisionError as exc:
        raise CalculationRefused("Division by zero.") from exc
    except CalculationRefused:
        raise
    except RecursionError as exc:
        raise CalculationRefused("That expression is nested too deeply.") from exc
    except (OverflowError, ValueError, TypeError) as exc:
        raise CalculationRefused(f"Cannot compute that: {exc}.") from exc
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    elif isinstance(value, float):
        value = round(value, 10)
    return str(value)
