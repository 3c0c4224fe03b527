"""Celery tasks of the tasks app: thin, they take ids and call a service."""
from __future__ import annotations

from celery import shared_task

from apps.tasks import schedules


@shared_task(name=schedules.FIRE_TASK, acks_late=True, reject_on_worker_lost=True)
def fire_scheduled_agent_task(*, schedule_id: str) -> None:
    """Beat's tick of one schedule (django-celery-beat sends it with the schedule's id)."""
    schedules.schedule_fire(schedule_id=schedule_id)
