"""Rate limits (apps/core/throttle.py) and the shared Redis cache client (apps/core/cache.py)."""
from __future__ import annotations

import threading

import pytest
from django.core.cache import cache

from apps.core import throttle
from apps.core.cache import ReusedClient
from apps.core.errors import TooManyRequests


@pytest.fixture
def redis_cache(settings):
    if not settings.REDIS_AVAILABLE:
        pytest.skip("the shared client is the Redis cache's")
    cache.clear()
    yield cache
    cache.clear()


def test_the_cache_builds_one_redis_client_per_pool_and_every_thread_shares_it(redis_cache):
    client = redis_cache._cache
    assert isinstance(client, ReusedClient)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(redis_cache._cache.get_client(write=True))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({id(made) for made in seen}) == 1
    # And it still is the cache: values go in and come out through it.
    redis_cache.set("shared-client", {"a": 1}, timeout=30)
    assert redis_cache.get("shared-client") == {"a": 1}
    assert redis_cache.add("shared-client", 2) is False


def test_a_throttle_counts_each_hit_once_and_refuses_past_its_rate(redis_cache):
    for _ in range(3):
        throttle.check("probe", "alice", "3/min")
    with pytest.raises(TooManyRequests) as refused:
        throttle.check("probe", "alice", "3/min")
    assert 1 <= refused.value.retry_after <= 60
    # Another identity and another scope have counts of their own.
    throttle.check("probe", "bob", "3/min")
    throttle.check("other", "alice", "3/min")


def test_a_throttle_window_expires_and_clearing_the_cache_resets_it(redis_cache):
    throttle.hit("probe", "carol", "5/min")
    [key] = redis_cache._cache.get_client().keys(redis_cache.make_key("throttle:probe:carol:*"))
    ttl = redis_cache._cache.get_client().ttl(key)
    assert 0 < ttl <= 61  # the window's length and a second: a key never outlives its window for long
    assert throttle.hit("probe", "carol", "1/min") is not None
    redis_cache.clear()
    assert throttle.hit("probe", "carol", "1/min") is None


def test_concurrent_hits_are_all_counted(redis_cache):
    waits: list[int | None] = []
    threads = [threading.Thread(target=lambda: waits.append(throttle.hit("probe", "dave", "20/min"))) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(wait is None for wait in waits) == 20


def test_without_redis_the_throttle_counts_in_the_local_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-test"}}
    from django.core.cache import caches

    caches["default"].clear()
    assert throttle.hit("probe", "erin", "1/min") is None
    assert throttle.hit("probe", "erin", "1/min") is not None
