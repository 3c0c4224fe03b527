"""Writes of system settings."""
from __future__ import annotations

from typing import Any

from apps.core.errors import Invalid
from apps.system.models import SystemSetting
from apps.system.selectors import DEFAULTS


def setting_set(*, key: str, value: Any) -> SystemSetting:
    if key not in DEFAULTS:
        raise Invalid(f"Unknown setting {key!r}.", field_errors={key: ["Unknown setting."]})
    if isinstance(DEFAULTS[key], bool) and not isinstance(value, bool):
        raise Invalid(f"{key} must be true or false.", field_errors={key: ["Must be a boolean."]})
    setting, _ = SystemSetting.objects.update_or_create(key=key, defaults={"value": value})
    return setting
