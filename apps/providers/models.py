"""LLM providers (OpenAI-compatible endpoints) and the token usage of every model call."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.fields import EncryptedTextField


class LLMProvider(models.Model):
    """An OpenAI-compatible chat endpoint; ``owner`` null makes it system-wide."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="llm_providers", on_delete=models.CASCADE
    )
    name = models.CharField(max_length=200)
    base_url = models.URLField(max_length=500)
    # Exactly one key, encrypted at rest with a key kept outside the database; no API returns it.
    api_key = EncryptedTextField(blank=True)
    model = models.CharField(max_length=200)
    max_tokens = models.PositiveIntegerField(null=True, blank=True)
    temperature = models.FloatField(null=True, blank=True)
    top_p = models.FloatField(null=True, blank=True)
    presence_penalty = models.FloatField(null=True, blank=True)
    max_model_len = models.PositiveIntegerField(null=True, blank=True)
    supports_multimodal = models.BooleanField(default=False)
    # Off: calls follow the outbound policy of the URL fetcher (public addresses only, pinned).
    # Only staff may turn it on, for a self-hosted Ollama or vLLM on the LAN.
    allow_private_network = models.BooleanField(default=False)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"],
                condition=Q(is_default=True),
                name="llmprovider_one_default_per_owner",
                violation_error_message="This owner already has a default provider.",
            ),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True, owner__isnull=True),
                name="llmprovider_one_system_default",
                violation_error_message="There is already a system-wide default provider.",
            ),
            models.CheckConstraint(
                condition=Q(temperature__isnull=True) | Q(temperature__gte=0, temperature__lte=2),
                name="llmprovider_temperature_range",
                violation_error_message="Temperature must be between 0 and 2.",
            ),
            models.CheckConstraint(
                condition=Q(top_p__isnull=True) | Q(top_p__gte=0, top_p__lte=1),
                name="llmprovider_top_p_range",
                violation_error_message="top_p must be between 0 and 1.",
            ),
            models.CheckConstraint(
                condition=Q(presence_penalty__isnull=True) | Q(presence_penalty__gte=-2, presence_penalty__lte=2),
                name="llmprovider_presence_penalty_range",
                violation_error_message="presence_penalty must be between -2 and 2.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"

    @property
    def api_key_hint(self) -> str:
        """Enough of the key to recognise it, never enough to use it."""
        key = self.api_key or ""
        if len(key) <= 8:
            return "****" if key else ""
        return f"{key[:3]}…{key[-4:]}"


class UsageRecord(models.Model):
    """Tokens spent by one model call; billing prices these."""

    # Usage outlives its user and its provider (billing prices it): the labels keep who and what it was.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="usage_records", on_delete=models.SET_NULL
    )
    user_label = models.CharField(max_length=300, blank=True)
    provider = models.ForeignKey(
        LLMProvider, null=True, blank=True, related_name="usage_records", on_delete=models.SET_NULL
    )
    provider_label = models.CharField(max_length=300, blank=True)
    model = models.CharField(max_length=200)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    # No foreign key: conversations depends on this app, not the reverse.
    run_id = models.UUIDField(null=True, blank=True, db_index=True)
    session_id = models.CharField(max_length=200, blank=True, db_index=True)
    endpoint = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="usage_user_created")]

    def __str__(self) -> str:
        return f"{self.model}: {self.input_tokens}+{self.output_tokens} tokens"

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens
