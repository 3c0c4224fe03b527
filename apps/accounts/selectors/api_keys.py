"""Reads of API keys: a user sees only their own; anyone else's key is 404."""
from __future__ import annotations

import uuid
from typing import Any

from django.db.models import QuerySet

from apps.accounts.models import ApiKey, User
from apps.core.errors import NotFound


def api_key_list(*, user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(owner=user).order_by("-created_at")


def api_key_get(*, user: User, key_id: Any) -> ApiKey:
    try:
        pk = uuid.UUID(str(key_id))
    except ValueError:
        raise NotFound("API key not found.") from None
    key = api_key_list(user=user).filter(pk=pk).first()
    if key is None:
        raise NotFound("API key not found.")
    return key
