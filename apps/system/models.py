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


class AppVersion(models.Model):
    """A release of the desktop client, as the Tauri updater and the download page read it."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Entered by an admin"
        GITHUB = "github", "Imported from GitHub"

    version = models.CharField(max_length=50, unique=True)
    notes = models.TextField(blank=True)
    pub_date = models.DateTimeField()
    # {"<target>-<arch>": {"signature": "...", "url": "..."}}, the updater's own shape.
    platforms = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-pub_date", "-id"]

    def __str__(self) -> str:
        return self.version
