"""Reads for the admin console, restricted to what the asking user's menu codes allow.

Every read goes through :func:`restrict`: a user without the code sees an empty
queryset, so a view that forgot its permission check still leaks nothing, and a
missing object and a forbidden one are the same 404.
"""
from __future__ import annotations

import os
import platform
import socket
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

import django
import django_filters
import psutil
import redis
from django.conf import settings
from django.db import connection
from django.db.models import Model, QuerySet

from apps.accounts import permissions_catalog as perms
from apps.accounts.filters import LoginLogFilterSet, OperationLogFilterSet, UserFilterSet
from apps.accounts.models import Department, LoginLog, Menu, OperationLog, Role, User
from apps.core.errors import Invalid, NotFound, ServiceUnavailable

M = TypeVar("M", bound=Model)


def restrict(queryset: QuerySet[M], *, actor: User, code: str) -> QuerySet[M]:
    """``queryset`` when ``actor`` holds ``code`` (superusers hold all), else nothing."""
    return queryset if actor.has_menu_permission(code) else queryset.none()


def _get(queryset: QuerySet[M], *, pk: object, what: str) -> M:
    try:
        return queryset.get(pk=pk)
    except queryset.model.DoesNotExist as exc:
        raise NotFound(f"{what} not found.") from exc


def _filtered(filterset_class: type[django_filters.FilterSet], params: Mapping[str, Any], queryset: QuerySet[M]) -> QuerySet[M]:
    filterset = filterset_class(data=params, queryset=queryset)
    if not filterset.is_valid():
        errors = {field: [str(message) for message in messages] for field, messages in filterset.errors.items()}
        summary = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
        raise Invalid(summary, field_errors=errors)
    return filterset.qs


# ------------------------------------------------------------------------------
# Users, roles
# ------------------------------------------------------------------------------
def _users(*, actor: User, code: str) -> QuerySet[User]:
    queryset = User.objects.select_related("department").prefetch_related("roles")
    return restrict(queryset, actor=actor, code=code)


def user_list(*, actor: User, params: Mapping[str, Any]) -> QuerySet[User]:
    return _filtered(UserFilterSet, params, _users(actor=actor, code=perms.USER_LIST)).order_by("date_joined", "id")


def user_get(*, actor: User, user_id: object, code: str = perms.USER_LIST) -> User:
    return _get(_users(actor=actor, code=code), pk=user_id, what="User")


def role_list(*, actor: User) -> QuerySet[Role]:
    return restrict(Role.objects.prefetch_related("menus"), actor=actor, code=perms.ROLE_LIST).order_by("id")


def role_get(*, actor: User, role_id: int, code: str = perms.ROLE_LIST) -> Role:
    return _get(restrict(Role.objects.all(), actor=actor, code=code), pk=role_id, what="Role")


def role_menu_ids(*, actor: User, role_id: int) -> list[int]:
    role = role_get(actor=actor, role_id=role_id)
    return sorted(role.menus.values_list("pk", flat=True))


# ------------------------------------------------------------------------------
# Trees: departments and menus
# ------------------------------------------------------------------------------
def build_tree(nodes: list[M]) -> list[M]:
    """Attach ``tree_children`` to each node and return the roots, siblings in query order.

    A node whose parent is not in ``nodes`` becomes a root, so a filtered list
    still shows every node it holds.
    """
    by_pk = {node.pk: node for node in nodes}
    roots: list[M] = []
    for node in nodes:
        node.tree_children = []  # type: ignore[attr-defined]
    for node in nodes:
        parent = by_pk.get(node.parent_id)  # type: ignore[attr-defined]
        (parent.tree_children if parent is not None else roots).append(node)  # type: ignore[attr-defined]
    return roots


def tree_order(nodes: list[M]) -> list[tuple[M, int]]:
    """Depth-first order with each node's depth, for flat displays such as the admin's."""
    ordered: list[tuple[M, int]] = []
    stack = [(root, 0) for root in reversed(build_tree(nodes))]
    while stack:
        node, depth = stack.pop()
        ordered.append((node, depth))
        stack.extend((child, depth + 1) for child in reversed(node.tree_children))  # type: ignore[attr-defined]
    return ordered


def department_tree(*, actor: User) -> list[Department]:
    return build_tree(list(restrict(Department.objects.order_by("sort", "id"), actor=actor, code=perms.DEPT_LIST)))


def department_get(*, actor: User, department_id: int, code: str = perms.DEPT_LIST) -> Department:
    return _get(restrict(Department.objects.all(), actor=actor, code=code), pk=department_id, what="Department")


def menu_tree(*, actor: User) -> list[Menu]:
    return build_tree(list(restrict(Menu.objects.order_by("sort", "id"), actor=actor, code=perms.MENU_LIST)))


