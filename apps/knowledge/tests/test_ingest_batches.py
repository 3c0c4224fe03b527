"""Ingestion by length-sorted batches, and batches of documents parsed ahead while the current one embeds."""
from __future__ import annotations

import numpy as np
import pytest
from django.db import connections

from apps.core.locks import uuid_lock_key
from apps.knowledge import embedding, services, tasks
from apps.knowledge.models import Document
from apps.knowledge.tests.conftest import corpus_file
from apps.knowledge.tests.factories import DocumentFactory, KnowledgeBaseFactory

pytestmark = pytest.mark.django_db


def test_chunks_come_back_in_document_order_with_their_own_vectors(alice):
    kb = KnowledgeBaseFactory(owner=alice, chunk_size=160, chunk_overlap=30)
    document = services.document_create(owner=alice, upload=corpus_file("nightjar.md"), knowledge_base=kb, queue=False)
    document = services.document_ingest(document_id=document.pk)
    chunks = list(document.chunks.order_by("ordinal"))
    assert [c.ordinal for c in chunks] == list(range(document.chunk_count)) and len(chunks) > 5
    starts = [c.metadata["start"] for c in chunks]
    assert starts == sorted(starts)
    # Batches were cut by token count, not in document order: each vector still belongs to its own text.
    counts = embedding.local_encoder().token_counts([c.content for c in chunks])
    assert counts != sorted(counts)
    alone = np.asarray(embedding.embed_texts([c.content for c in chunks]))
    assert np.allclose(np.asarray([c.embedding for c in chunks]), alone, atol=1e-5)


def test_several_documents_ingest_in_one_call_each_with_its_own_outcome(alice):
    good = services.document_create(owner=alice, upload=corpus_file("teas.csv"), queue=False)
    broken = DocumentFactory(owner=alice, content=b"%PDF-1.4 not really", filename="broken.pdf")
    deleted = DocumentFactory(owner=alice)
    deleted_id = deleted.pk
    services.document_delete(document=deleted)
    other = services.document_create(owner=alice, upload=corpus_file("nightjar.md"), queue=False)
    results = services.documents_ingest(document_ids=[good.pk, broken.pk, deleted_id, other.pk])
    assert [document_id for document_id, _ in results] == [str(good.pk), str(broken.pk), str(deleted_id), str(other.pk)]
    outcome = {document_id: result for document_id, result in results}
    assert outcome[str(good.pk)].status == Document.Status.INGESTED and outcome[str(good.pk)].chunk_count == 8
    assert outcome[str(broken.pk)].status == Document.Status.FAILED and outcome[str(broken.pk)].error
    assert outcome[str(deleted_id)] is None
    assert outcome[str(other.pk)].status == Document.Status.INGESTED
    assert other.chunks.count() == outcome[str(other.pk)].chunk_count > 0


def test_a_busy_document_is_handed_back_and_a_redelivered_batch_skips_finished_ones(alice):
    done = services.document_create(owner=alice, upload=corpus_file("teas.csv"), queue=False)
    services.document_ingest(document_id=done.pk)
    chunk_ids = set(done.chunks.values_list("pk", flat=True))
    busy = DocumentFactory(owner=alice)
    waiting = DocumentFactory(owner=alice)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [uuid_lock_key(busy.pk)])
        results = dict(services.documents_ingest(document_ids=[done.pk, busy.pk, waiting.pk], only_pending=True))
    finally:
        other.close()
    assert isinstance(results[str(busy.pk)], services.IngestBusy)
    assert results[str(waiting.pk)].status == Document.Status.INGESTED
    # Already ingested: skipped, not re-embedded (its chunks keep their ids).
    assert results[str(done.pk)].status == Document.Status.INGESTED
    assert set(done.chunks.values_list("pk", flat=True)) == chunk_ids


def test_the_batch_task_sends_a_busy_document_on_alone(alice, monkeypatch):
    busy = DocumentFactory(owner=alice)
    sent = []
    monkeypatch.setattr(tasks, "enqueue", lambda task, **kwargs: sent.append((task, kwargs)))
    monkeypatch.setattr(
        tasks.services, "documents_ingest", lambda **kwargs: [(str(busy.pk), services.IngestBusy(str(busy.pk)))]
    )
    tasks.ingest_documents_task.run(document_ids=[str(busy.pk)])
    assert sent == [(tasks.ingest_document_task, {"document_id": str(busy.pk)})]


def test_an_upload_batch_and_a_reingest_queue_one_message_for_all_their_documents(alice, monkeypatch):
    kb = KnowledgeBaseFactory(owner=alice)
    sent = []
    monkeypatch.setattr(services, "enqueue", lambda task, **kwargs: sent.append((getattr(task, "name", task), kwargs)))
    task = services.document_upload_batch(
        owner=alice, knowledge_base=kb, uploads=[corpus_file("teas.csv"), corpus_file("nightjar.md")], replace=True
    )
    ids = sorted(str(pk) for pk in task.documents.values_list("pk", flat=True))
    assert [(name, sorted(kwargs["document_ids"])) for name, kwargs in sent] == [(tasks.ingest_documents_task.name, ids)]
    sent.clear()
    Document.objects.filter(knowledge_base=kb).update(status=Document.Status.INGESTED)
    assert services.knowledge_base_reingest_all(knowledge_base=kb) == 2
    assert [(name, sorted(kwargs["document_ids"])) for name, kwargs in sent] == [(tasks.ingest_documents_task.name, ids)]
    assert set(kb.documents.values_list("status", flat=True)) == {Document.Status.QUEUED}
