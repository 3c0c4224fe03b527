"""Fixed-window rate limits kept in the cache (Redis), shared by every process."""
from __future__ import annotations

import time

from django.core.cache import cache

from apps.core.errors import TooManyRequests

_PERIODS = {"s": 1, "sec": 1, "min": 60, "m": 60, "hour": 3600, "h": 3600, "day": 86400, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/min"`` → ``(10, 60)``."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip().lower()]


def hit(scope: str, ident: str, rate: str) -> int | None:
    """Count one hit; return the seconds to wait when the limit is exceeded, else None."""
    limit, period = parse_rate(rate)
    window = int(time.time() // period)
    key = f"throttle:{scope}:{ident}:{window}"
    if cache.add(key, 1, timeout=period + 1):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=period + 1)
            count = 1
    if count > limit:
        return max(1, int((window + 1) * period - time.time()))
    return None


def check(scope: str, ident: str, rate: str, *, message: str = "Too many requests; try again later.") -> None:
    """Raise 429 (with Retry-After) when ``ident`` is over ``rate`` in ``scope``."""
    wait = hit(scope, ident, rate)
    if wait is not None:
        raise TooManyRequests(message, retry_after=wait)
