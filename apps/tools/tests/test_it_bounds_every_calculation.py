"""The calculator refuses, at once, every expression that would build a huge number."""
from __future__ import annotations

import time

import pytest

from apps.tools.calc import CalculationRefused, calculate
from apps.tools.isolation import run_isolated
from apps.tools.registry import ToolFailed

HOSTILE = [
    "round(1, -10**7)", "round(1, -9999999)", "round(2.5, 10**9)", "9 ** 9 ** 9", "2 ** 100000",
    "(10**300) ** 20", "10**1000 * 10**1000 * 10**1000 * 10**1000 * 10**1000",
    "(" * 300 + "1" + ")" * 300, "9" * 400 + " ** 9" * 10, "2.0 ** 10**7", "(-8) ** 0.5",
    "max(10**400, 1) ** 12", "floor(1e308) * floor(1e308) * floor(1e308) * floor(1e308) * floor(1e308)",
]


@pytest.mark.parametrize("expression", HOSTILE)
def test_it_refuses_hostile_arithmetic_quickly(expression):
    started = time.monotonic()
    with pytest.raises(CalculationRefused):
        calculate(expression)
    assert time.monotonic() - started < 1


@pytest.mark.parametrize(("expression", "expected"), [
    ("round(3.14159, 2)", "3.14"), ("round(1234, -2)", "1200"), ("2 ** 64", str(2**64)), ("2 ** -1", "0.5"),
    ("max(1, 2, 3)", "3"), ("log(8, 2)", "3"),
])
def test_bounded_arithmetic_still_computes(expression, expected):
    assert calculate(expression) == expected


async def test_the_child_process_is_killed_at_the_time_limit(settings):
    started = time.monotonic()
    with pytest.raises(ToolFailed, match="longer than"):
        await run_isolated("time", "sleep", 30, time_limit=0.5)
    assert time.monotonic() - started < 10


async def test_a_refusal_in_the_child_is_a_tool_failure():
    assert await run_isolated("apps.tools.calc", "calculate", "6 * 7") == "42"
    with pytest.raises(ToolFailed, match="too large"):
        await run_isolated("apps.tools.calc", "calculate", "9 ** 9 ** 9")
