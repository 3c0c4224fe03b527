"""Login and operation logs.

An audit row is written after the action it records has committed (or, for a login,
beside it). A failure to write it is logged and swallowed: it must never turn an
action that happened into a 500, nor break the transaction around it (a savepoint).
"""
from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, transaction

from apps.accounts.models import LoginLog, OperationLog, User
from apps.core.client_ip import valid_ip

logger = logging.getLogger(__name__)


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
) -> OperationLog | None:
    try:
        with transaction.atomic():
            return OperationLog.objects.create(
                user=user,
                username=user.username if user else "",
                method=method,
                path=path[:500],
                status_code=status_code,
                ip=valid_ip(ip),
                user_agent=user_agent[:500],
                duration_ms=duration_ms,
                body=body,
            )
    except (DatabaseError, ValueError, TypeError):
        logger.exception("could not write the operation log row for %s %s", method, path[:200])
        return None


def login_log_record(
    *, username: str, user: User | None, succeeded: bool, ip: str | None, user_agent: str, message: str, api: str
) -> LoginLog | None:
    try:
        with transaction.atomic():
            return LoginLog.objects.create(
                username=username[:150],
                user=user,
                succeeded=succeeded,
                ip=valid_ip(ip),
                user_agent=user_agent[:500],
                message=message[:255],
                api=api,
            )
    except (DatabaseError, ValueError, TypeError):
        logger.exception("could not write the login log row for %s", username[:150])
        return None
