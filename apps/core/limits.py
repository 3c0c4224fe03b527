"""The ranges of PostgreSQL's integer columns, and the bounds every API integer gets from them.

A number beyond its column's range used to reach PostgreSQL and come back as a
``DataError`` 500 ("bigint out of range"). Every integer a client sends is bounded
before that: JSON numbers by the input guard, path ids by the ``bigint`` converter,
serializer integers by a default bound that an explicit ``max_value``/``min_value`` narrows.
"""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
#: Page numbers and sizes: page * size must stay a valid OFFSET, whatever the two are.
PAGE_MAX = 2**31 - 1


class BigIntConverter:
    """``<bigint:id>``: a non-negative id that fits a bigint column; anything longer is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > BIGINT_MAX:
            raise ValueError("beyond bigint")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def bound_serializer_integers() -> None:
    """Give every DRF ``IntegerField`` the bigint range unless it states a narrower one."""
    original = serializers.IntegerField.__init__
    if getattr(original, "_bounded", False):
        return

    def __init__(self: serializers.IntegerField, **kwargs: Any) -> None:  # noqa: N807
        if kwargs.get("max_value") is None:
            kwargs["max_value"] = BIGINT_MAX
        if kwargs.get("min_value") is None:
            kwargs["min_value"] = BIGINT_MIN
        original(self, **kwargs)

    __init__._bounded = True  # type: ignore[attr-defined]
    serializers.IntegerField.__init__ = __init__  # type: ignore[method-assign]
