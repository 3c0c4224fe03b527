"""Generation jobs: one row per podcast, slide deck or speech a user asked for."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class GenerationJob(models.Model):
    class Kind(models.TextChoices):
        SPEECH = "speech", "Speech"
        PODCAST = "podcast", "Podcast"
        SLIDES = "slides", "Slide deck"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="generation_jobs", on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    input = models.JSONField(default=dict, help_text="The request as the client sent it (validated).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)
    progress_note = models.CharField(max_length=300, blank=True)
    cancel_requested = models.BooleanField(default=False)
    result_file = models.FileField(upload_to="studio/%Y/%m/", blank=True)
    result_content_type = models.CharField(max_length=100, blank=True)
    result_text = models.TextField(blank=True)
    engine = models.CharField(max_length=100, blank=True, help_text="What did the work: espeak-ng, a model, ...")
    error = models.TextField(blank=True)
    error_status = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="The HTTP status a failed job answers with: 424 when the user's own model provider failed, else 502.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=1),
                name="generationjob_progress_range",
                violation_error_message="Progress must be between 0 and 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED
