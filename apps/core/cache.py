"""Django's Redis cache with one connection pool per process instead of one per request.

Django keeps a cache object per async context, and each builds its own client and pool,
so under ASGI every request connected to Redis anew (a TCP connect and a health check
before its first throttle check: a tenth of a chat request's time in daphne's profile).
The client is shared per process here; each request still gets its own cache object
(and key prefix), so nothing else changes.

Django's client also builds a ``redis.Redis`` object for every operation, whose constructor
(its response-callback tables) cost about 0.5 ms of CPU: two throttle checks and a stream's
first reads made that a few ms of each chat start. :class:`ReusedClient` keeps one per
connection pool; ``redis.Redis`` takes a connection from the pool per command, so threads
share it safely.
"""
from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_redis_lock = threading.Lock()


class ReusedClient(RedisCacheClient):
    """Django's Redis cache client, with one ``redis.Redis`` per connection pool, built once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._redis.get(index)
        if client is None:
            with _redis_lock:
                client = self._redis.get(index)
                if client is None:
                    client = self._redis[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


_clients: dict[tuple[Any, ...], RedisCacheClient] = {}
_lock = threading.Lock()


class SharedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClient

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
