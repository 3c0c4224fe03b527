"""Reads of system settings and of the platform's state (health checks)."""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection

from apps.accounts.registration import RegistrationSwitches
from apps.system.models import SystemSetting

logger = logging.getLogger(__name__)

#: Every known setting and its default.
DEFAULTS: dict[str, Any] = {
    "allow_registration": True,
    "registration_invite_only": False,
}


REGISTRATION_KEYS = ("allow_registration", "registration_invite_only")


def setting_get(key: str) -> Any:
    row = SystemSetting.objects.filter(key=key).values_list("value", flat=True).first()
    return DEFAULTS.get(key) if row is None else row


def settings_all() -> dict[str, Any]:
    values = dict(DEFAULTS)
    values.update({key: value for key, value in SystemSetting.objects.values_list("key", "value") if key in DEFAULTS})
    return values


def registration_switches() -> RegistrationSwitches:
    """The sign-up switches in one query (what the accounts app reads, see its ``registration``)."""
    values = dict(SystemSetting.objects.filter(key__in=REGISTRATION_KEYS).values_list("key", "value"))
    return RegistrationSwitches(
        allowed=bool(values.get("allow_registration", DEFAULTS["allow_registration"])),
        invite_only=bool(values.get("registration_invite_only", DEFAULTS["registration_invite_only"])),
    )


def upstream_providers() -> list[dict[str, str]]:
    """The upstream sign-in providers configured from the environment (id and display name)."""
    names = {"github": "GitHub", "google": "Google"}
    providers = []
    for provider_id, config in settings.SOCIALACCOUNT_PROVIDERS.items():
        if provider_id == "openid_connect":
            for app in config.get("APPS", []):
                providers.append({"id": app["provider_id"], "name": app.get("name", app["provider_id"])})
        else:
            providers.append({"id": provider_id, "name": names.get(provider_id, provider_id)})
    return providers


def system_info() -> dict[str, Any]:
    """What a front end needs before anyone signs in; nothing secret."""
    values = settings_all()
    return {
        "app_name": settings.APP_NAME,
        "version": settings.APP_VERSION,
        "allow_registration": bool(values["allow_registration"]),
        "registration_invite_only": bool(values["registration_invite_only"]),
        "local_login_enabled": settings.LOCAL_LOGIN_ENABLED,
        "captcha_enabled": settings.CAPTCHA_ENABLED,
        "upstream_providers": upstream_providers(),
    }


# ------------------------------------------------------------------------------
# Health checks: /api/health/deep and ``manage.py doctor`` share them
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    critical: bool
    latency_ms: float
    detail: str


class CheckFailed(Exception):
    """A check ran and found its component unhealthy; the message says why."""


def _check_postgres() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1, current_setting('server_version')")
        one, version = cursor.fetchone()
    if one != 1:
        raise CheckFailed("SELECT 1 did not answer 1")
    return f"PostgreSQL {version}"


def _check_pgvector() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
        if row is None:
            raise CheckFailed("the vector extension is not installed in this database")
        cursor.execute("SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector")
        (distance,) = cursor.fetchone()
    if abs(distance - 1.0) > 1e-6:
        raise CheckFailed(f"cosine distance of orthogonal vectors was {distance}, not 1")
    return f"pgvector {row[0]}"


def _check_redis(*, timeout: float) -> str:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        if not client.ping():
            raise CheckFailed("PING was not answered")
        version = client.info("server").get("redis_version", "?")
    except (redis.RedisError, OSError) as exc:
        raise CheckFailed(f"no answer ({type(exc).__name__})") from exc
    finally:
        client.close()
    return f"Redis {version}"


def _check_celery(*, timeout: float) -> str:
    from celery import Celery
    from kombu.exceptions import OperationalError

    # The broker is read at call time (not from the app's start-up config) so an
    # operator's override, or a test's, is what gets checked. A throwaway app does
    # the ping: the shared app caches its producer pool per broker on first use, and
    # pinging another broker through it would leave that pool pointing there.
    probe = Celery("codex-health", broker=settings.CELERY_BROKER_URL, set_as_current=False)
    try:
        with probe.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            replies = probe.control.ping(timeout=timeout, connection=conn)
    except (OperationalError, OSError) as exc:
        raise CheckFailed(f"the broker does not answer ({type(exc).__name__})") from exc
    finally:
        probe.close()
    workers = sum(len(reply) for reply in replies)
    if not workers:
        raise CheckFailed("no workers answered")
    return f"{workers} worker(s) answered"


def _run(name: str, check: Callable[[], str], *, critical: bool) -> CheckResult:
    started = time.perf_counter()
    try:
        detail, ok = check(), True
    except CheckFailed as exc:
        detail, ok = str(exc), False
    except Exception as exc:  # noqa: BLE001 — a health check reports every failure, never raises
        # The answer is public: the type says enough, the log keeps the rest.
        logger.warning("health check %s failed", name, exc_info=exc)
        detail, ok = type(exc).__name__, False
    return CheckResult(name, ok, critical, round((time.perf_counter() - started) * 1000, 1), detail)


CHECK_NAMES = ("postgres", "pgvector", "redis", "celery")


def health_checks_cached(*, timeout: float = 1.0) -> list[CheckResult]:
    """:func:`health_checks`, answered from the cache for ``HEALTH_DEEP_CACHE_SECONDS``.

    Each run broadcasts a Celery ping to every worker; a public route that anyone can call in a
    loop must not do that per request. The key names what is checked, so a changed broker or
    Redis is checked afresh; a cache that is down (Redis itself) only means no caching.
    """
    seconds = settings.HEALTH_DEEP_CACHE_SECONDS
    key = "health-deep:" + hashlib.sha256(
        f"{settings.REDIS_URL}|{settings.CELERY_BROKER_URL}|{settings.REDIS_AVAILABLE}".encode()
    ).hexdigest()[:16]
    try:
        cached = cache.get(key) if seconds else None
    except Exception:  # noqa: BLE001 — the cache is Redis, one of the things being checked
        cached = None
    if cached is not None:
        return [CheckResult(**item) for item in cached]
    results = health_checks(timeout=timeout)
    if seconds:
        try:
            cache.set(key, [dataclasses.asdict(result) for result in results], timeout=seconds)
        except Exception:  # noqa: BLE001
            logger.info("health results not cached: the cache is unavailable")
    return results


def health_checks(*, only: Iterable[str] = CHECK_NAMES, timeout: float = 1.0) -> list[CheckResult]:
    """Check PostgreSQL, pgvector, Redis and the Celery workers.

    PostgreSQL and pgvector are always critical. Redis and the workers are critical
    when this process started with Redis; without it the platform deliberately runs
    in one process, so their absence is reported but is not a failure.
    """
    with_redis = bool(settings.REDIS_AVAILABLE)
    checks: dict[str, tuple[Callable[[], str], bool]] = {
        "postgres": (_check_postgres, True),
        "pgvector": (_check_pgvector, True),
        "redis": (lambda: _check_redis(timeout=timeout), with_redis),
        "celery": (lambda: _check_celery(timeout=timeout), with_redis),
    }
    wanted = list(only)
    unknown = set(wanted) - set(checks)
    if unknown:
        raise ValueError(f"unknown checks: {', '.join(sorted(unknown))}")
    return [_run(name, checks[name][0], critical=checks[name][1]) for name in CHECK_NAMES if name in wanted]
