"""Django's Redis cache with one connection pool per process instead of one per request.

Django keeps a cache object per async context, and each builds its own client and pool,
so under ASGI every request connected to Redis anew (a TCP connect and a health check
before its first throttle check: a tenth of a chat request's time in daphne's profile).
The client is shared per process here; each request still gets its own cache object
(and key prefix), so nothing else changes.
"""
from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple[Any, ...], RedisCacheClient] = {}
_lock = threading.Lock()


class SharedClientRedisCache(RedisCache):
    @property
    def _cache(self) -> RedisCacheClient:
        key = (tuple(self._servers), repr(sorted(self._options.items())))
        client = _clients.get(key)
        if client is None:
            with _lock:
                client = _clients.get(key)
                if client is None:
                    client = _clients[key] = self._class(self._servers, **self._options)
        return client
