"""Sandboxes (an isolated workspace with its processes), their long-running sessions, the
commands they ran (CPU accounting), per-user limits, and deployments of a project's sandbox."""
from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q


def new_sandbox_id() -> str:
    return f"sbx_{secrets.token_hex(8)}"


class Sandbox(models.Model):
    class Status(models.TextChoices):
        CREATED = "created"
        RUNNING = "running"
        PAUSED = "paused"
        STOPPED = "stopped"
        EXPIRED = "expired"
        FAILED = "failed"

    #: Statuses that count against the per-user limit and can run commands.
    ALIVE = (Status.CREATED, Status.RUNNING, Status.PAUSED)

    # An integer key gives each sandbox its own host uid (SANDBOX_UID_BASE + id); the public id is opaque.
    id = models.BigAutoField(primary_key=True)
    public_id = models.CharField(max_length=40, unique=True, default=new_sandbox_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="sandboxes", on_delete=models.CASCADE)
    project = models.ForeignKey(
        "conversations.Project", null=True, blank=True, related_name="sandboxes", on_delete=models.SET_NULL
    )
    template = models.CharField(max_length=40, default="python")
    backend = models.CharField(max_length=40, default="bubblewrap")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CREATED)
    error = models.TextField(blank=True)
    # Resource limits, copied from the owner's limits when the sandbox is made.
    disk_bytes = models.BigIntegerField()
    memory_bytes = models.BigIntegerField()
    cpu_seconds = models.IntegerField(help_text="CPU seconds per process (RLIMIT_CPU).")
    max_processes = models.IntegerField()
    idle_timeout_seconds = models.IntegerField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="A scheduled timeout; idle expiry aside.")
    exposed_ports = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "status"]), models.Index(fields=["status", "last_used_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(disk_bytes__gt=0) & Q(memory_bytes__gt=0) & Q(cpu_seconds__gt=0) & Q(max_processes__gt=0),
                name="sandbox_limits_positive",
                violation_error_message="Sandbox limits must be positive.",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_alive(self) -> bool:
        return self.status in self.ALIVE


class SandboxSession(models.Model):
    """A named long-running process in a sandbox, such as a dev server."""

    class Status(models.TextChoices):
        RUNNING = "running"
        EXITED = "exited"
        STOPPED = "stopped"
        FAILED = "failed"

    sandbox = models.ForeignKey(Sandbox, related_name="sessions", on_delete=models.CASCADE)
    name = models.CharField(max_length=64)
    command = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    pid = models.IntegerField(null=True, blank=True, help_text="The host pid of the session's bwrap process.")
    exit_code = models.IntegerField(null=True, blank=True)
    port = models.IntegerField(null=True, blank=True, help_text="The port its preview listens on, if any.")
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sandbox", "name"], name="sandbox_session_name_unique",
                violation_error_message="A session with this name already exists in the sandbox.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sandbox.public_id}:{self.name}"


class SandboxCommand(models.Model):
    """One command run in a sandbox: what it printed is not kept, its cost is (CPU seconds per hour)."""

    sandbox = models.ForeignKey(Sandbox, related_name="commands", on_delete=models.CASCADE)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="sandbox_commands", on_delete=models.CASCADE)
    command = models.TextField()
    exit_code = models.IntegerField(null=True)
    duration_seconds = models.FloatField(default=0)
    cpu_seconds = models.FloatField(default=0)
    killed_reason = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["owner", "created_at"])]


class SandboxLimit(models.Model):
    """A user's own sandbox limits; without a row the SANDBOX_* settings apply."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, related_name="sandbox_limit", on_delete=models.CASCADE)
    max_alive = models.PositiveIntegerField(help_text="Sandboxes alive at once.")
    disk_bytes = models.PositiveBigIntegerField(help_text="Disk per sandbox.")
    cpu_seconds_per_hour = models.PositiveIntegerField(help_text="CPU seconds of commands in any hour.")

    def __str__(self) -> str:
        return f"limits of {self.user}"


class Deployment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        BUILDING = "building"
        READY = "ready"
        FAILED = "failed"

    id = models.BigAutoField(primary_key=True)
    project = models.ForeignKey("conversations.Project", related_name="deployments", on_delete=models.CASCADE)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="deployments", on_delete=models.CASCADE)
    sandbox = models.ForeignKey(Sandbox, null=True, blank=True, related_name="deployments", on_delete=models.SET_NULL)
    provider = models.CharField(max_length=32, default="local")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    version = models.PositiveIntegerField()
    site_slug = models.SlugField(max_length=80)
    url = models.CharField(max_length=500, blank=True)
    commit = models.CharField(max_length=64, blank=True)
    log = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "version"], name="deployment_version_unique",
                violation_error_message="This project already has a deployment with this version.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site_slug} v{self.version}"
