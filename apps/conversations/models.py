"""Projects, threads, messages, agent runs and their numbered events.

One ``Thread`` is behind every API's notion of a conversation: 000's thread (a
client-supplied id), 002's session, 003's thread and 004's thread. An
``AgentRun`` is one background execution of the agent on a thread; its
``RunEvent`` rows are every event it produced, numbered 1, 2, 3, ... so a client
can resume from any index.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


def new_thread_id() -> str:
    return str(uuid.uuid4())


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="projects", on_delete=models.CASCADE)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(name=""), name="project_name_not_empty", violation_error_message="A project needs a name."
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Thread(models.Model):
    # Clients of 000 and 002 choose the id (a uuid or "sess_123"), so it is a string.
    id = models.CharField(primary_key=True, max_length=128, default=new_thread_id)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="threads", on_delete=models.CASCADE)
    project = models.ForeignKey(Project, null=True, blank=True, related_name="threads", on_delete=models.CASCADE)
    agent = models.ForeignKey(
        "agents.Agent", null=True, blank=True, related_name="threads", on_delete=models.SET_NULL
    )
    title = models.CharField(max_length=300, blank=True)
    pinned = models.BooleanField(default=False)
    is_shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-pinned", "-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="thread_owner_recent")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(id=""), name="thread_id_not_empty", violation_error_message="A thread id cannot be empty."
            ),
        ]

    def __str__(self) -> str:
        return self.title or self.id


class Message(models.Model):
    class Role(models.TextChoices):
        SYSTEM = "system", "system"
        USER = "user", "user"
        ASSISTANT = "assistant", "assistant"
        TOOL = "tool", "tool"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, related_name="messages", on_delete=models.CASCADE)
    run = models.ForeignKey("AgentRun", null=True, blank=True, related_name="messages", on_delete=models.SET_NULL)
    role = models.CharField(max_length=20, choices=Role.choices)
    content = models.TextField(blank=True)
    # Multimodal content as sent (OpenAI-style parts); ``content`` keeps the text of it.
    parts = models.JSONField(null=True, blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    tool_call_id = models.CharField(max_length=200, blank=True)
    reasoning = models.TextField(blank=True)
    citations = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at"], name="message_thread_time")]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:60]}"


class AgentRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        COMPLETED = "completed", "completed"
        FAILED = "failed", "failed"
        STOPPED = "stopped", "stopped"

    FINISHED = (Status.COMPLETED, Status.FAILED, Status.STOPPED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    thread = models.ForeignKey(Thread, related_name="runs", on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="agent_runs", on_delete=models.CASCADE)
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, related_name="runs", on_delete=models.SET_NULL)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    # Which API started it ("000 /chat/stream", "002 /api/stream", ...), recorded with usage.
    endpoint = models.CharField(max_length=100, blank=True)
    # The request body the runtime builds its per-request overrides from.
    options = models.JSONField(default=dict, blank=True)
    # The assistant message this run writes; its id is known up front so live events can name it.
    response_message_id = models.UUIDField(default=uuid.uuid4, editable=False)
    stop_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    usage = models.JSONField(default=dict, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker running it every RUN_HEARTBEAT_SECONDS; the reaper fails a run whose
    # heartbeat has stopped (its worker died), so no run stays running forever.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "status"], name="agentrun_user_status"),
            models.Index(fields=["status", "heartbeat_at"], name="agentrun_status_heartbeat"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(finished_at__isnull=True) | Q(status__in=["completed", "failed", "stopped"]),
                name="agentrun_finished_has_final_status",
                violation_error_message="Only a completed, failed or stopped run has a finish time.",
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED


class RunEvent(models.Model):
    run = models.ForeignKey(AgentRun, related_name="events", on_delete=models.CASCADE)
    sequence = models.PositiveIntegerField()
    type = models.CharField(max_length=30)
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["run", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "sequence"],
                name="runevent_unique_sequence_per_run",
                violation_error_message="A run numbers each event once.",
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="runevent_sequence_from_one",
                violation_error_message="Event numbers start at 1.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.sequence} {self.type}"
