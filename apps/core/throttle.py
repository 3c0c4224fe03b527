"""Fixed-window rate limits kept in the cache (Redis), shared by every process."""
from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache

from apps.core.cache import ReusedClient
from apps.core.errors import TooManyRequests

#: Count a hit and start the window's expiry on its first, in one atomic round trip.
_COUNT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""
_script: Any = None  # redis-py's Script: registered once, called with whichever client

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
    count = _count(key, period + 1)
    if count > limit:
        return max(1, int((window + 1) * period - time.time()))
    return None


def _count(key: str, timeout: int) -> int:
    """The window's count after this hit: one script call on Redis, two cache calls elsewhere."""
    global _script
    client = getattr(cache, "_cache", None)
    if isinstance(client, ReusedClient):
        redis = client.get_client(write=True)
        if _script is None:
            _script = redis.register_script(_COUNT)
        return int(_script(keys=[cache.make_key(key)], args=[timeout], client=redis))
    if cache.add(key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1


def check(scope: str, ident: str, rate: str, *, message: str = "Too many requests; try again later.") -> None:
    """Raise 429 (with Retry-After) when ``ident`` is over ``rate`` in ``scope``."""
    wait = hit(scope, ident, rate)
    if wait is not None:
        raise TooManyRequests(message, retry_after=wait)
