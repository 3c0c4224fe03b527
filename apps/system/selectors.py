"""Reads of system settings and platform state."""
from __future__ import annotations

from typing import Any

from apps.system.models import SystemSetting

#: Every known setting and its default. ``registration_mode``: open, invite (needs an invite code) or closed.
DEFAULTS: dict[str, Any] = {
    "allow_registration": True,
    "registration_invite_only": False,
}


def setting_get(key: str) -> Any:
    row = SystemSetting.objects.filter(key=key).values_list("value", flat=True).first()
    return DEFAULTS.get(key) if row is None else row


def settings_all() -> dict[str, Any]:
    values = dict(DEFAULTS)
    values.update(dict(SystemSetting.objects.values_list("key", "value")))
    return values


def registration_allowed() -> bool:
    return bool(setting_get("allow_registration"))


def registration_invite_only() -> bool:
    return bool(setting_get("registration_invite_only"))
