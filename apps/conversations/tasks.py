"""Celery tasks of the conversations app: thin, they take ids and call a service."""
from __future__ import annotations

from celery import shared_task

from apps.conversations import services


@shared_task(name="conversations.execute_run", acks_late=True, ignore_result=True)
def execute_run(*, run_id: str) -> None:
    # Idempotent: run_execute claims only a queued run, so a redelivered task is a no-op.
    services.run_execute(run_id=run_id)
