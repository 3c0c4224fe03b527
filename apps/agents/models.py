"""Agent configurations (every field of 002's AgentConfigDTO) and who they are shared with."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

MAX_LOOP_LIMIT = 50


class Agent(models.Model):
    class MemoryType(models.TextChoices):
        SESSION = "session", "session"
        USER = "user", "user"
        NONE = "none", "none"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="agents", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    system_prefix = models.TextField(blank=True)
    system_context = models.JSONField(default=dict, blank=True)
    available_workflows = models.JSONField(default=dict, blank=True)
    available_tools = models.JSONField(default=list, blank=True)
    available_sub_agent_ids = models.JSONField(default=list, blank=True)
    available_skills = models.JSONField(default=list, blank=True)
    available_knowledge_bases = models.JSONField(default=list, blank=True)
    memory_type = models.CharField(max_length=20, choices=MemoryType.choices, default=MemoryType.SESSION)
    max_loop_count = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(MAX_LOOP_LIMIT)]
    )
    deep_thinking = models.BooleanField(default=False)
    llm_provider = models.ForeignKey(
        "providers.LLMProvider", null=True, blank=True, related_name="agents", on_delete=models.SET_NULL
    )
    enable_multimodal = models.BooleanField(default=False)
    multi_agent = models.BooleanField(default=False)
    agent_mode = models.CharField(max_length=50, default="default")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_loop_count__gte=1, max_loop_count__lte=MAX_LOOP_LIMIT),
                name="agent_max_loop_count_range",
                violation_error_message=f"maxLoopCount must be between 1 and {MAX_LOOP_LIMIT}.",
            ),
            models.CheckConstraint(
                condition=~Q(name=""),
                name="agent_name_not_empty",
                violation_error_message="An agent needs a name.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AgentGrant(models.Model):
    """Lets ``user`` see and run ``agent``; only the owner edits it."""

    agent = models.ForeignKey(Agent, related_name="grants", on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="agent_grants", on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["agent", "user"],
                name="agentgrant_unique_user_per_agent",
                violation_error_message="This user already has access to the agent.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.agent} → {self.user}"
