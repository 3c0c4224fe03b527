"""Celery tasks of the conversations app: thin, they take ids and call a service."""
from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

from apps.conversations import runner, services

logger = logging.getLogger(__name__)


@shared_task(name="conversations.execute_run", acks_late=True, ignore_result=True)
def execute_run(*, run_id: str) -> None:
    # Idempotent: run_execute claims only a queued run, so a redelivered task is a no-op.
    services.run_execute(run_id=run_id)


@shared_task(name="conversations.reap_stale_runs", ignore_result=True)
def reap_stale_runs() -> None:
    # Scheduled by beat (CELERY_BEAT_SCHEDULE); on the default queue, so it runs when every run worker is dead.
    services.runs_reap_stale()


@worker_ready.connect
def warm_run_worker(sender: Any = None, **kwargs: Any) -> None:
    # Only a worker that serves runs; it answers pings (make run's ready check) once this is done.
    queues = set(sender.app.amqp.queues.consume_from or ()) if sender is not None else set()
    if settings.CELERY_RUN_QUEUE in queues:
        runner.warm_up()
        # The first line against dead runs; beat's reap_stale_runs is the second.
        runner.start_stale_sweep(services.runs_reap_stale)
        logger.info("run worker warmed up")


@worker_shutdown.connect
def close_run_worker(sender: Any = None, **kwargs: Any) -> None:
    # The pooled model session and its kept upstream connections, closed before the process exits.
    runner.close_run_loop_session()
