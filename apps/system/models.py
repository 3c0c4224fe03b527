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


class CodeGenConfig(models.Model):
    """What the code generator makes of one database table (003 ``/api/v1/admin/gen/business``)."""

    app_label = models.CharField(max_length=60, unique=True, help_text="The generated app's package and label.")
    table_name = models.CharField(max_length=120)
    business_name = models.CharField(max_length=200, help_text="What the table holds, in words, for docstrings.")
    class_name = models.CharField(max_length=60, help_text="The generated model's class name.")
    options = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, related_name="codegen_configs",
                                   on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.app_label} ({self.table_name})"
