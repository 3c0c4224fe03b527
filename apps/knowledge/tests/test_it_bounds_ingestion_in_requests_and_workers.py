"""Ingestion is bounded: no large parse inside a request, chunk lists in pages, storage quotas,
and a file that keeps killing its worker is failed with the reason shown."""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.knowledge import services, tasks
from apps.knowledge.models import Document
from apps.knowledge.tasks import ingest_document_task
from apps.knowledge.tests.conftest import corpus_file
from apps.knowledge.tests.test_api_codex import ingested

pytestmark = pytest.mark.django_db


def test_a_temporal_upload_over_the_inline_limit_is_refused_before_parsing(alice_client, settings):
    settings.KNOWLEDGE_INLINE_INGEST_MAX_BYTES = 100
    upload = SimpleUploadedFile("big.txt", b"words " * 100, content_type="text/plain")
    response = alice_client.post("/upload/temporal?thread_id=t-1", {"file": upload}, format="multipart")
    assert response.status_code == 413
    assert "background" in response.json()["detail"]
    assert not Document.objects.exists()


def test_reingesting_a_file_over_the_inline_limit_is_refused(alice, alice_client, settings):
    document = ingested(alice, "teas.csv")
    settings.KNOWLEDGE_INLINE_INGEST_MAX_BYTES = document.size - 1
    response = alice_client.post("/documents/teas.csv/reingest")
    assert response.status_code == 413
    assert "background" in response.json()["detail"]


def test_chunks_come_in_pages_with_the_total_in_a_header(alice, alice_client):
    document = ingested(alice, "teas.csv")
    first = alice_client.get(f"/api/documents/{document.pk}/chunks", {"size": 3})
    assert first.status_code == 200 and len(first.json()) == 3 and first["X-Total-Count"] == "8"
    last = alice_client.get(f"/api/documents/{document.pk}/chunks", {"size": 3, "page": 3}).json()
    assert len(last) == 2
    everything = alice_client.get(f"/api/documents/{document.pk}/chunks").json()
    assert [chunk["id"] for chunk in everything] == [chunk["id"] for chunk in first.json()] + [
        chunk["id"] for chunk in everything[3:]]
    assert alice_client.get(f"/api/documents/{document.pk}/chunks", {"size": 501}).status_code == 400
    assert alice_client.get(f"/api/documents/{document.pk}/chunks", {"page": 0}).status_code == 400


def test_the_storage_quota_refuses_an_upload_that_would_exceed_it(alice, alice_client, settings):
    settings.STORAGE_QUOTA_BYTES = 60
    assert alice_client.post("/upload", {"file": SimpleUploadedFile("a.txt", b"x" * 50)},
                             format="multipart").status_code == 202
    response = alice_client.post("/upload", {"file": SimpleUploadedFile("b.txt", b"y" * 20)}, format="multipart")
    assert response.status_code == 413
    assert "quota" in response.json()["detail"].lower()
    assert Document.objects.filter(owner=alice).count() == 1


def test_a_document_whose_worker_keeps_dying_is_failed_with_the_reason(alice, settings):
    settings.INGEST_MAX_DELIVERIES = 3
    document = services.document_create(owner=alice, upload=corpus_file("teas.csv"), queue=False)
    # Three deliveries began and never ended: their workers were killed mid-way.
    for _ in range(3):
        assert services.ingest_delivery_begin(document_id=document.pk)
    ingest_document_task.apply(kwargs={"document_id": str(document.pk)})
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert "ended its worker 3 times" in document.error
    assert not document.chunks.exists()


def test_a_delivery_that_ends_normally_is_not_counted(alice, settings):
    settings.INGEST_MAX_DELIVERIES = 1
    document = services.document_create(owner=alice, upload=corpus_file("teas.csv"), queue=False)
    for _ in range(3):
        ingest_document_task.apply(kwargs={"document_id": str(document.pk)})
    document.refresh_from_db()
    assert document.status == Document.Status.INGESTED
    assert cache.get(f"ingest-deliveries:{document.pk}") is None


def test_ingestion_tasks_have_a_time_limit(settings):
    assert ingest_document_task.soft_time_limit == settings.INGEST_TIME_LIMIT
    assert ingest_document_task.time_limit > ingest_document_task.soft_time_limit


def test_a_batch_whose_worker_died_goes_on_one_bounded_task_per_document(alice, settings, monkeypatch):
    settings.INGEST_MAX_DELIVERIES = 2
    done, poison, waiting = (services.document_create(owner=alice, upload=corpus_file(name), queue=False)
                             for name in ("teas.csv", "nightjar.md", "planets.json"))
    services.document_ingest(document_id=done.pk)
    ids = [str(done.pk), str(poison.pk), str(waiting.pk)]
    sent = []
    monkeypatch.setattr(tasks, "enqueue", lambda task, **kwargs: sent.append((task, kwargs)))
    # The batch's first delivery began and never ended: ``poison`` killed its worker.
    assert services.batch_delivery_begin(document_ids=ids)
    tasks.ingest_documents_task.apply(kwargs={"document_ids": ids})
    # Redelivered, it is not run as a batch again (it would die again, forever): the documents it
    # had not finished go on alone, each with its own delivery count.
    assert sent == [(ingest_document_task, {"document_id": str(poison.pk)}),
                    (ingest_document_task, {"document_id": str(waiting.pk)})]
    assert not Document.objects.get(pk=waiting.pk).chunks.exists()
    # ``poison`` keeps killing its worker alone: failed after INGEST_MAX_DELIVERIES, the rest ingest.
    for _ in range(2):
        assert services.ingest_delivery_begin(document_id=poison.pk)
    for _, kwargs in sent:
        ingest_document_task.apply(kwargs=kwargs)
    statuses = dict(Document.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses == {done.pk: Document.Status.INGESTED, poison.pk: Document.Status.FAILED,
                        waiting.pk: Document.Status.INGESTED}
    assert "ended its worker 2 times" in Document.objects.get(pk=poison.pk).error
    # A batch that ends normally leaves no count behind: its next delivery runs as a batch again.
    assert services.batch_delivery_begin(document_ids=ids)
    services.batch_delivery_end(document_ids=ids)
