"""Celery tasks of the studio: thin, they take ids and call a service (default queue)."""
from __future__ import annotations

from celery import shared_task

from apps.studio import services


@shared_task(name="studio.execute_job", acks_late=True, reject_on_worker_lost=True)
def execute_job(*, job_id: str) -> None:
    services.job_execute(job_id=job_id)
