"""Skills (SKILL.md folders), MCP servers and toolkit profiles: the tools a user adds beyond the built-in ones."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from apps.core.fields import EncryptedTextField
from apps.tools.toolkits.checks import toolkit_check


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


class Toolkit(models.Model):
    """A template for an MCP server a user can connect (the self-hosted form of 004's Composio toolkits).

    ``mcp_url_template`` and the values of ``header_templates`` name the toolkit's
    ``fields`` in braces (``https://{subdomain}.example.com/mcp``, ``Bearer {api_key}``);
    secret fields may appear in headers only, so a profile's MCP URL can be shown.
    ``fields``: ``[{"name", "display_name", "description", "field_type", "required",
    "default_value"}]`` with ``field_type`` one of ``string``, ``secret``, ``url``.
    Shipped toolkits come from ``apps/tools/toolkits/catalog.json``; one a staff member
    edits or adds is ``staff`` and the loader leaves it alone.
    """

    class Transport(models.TextChoices):
        STREAMABLE_HTTP = "streamable_http", "streamable HTTP"
        SSE = "sse", "SSE"
        AUTO = "auto", "SSE when the URL ends in /sse, else streamable HTTP"

    class Source(models.TextChoices):
        SHIPPED = "shipped", "shipped"
        STAFF = "staff", "staff"

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    category = models.SlugField(max_length=64)
    description = models.TextField(blank=True)
    icon_svg = models.TextField(blank=True, help_text="A small SVG; scripts, event handlers and external links are refused.")
    docs_url = models.URLField(max_length=500, blank=True)
    mcp_url_template = models.CharField(max_length=2000)
    transport = models.CharField(max_length=20, choices=Transport.choices, default=Transport.STREAMABLE_HTTP)
    header_templates = models.JSONField(default=dict, blank=True)
    fields = models.JSONField(default=list, blank=True)
    tools = models.JSONField(default=list, blank=True, help_text="Tools known before connecting: [{name, description}].")
    is_enabled = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        toolkit_check(self)


class ToolkitProfile(models.Model):
    """A user's configured toolkit: its credentials (encrypted), its connection and the tools it may use.

    A profile with credentials has a ``connection_id``; deleting the connection drops the
    credentials and the discovered tools. ``tools`` is what the last discovery listed;
    ``enabled_tools`` the subset runs get (``null``: all of them).
    """

    class Status(models.TextChoices):
        INITIATED = "initiated", "initiated"
        ACTIVE = "active", "active"
        FAILED = "failed", "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="toolkit_profiles", on_delete=models.CASCADE)
    toolkit = models.ForeignKey(Toolkit, related_name="profiles", on_delete=models.PROTECT)
    profile_name = models.CharField(max_length=100)
    display_name = models.CharField(max_length=200, blank=True)
    server_name = models.CharField(max_length=48, help_text="Its tools reach runs as <server_name>__<tool>.")
    credentials = EncryptedTextField(blank=True, help_text="JSON of the toolkit's field values, encrypted.")
    connection_id = models.UUIDField(null=True, blank=True, unique=True)
    allow_private = models.BooleanField(
        default=False, help_text="Staff only: let this profile's MCP URL reach private or loopback addresses."
    )
    is_active = models.BooleanField(default=True)
    is_default = models.BooleanField(default=False)
    is_default_for_dashboard = models.BooleanField(default=False)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INITIATED)
    error = models.TextField(blank=True)
    tools = models.JSONField(default=list, blank=True)
    enabled_tools = models.JSONField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "toolkit profile"
        constraints = [
            models.UniqueConstraint(
                Lower("profile_name"), "owner", "toolkit", name="toolkitprofile_unique_name",
                violation_error_message="You already have a profile of this name for this toolkit.",
            ),
            models.UniqueConstraint(
                fields=["owner", "server_name"], name="toolkitprofile_unique_server_name",
                violation_error_message="You already have a profile with this server name.",
            ),
            models.UniqueConstraint(
                fields=["owner", "toolkit"], condition=Q(is_default=True), name="toolkitprofile_one_default",
                violation_error_message="A toolkit has one default profile.",
            ),
            models.UniqueConstraint(
                fields=["owner", "toolkit"], condition=Q(is_default_for_dashboard=True),
                name="toolkitprofile_one_dashboard_default",
                violation_error_message="A toolkit has one dashboard default profile.",
            ),
            models.CheckConstraint(
                condition=~Q(profile_name=""), name="toolkitprofile_name_not_empty",
                violation_error_message="A profile needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.toolkit.slug}: {self.profile_name}"