def menu_get(*, actor: User, menu_id: int, code: str = perms.MENU_LIST) -> Menu:
    return _get(restrict(Menu.objects.all(), actor=actor, code=code), pk=menu_id, what="Menu")


# ------------------------------------------------------------------------------
# Logs
# ------------------------------------------------------------------------------
def login_log_list(*, actor: User, params: Mapping[str, Any]) -> QuerySet[LoginLog]:
    queryset = restrict(LoginLog.objects.all(), actor=actor, code=perms.LOGIN_LOG_LIST)
    return _filtered(LoginLogFilterSet, params, queryset).order_by("-created_at", "-id")


def login_log_get(*, actor: User, log_id: int, code: str = perms.LOGIN_LOG_LIST) -> LoginLog:
    return _get(restrict(LoginLog.objects.all(), actor=actor, code=code), pk=log_id, what="Login log")


def operation_log_list(*, actor: User, params: Mapping[str, Any]) -> QuerySet[OperationLog]:
    queryset = restrict(OperationLog.objects.all(), actor=actor, code=perms.OPERATION_LOG_LIST)
    return _filtered(OperationLogFilterSet, params, queryset).order_by("-created_at", "-id")


def operation_log_get(*, actor: User, log_id: int, code: str = perms.OPERATION_LOG_LIST) -> OperationLog:
    return _get(restrict(OperationLog.objects.all(), actor=actor, code=code), pk=log_id, what="Operation log")


# ------------------------------------------------------------------------------
# Monitor
# ------------------------------------------------------------------------------
def _require(actor: User, code: str) -> None:
    # Monitor data is not a queryset; the same rule applies by hand.
    if not actor.has_menu_permission(code):
        raise NotFound("Not found.")


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat()


def server_stats(*, actor: User) -> dict[str, Any]:
    """CPU, memory, disk, this process, and the versions of what it runs on."""
    _require(actor, perms.MONITOR_SERVER)
    memory = psutil.virtual_memory()
    disk = psutil.disk_usage(str(settings.BASE_DIR))
    current = psutil.Process(os.getpid())
    with current.oneshot():
        process = {
            "pid": current.pid,
            "rss": current.memory_info().rss,
            "threads": current.num_threads(),
            "started_at": _iso(current.create_time()),
            "uptime_seconds": int(datetime.now(tz=UTC).timestamp() - current.create_time()),
        }
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres_version = cursor.fetchone()[0]
    return {
        "cpu": {
            # interval=None compares with the previous call, so the request never sleeps;
            # the first call in a process reads 0.0.
            "percent": psutil.cpu_percent(interval=None),
            "logical_count": psutil.cpu_count(logical=True) or 0,
            "physical_count": psutil.cpu_count(logical=False) or 0,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else [],
        },
        "memory": {"total": memory.total, "available": memory.available, "used": memory.used, "percent": memory.percent},
        "disk": {"path": str(settings.BASE_DIR), "total": disk.total, "used": disk.used, "free": disk.free, "percent": disk.percent},
        "process": process,
        "versions": {
            "python": sys.version.split()[0],
            "django": django.get_version(),
            "postgres": postgres_version,
            "platform": platform.platform(),
        },
        "hostname": socket.gethostname(),
        "boot_time": _iso(psutil.boot_time()),
    }


def redis_stats(*, actor: User) -> dict[str, Any]:
    """The Redis INFO that an operator looks at; 503 when Redis does not answer."""
    _require(actor, perms.MONITOR_REDIS)
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        info = client.info()
    except redis.RedisError as exc:
        raise ServiceUnavailable("Redis does not answer.", code="redis_unavailable") from exc
    finally:
        client.close()
    keyspace = {
        name: {"keys": value.get("keys", 0), "expires": value.get("expires", 0), "avg_ttl": value.get("avg_ttl", 0)}
        for name, value in info.items()
        if name.startswith("db") and isinstance(value, dict)
    }
    hits, misses = int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0))
    return {
        "version": info.get("redis_version", ""),
        "mode": info.get("redis_mode", ""),
        "uptime_seconds": int(info.get("uptime_in_seconds", 0)),
        "connected_clients": int(info.get("connected_clients", 0)),
        "used_memory": int(info.get("used_memory", 0)),
        "used_memory_human": info.get("used_memory_human", ""),
        "used_memory_peak_human": info.get("used_memory_peak_human", ""),
        "maxmemory_human": info.get("maxmemory_human", ""),
        "total_commands_processed": int(info.get("total_commands_processed", 0)),
        "keyspace_hits": hits,
        "keyspace_misses": misses,
        "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
        "keyspace": keyspace,
    }
