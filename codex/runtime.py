"""Probes made once at start-up that decide how the platform runs."""
from __future__ import annotations

import logging

logger = logging.getLogger("codex")


def redis_answers(url: str, *, timeout: float = 0.5) -> bool:
    """Whether a Redis server answers PING at ``url`` within ``timeout`` seconds."""
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False
