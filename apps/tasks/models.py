"""001's step-wise agent tasks: a task and the steps the agent took on it, one per ``POST``."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

#: A task stops accepting steps past this many, so a client loop cannot run forever.
MAX_TASK_STEPS = 100


class Task(models.Model):
    """A request the agent works on one step at a time; its documents live in the knowledge app."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        AWAITING_INPUT = "awaiting_input", "Awaiting input"
        COMPLETED = "completed", "Completed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="tasks", on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    request = models.TextField(help_text="The first message: what the task is about.")
    context = models.JSONField(default=dict, blank=True, help_text="State the client handed over with stateData.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    created = models.DateTimeField(auto_now_add=True)
    completed = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["owner", "-created"], name="task_owner_created")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(request=""),
                name="task_request_not_empty",
                violation_error_message="A task needs a request.",
            ),
            models.CheckConstraint(
                condition=Q(status="completed", completed__isnull=False) | (~Q(status="completed") & Q(completed__isnull=True)),
                name="task_completed_iff_status_completed",
                violation_error_message="Exactly the completed tasks have a completion time.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_completed(self) -> bool:
        return self.status == self.Status.COMPLETED


class StepStatus(models.TextChoices):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    AWAITING_INPUT = "AWAITING_INPUT"
    IN_PROGRESS = "IN_PROGRESS"


class TaskStep(models.Model):
    """One agent step: what the user said, the one action the model chose, and what came of it.

    ``action`` is ``{name, parameters, reasoning, final, call_id}`` and ``result`` is
    ``{status, details, summary, error, message}``, the documented step JSON (``call_id``
    ties an action to its answer in the next model call and is not shown).
    """

    task = models.ForeignKey(Task, related_name="steps", on_delete=models.CASCADE)
    index = models.PositiveIntegerField()
    input = models.TextField(blank=True)
    state_data = models.JSONField(null=True, blank=True)
    action = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    # The workspace documents as the step saw them ({taskId, filename, metadata}), so history stays as it was.
    documents = models.JSONField(default=list, blank=True)
    model = models.CharField(max_length=200, blank=True, help_text="The model that chose the action.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "index"],
                name="task_step_unique_index",
                violation_error_message="A task cannot have two steps with the same index.",
            ),
            models.CheckConstraint(
                condition=Q(result__status__in=StepStatus.values),
                name="task_step_result_status",
                violation_error_message="A step's result status is SUCCESS, FAILURE, AWAITING_INPUT or IN_PROGRESS.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} step {self.index}: {self.action.get('name', '')}"

    @property
    def status(self) -> str:
        return self.result.get("status", "")

    @property
    def is_final(self) -> bool:
        return bool(self.action.get("final"))


class ScheduledAgentTask(models.Model):
    """An agent prompt run on a schedule (003 ``/api/v1/task/schedulers``).

    django-celery-beat's ``PeriodicTask`` (with its crontab or interval) is what beat reads;
    this row is the owner's view of it and the one that is edited: ``apps.tasks.schedules``
    keeps the two in step.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, related_name="scheduled_agent_tasks", on_delete=models.CASCADE)
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, related_name="schedules", on_delete=models.CASCADE,
                              help_text="Empty: the owner's default agent.")
    name = models.CharField(max_length=200)
    prompt = models.TextField()
    cron = models.CharField(max_length=120, blank=True, help_text="Five fields: minute hour day month weekday.")
    interval_seconds = models.PositiveIntegerField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True, blank=True, editable=False,
                                         related_name="scheduled_agent_task", on_delete=models.SET_NULL)
    last_run_at = models.DateTimeField(null=True, blank=True)
    next_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(cron="") & Q(interval_seconds__isnull=False))
                | (~Q(cron="") & Q(interval_seconds__isnull=True)),
                name="scheduled_agent_task_cron_xor_interval",
                violation_error_message="A schedule has either a cron expression or an interval, not both.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ScheduledTaskExecution(models.Model):
    """One tick of a schedule: the run it started, or why it was skipped."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Run now"

    class Outcome(models.TextChoices):
        STARTED = "started", "Started a run"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed to start"

    schedule = models.ForeignKey(ScheduledAgentTask, related_name="executions", on_delete=models.CASCADE)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    run = models.ForeignKey("conversations.AgentRun", null=True, blank=True, related_name="schedule_executions",
                            on_delete=models.SET_NULL)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.schedule_id} {self.outcome} at {self.created_at:%Y-%m-%d %H:%M}"
