"""Scheduled agent tasks: every write and read of ``ScheduledAgentTask``, and each tick of one.

django-celery-beat's ``PeriodicTask`` is what beat reads (its crontab in the schedule's own
time zone, or an interval); it is written here whenever the schedule changes, and always in
the same transaction, so beat never fires a schedule that no longer exists.

A tick (:func:`schedule_fire`) starts a normal agent run through
``conversations.services.run_start``, in a conversation thread of its own: kept, streamed,
metered and charged like any other run. A schedule never overlaps itself: while the run of a
previous tick is queued or running, a tick is skipped with a note.
"""
from __future__ import annotations

import json
import logging
import uuid
import zoneinfo
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import crontab
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.agents.models import Agent
from apps.billing.services import INSUFFICIENT, credits_available
from apps.conversations import services as conversations
from apps.conversations.models import AgentRun
from apps.core.errors import Invalid, NotFound, ServiceError
from apps.tasks.models import ScheduledAgentTask, ScheduledTaskExecution

logger = logging.getLogger(__name__)

FIRE_TASK = "tasks.fire_scheduled_agent_task"
MIN_INTERVAL_SECONDS = 60
#: A year: a longer interval is no schedule (and past ~10**9 days no date can hold it).
MAX_INTERVAL_SECONDS = 366 * 24 * 3600
RUN_ENDPOINT = "003 /api/v1/task/schedulers"

def _owner_disabled(owner: Any) -> str | None:
    return None if owner.is_active else "The owner's account is disabled."


def _owner_out_of_credits(owner: Any) -> str | None:
    return None if credits_available(user=owner) else INSUFFICIENT


#: Checks that may stop an owner's schedule from running, each returning why (or None): a
#: schedule whose owner is disabled or out of credits skips and records why instead of starting a run.
OWNER_CHECKS: list[Callable[[Any], str | None]] = [_owner_disabled, _owner_out_of_credits]


# ------------------------------------------------------------------------------
# Validation
# ------------------------------------------------------------------------------
def _crontab(expression: str, tz: zoneinfo.ZoneInfo) -> crontab:
    fields = expression.split()
    if len(fields) != 5:
        raise Invalid("A cron expression has five fields.",
                      field_errors={"cron": ["Use five fields: minute hour day-of-month month day-of-week."]})
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        schedule = crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                           day_of_week=day_of_week, nowfun=lambda: timezone.now().astimezone(tz))
        schedule.remaining_estimate(timezone.now().astimezone(tz))
    except (ValueError, KeyError, IndexError) as exc:
        raise Invalid(f"Invalid cron expression: {exc}", field_errors={"cron": [str(exc)]}) from None
    except RuntimeError:
        raise Invalid("This cron expression never fires.", field_errors={"cron": ["It matches no date."]}) from None
    return schedule


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"Unknown time zone {name!r}.", field_errors={"timezone": ["Use an IANA time zone name."]}) from None


def check_timing(*, cron: str, interval_seconds: int | None, tz_name: str) -> None:
    tz = _zone(tz_name)
    if bool(cron) == (interval_seconds is not None):
        raise Invalid("Give either a cron expression or an interval.",
                      field_errors={"cron": ["Give either cron or interval_seconds, not both or neither."]})
    if cron:
        _crontab(cron, tz)
    elif interval_seconds < MIN_INTERVAL_SECONDS:
        raise Invalid("The interval is too short.",
                      field_errors={"interval_seconds": [f"Ensure this value is at least {MIN_INTERVAL_SECONDS}."]})
    elif interval_seconds > MAX_INTERVAL_SECONDS:
        raise Invalid("The interval is too long.",
                      field_errors={"interval_seconds": [f"Ensure this value is at most {MAX_INTERVAL_SECONDS}."]})


def next_run(schedule: ScheduledAgentTask, *, after: datetime | None = None) -> datetime | None:
    if not schedule.enabled:
        return None
    now = after or timezone.now()
    if schedule.interval_seconds:
        return now + timedelta(seconds=schedule.interval_seconds)
    tz = _zone(schedule.timezone)
    at = now + _crontab(schedule.cron, tz).remaining_estimate(now.astimezone(tz))
    # celery's estimate lands a hair before the minute; the schedule means the minute itself.
    return (at + timedelta(seconds=1)).replace(microsecond=0) if at.microsecond else at


# ------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------
def schedule_list(*, user: Any) -> QuerySet[ScheduledAgentTask]:
    return ScheduledAgentTask.objects.filter(owner=user).select_related("agent")


def schedule_get(*, user: Any, schedule_id: Any) -> ScheduledAgentTask:
    """The user's schedule; anyone else's, or a malformed id, is 404."""
    try:
        pk = uuid.UUID(str(schedule_id))
    except ValueError:
        raise NotFound("Scheduled task not found.") from None
    schedule = schedule_list(user=user).filter(pk=pk).first()
    if schedule is None:
        raise NotFound("Scheduled task not found.")
    return schedule


def execution_list(*, schedule: ScheduledAgentTask, limit: int = 20) -> list[ScheduledTaskExecution]:
    return list(schedule.executions.select_related("run")[:limit])


