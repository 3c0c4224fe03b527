"""Login and operation logs."""
from __future__ import annotations

from typing import Any

from apps.accounts.models import LoginLog, OperationLog, User


def operation_log_record(
    *,
    user: User | None,
    method: str,
    path: str,
    status_code: int,
    ip: str | None,
    user_agent: str,
    duration_ms: int,
    body: Any,
) -> OperationLog:
    return OperationLog.objects.create(
        user=user,
        username=user.username if user else "",
        method=method,
        path=path[:500],
        status_code=status_code,
        ip=ip,
        user_agent=user_agent[:500],
        duration_ms=duration_ms,
        body=body,
    )


def login_log_record(
    *, username: str, user: User | None, succeeded: bool, ip: str | None, user_agent: str, message: str, api: str
) -> LoginLog:
    return LoginLog.objects.create(
        username=username[:150],
        user=user,
        succeeded=succeeded,
        ip=ip,
        user_agent=user_agent[:500],
        message=message[:255],
        api=api,
    )
