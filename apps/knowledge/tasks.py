"""Celery tasks of the knowledge app: thin, they take ids and call a service."""
from __future__ import annotations

from celery import shared_task

from apps.knowledge import services

MAX_RETRIES = 5


@shared_task(name="knowledge.ingest_document", bind=True, acks_late=True, reject_on_worker_lost=True,
             max_retries=MAX_RETRIES)
def ingest_document_task(self, *, document_id: str) -> None:
    """Ingest one document; a worker killed mid-way leaves the message unacknowledged for redelivery."""
    try:
        services.document_ingest(document_id=document_id)
    except services.TRANSIENT_ERRORS as exc:
        if self.request.retries >= self.max_retries:
            services.document_fail(document_id=document_id, reason="Ingestion gave up after repeated transient errors.")
            return
        raise self.retry(exc=exc, countdown=min(60, 2 ** (self.request.retries + 1))) from exc