# ------------------------------------------------------------------------------
# Writes
# ------------------------------------------------------------------------------
def _beat_sync(schedule: ScheduledAgentTask) -> None:
    """Write the PeriodicTask beat reads for this schedule."""
    if schedule.cron:
        minute, hour, day_of_month, month_of_year, day_of_week = schedule.cron.split()
        crontab_row, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
            day_of_week=day_of_week, timezone=schedule.timezone,
        )
        timing: dict[str, Any] = {"crontab": crontab_row, "interval": None}
    else:
        interval_row, _ = IntervalSchedule.objects.get_or_create(every=schedule.interval_seconds,
                                                                 period=IntervalSchedule.SECONDS)
        timing = {"interval": interval_row, "crontab": None}
    values = {"task": FIRE_TASK, "kwargs": json.dumps({"schedule_id": str(schedule.pk)}),
              "enabled": schedule.enabled, **timing}
    periodic_task = PeriodicTask.objects.filter(pk=schedule.periodic_task_id).first() if schedule.periodic_task_id else None
    if periodic_task is not None:
        # save(), not update(): its signal is what tells a running beat that the schedule changed.
        for field, value in values.items():
            setattr(periodic_task, field, value)
        periodic_task.save()
    else:
        schedule.periodic_task = PeriodicTask.objects.create(name=f"scheduled-agent-task:{schedule.pk}", **values)
        ScheduledAgentTask.objects.filter(pk=schedule.pk).update(periodic_task=schedule.periodic_task)


@transaction.atomic
def schedule_create(
    *, owner: Any, name: str, prompt: str, agent: Agent | None = None, cron: str = "",
    interval_seconds: int | None = None, tz_name: str = "UTC", enabled: bool = True,
) -> ScheduledAgentTask:
    cron = " ".join(cron.split())
    check_timing(cron=cron, interval_seconds=interval_seconds, tz_name=tz_name)
    schedule = ScheduledAgentTask(owner=owner, agent=agent, name=name.strip(), prompt=prompt.strip(), cron=cron,
                                  interval_seconds=interval_seconds, timezone=tz_name, enabled=enabled)
    schedule.next_run_at = next_run(schedule)
    schedule.save()
    _beat_sync(schedule)
    return schedule


@transaction.atomic
def schedule_update(*, schedule: ScheduledAgentTask, changes: dict[str, Any]) -> ScheduledAgentTask:
    """Apply ``changes`` (name, prompt, agent, cron, interval_seconds, timezone, enabled)."""
    schedule = ScheduledAgentTask.objects.select_for_update().get(pk=schedule.pk)
    if "cron" in changes:
        changes["cron"] = " ".join((changes["cron"] or "").split())
        if changes["cron"] and "interval_seconds" not in changes:
            changes["interval_seconds"] = None
    if changes.get("interval_seconds") is not None and "cron" not in changes:
        changes["cron"] = ""
    for field, value in changes.items():
        setattr(schedule, field, value.strip() if field in ("name", "prompt") else value)
    check_timing(cron=schedule.cron, interval_seconds=schedule.interval_seconds, tz_name=schedule.timezone)
    schedule.next_run_at = next_run(schedule)
    schedule.save()
    _beat_sync(schedule)
    return schedule


@transaction.atomic
def schedule_delete(*, schedule: ScheduledAgentTask) -> None:
    periodic_task_id = schedule.periodic_task_id
    schedule.delete()
    if periodic_task_id:
        PeriodicTask.objects.filter(pk=periodic_task_id).delete()


def _skip_reason(schedule: ScheduledAgentTask, trigger: str) -> str | None:
    if trigger == ScheduledTaskExecution.Trigger.SCHEDULE and not schedule.enabled:
        return "The schedule is disabled."
    for check in OWNER_CHECKS:
        reason = check(schedule.owner)
        if reason:
            return reason
    in_progress = schedule.executions.filter(
        run__status__in=[AgentRun.Status.QUEUED, AgentRun.Status.RUNNING]
    ).values_list("run_id", flat=True).first()
    if in_progress:
        return f"The previous run ({in_progress}) is still in progress."
    return None


@transaction.atomic
def schedule_fire(*, schedule_id: str, trigger: str = ScheduledTaskExecution.Trigger.SCHEDULE) -> ScheduledTaskExecution | None:
    """One tick: start a run, or record why not. Ticks of one schedule are serialised by a row lock."""
    schedule = (ScheduledAgentTask.objects.select_for_update(of=("self",)).select_related("owner", "agent")
                .filter(pk=schedule_id).first())
    if schedule is None:
        logger.info("scheduled task %s no longer exists; tick ignored", schedule_id)
        return None
    now = timezone.now()
    reason = _skip_reason(schedule, trigger)
    if reason:
        execution = ScheduledTaskExecution.objects.create(
            schedule=schedule, trigger=trigger, outcome=ScheduledTaskExecution.Outcome.SKIPPED, note=reason)
    else:
        try:
            with transaction.atomic():
                run = conversations.run_start(
                    user=schedule.owner, messages=[{"role": "user", "content": schedule.prompt}],
                    endpoint=RUN_ENDPOINT, agent=schedule.agent,
                    title=f"{schedule.name} · {now.astimezone(_zone(schedule.timezone)):%Y-%m-%d %H:%M}",
                )
        except ServiceError as exc:
            execution = ScheduledTaskExecution.objects.create(
                schedule=schedule, trigger=trigger, outcome=ScheduledTaskExecution.Outcome.FAILED, note=exc.message)
        else:
            execution = ScheduledTaskExecution.objects.create(
                schedule=schedule, trigger=trigger, outcome=ScheduledTaskExecution.Outcome.STARTED, run=run,
                note=f"Started run {run.pk} in thread {run.thread_id}.")
            schedule.last_run_at = now
    schedule.next_run_at = next_run(schedule, after=now)
    schedule.save(update_fields=["last_run_at", "next_run_at", "updated_at"])
    return execution
