"""Platform-wide settings that admins change at run time."""
from __future__ import annotations

from django.db import models


class SystemSetting(models.Model):
    """One named setting; its value is JSON. Known keys and defaults live in ``selectors.DEFAULTS``."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key
