"""Celery tasks of the knowledge app: thin, they take ids and call a service."""
from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from apps.core.jobs import enqueue
from apps.knowledge import services

MAX_RETRIES = 5


@shared_task(
    name="knowledge.ingest_document",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=MAX_RETRIES,
    soft_time_limit=settings.INGEST_TIME_LIMIT,
    time_limit=settings.INGEST_TIME_LIMIT + 30,
)
def ingest_document_task(self, *, document_id: str) -> None:
    """Ingest one document; a worker killed mid-way leaves the message unacknowledged for redelivery,
    up to ``INGEST_MAX_DELIVERIES`` times."""
    if not services.ingest_delivery_begin(document_id=document_id):
        return
    try:
        services.document_ingest(document_id=document_id)
    except SoftTimeLimitExceeded:
        services.document_fail(
            document_id=document_id,
            reason=f"Ingestion took longer than {settings.INGEST_TIME_LIMIT} seconds and was stopped.",
        )
    except services.TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            services.document_fail(document_id=document_id, reason="Ingestion gave up after repeated transient errors.")
            return
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc
    finally:
        services.ingest_delivery_end(document_id=document_id)


@shared_task(name="knowledge.ingest_documents", acks_late=True, reject_on_worker_lost=True)
def ingest_documents_task(*, document_ids: list[str]) -> None:
    """Ingest a batch in one worker, parsing the next document while the current one embeds.

    A document that meets a transient error goes on alone as :func:`ingest_document_task`, with
    its retries. Redelivered after a killed worker, the batch hands every document it has not
    finished to its own :func:`ingest_document_task`, whose delivery bound fails the one file
    that keeps killing workers instead of redelivering the whole batch forever.
    """
    if not services.batch_delivery_begin(document_ids=document_ids):
        for document_id in services.pending_document_ids(document_ids=document_ids):
            enqueue(ingest_document_task, document_id=document_id)
        services.batch_delivery_end(document_ids=document_ids)
        return
    try:
        for document_id, result in services.documents_ingest(document_ids=document_ids, only_pending=True):
            if isinstance(result, Exception):
                enqueue(ingest_document_task, document_id=document_id)
    finally:
        services.batch_delivery_end(document_ids=document_ids)
