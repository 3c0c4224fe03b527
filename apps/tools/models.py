"""Skills (SKILL.md folders) and MCP servers: the tools a user adds beyond the built-in ones."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.fields import EncryptedTextField


class Skill(models.Model):
    """An Agent Skills folder: SKILL.md (front matter ``name``, ``description``, then instructions) and resources.

    System skills are everyone's (staff add them), user skills their owner's, agent skills one agent's.
    """

    class Scope(models.TextChoices):
        SYSTEM = "system", "system"
        USER = "user", "user"
        AGENT = "agent", "agent"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Shipped system skills have no owner; every other skill has one.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="skills", on_delete=models.CASCADE
    )
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.USER)
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, related_name="skills", on_delete=models.CASCADE)
    name = models.CharField(max_length=64)
    description = models.CharField(max_length=1024)
    content = models.TextField(help_text="The whole SKILL.md, front matter included.")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(scope="system"), name="skill_unique_system_name",
                violation_error_message="A system skill of this name exists.",
            ),
            models.UniqueConstraint(
                fields=["owner", "name"], condition=Q(scope="user"), name="skill_unique_user_name",
                violation_error_message="You already have a skill of this name.",
            ),
            models.UniqueConstraint(
                fields=["agent", "name"], condition=Q(scope="agent"), name="skill_unique_agent_name",
                violation_error_message="This agent already has a skill of this name.",
            ),
            models.CheckConstraint(
                condition=Q(scope="system") | Q(owner__isnull=False),
                name="skill_owner_unless_system",
                violation_error_message="Only a system skill may have no owner.",
            ),
            models.CheckConstraint(
                condition=Q(scope="agent", agent__isnull=False) | (~Q(scope="agent") & Q(agent__isnull=True)),
                name="skill_agent_only_for_agent_scope",
                violation_error_message="Only an agent skill names an agent.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.scope})"


class SkillFile(models.Model):
    """A resource file of a skill, read by ``load_skill`` on demand (never put in the prompt whole)."""

    skill = models.ForeignKey(Skill, related_name="files", on_delete=models.CASCADE)
    path = models.CharField(max_length=500)
    data = models.BinaryField()
    size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["skill", "path"], name="skillfile_unique_path",
                                    violation_error_message="The skill already has a file at this path."),
        ]

    def __str__(self) -> str:
        return self.path


class SkillVersion(models.Model):
    """A past SKILL.md, kept when an edit replaces it."""

    skill = models.ForeignKey(Skill, related_name="versions", on_delete=models.CASCADE)
    version = models.PositiveIntegerField()
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(fields=["skill", "version"], name="skillversion_unique_version",
                                    violation_error_message="This version is already kept."),
        ]

    def __str__(self) -> str:
        return f"{self.skill.name} v{self.version}"


class MCPServer(models.Model):
    """A remote MCP server of a user (streamable HTTP or SSE), or a staff-only stdio command.

    ``tools`` holds what the last refresh listed: ``[{"name", "description", "input_schema"}]``.
    ``source`` says which route made it: 002/003 registrations are ``server``, 003 user
    settings ``custom``, ``codex`` or ``claude-code``.
    """

    class Transport(models.TextChoices):
        STREAMABLE_HTTP = "streamable_http", "streamable HTTP"
        SSE = "sse", "SSE"
        STDIO = "stdio", "stdio"

    class Status(models.TextChoices):
        NEW = "new", "new"
        CONNECTED = "connected", "connected"
        ERROR = "error", "error"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="mcp_servers", on_delete=models.CASCADE)
    name = models.CharField(max_length=64)
    source = models.CharField(max_length=20, default="server")
    transport = models.CharField(max_length=20, choices=Transport.choices, default=Transport.STREAMABLE_HTTP)
    url = models.URLField(max_length=2000, blank=True)
    command = models.JSONField(default=list, blank=True, help_text="stdio only: the argv to run (staff only).")
    api_key = EncryptedTextField(blank=True)
    config = models.JSONField(default=dict, blank=True, help_text="Non-secret settings (003 user settings).")
    allow_private = models.BooleanField(
        default=False, help_text="Staff only: let this server's URL reach private or loopback addresses."
    )
    is_active = models.BooleanField(default=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    error = models.TextField(blank=True)
    tools = models.JSONField(default=list, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "MCP server"
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="mcpserver_unique_name_per_owner",
                                    violation_error_message="You already have an MCP server of this name."),
            models.CheckConstraint(
                condition=~Q(name=""), name="mcpserver_name_not_empty", violation_error_message="A server needs a name."
            ),
        ]

    def __str__(self) -> str:
        return self.name
