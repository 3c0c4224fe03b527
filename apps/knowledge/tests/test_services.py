"""Uploads and ingestion: idempotent, failing safely, cancelled by deletion, refusing bad input."""
from __future__ import annotations

import io
import json
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.errors import Conflict, Forbidden, Invalid, PayloadTooLarge, UnsupportedMediaType
from apps.core.locks import uuid_lock_key
from apps.knowledge import services
from apps.knowledge.models import Chunk, Document
from apps.knowledge.tests.conftest import corpus_file
from apps.knowledge.tests.factories import DocumentFactory, KnowledgeBaseFactory

pytestmark = pytest.mark.django_db


def test_it_ingests_a_pdf_into_chunks_with_pages_and_embeddings(alice):
    document = services.document_create(owner=alice, upload=corpus_file("handbook.pdf"), queue=False)
    document = services.document_ingest(document_id=document.pk)
    assert document.status == Document.Status.INGESTED
    assert document.progress == 1.0
    chunks = list(document.chunks.order_by("ordinal"))
    assert document.chunk_count == len(chunks) == 4
    assert [chunk.metadata["page"] for chunk in chunks] == [1, 2, 3, 4]
    assert len(chunks[0].embedding) == 384
    assert abs(sum(value * value for value in chunks[0].embedding) - 1.0) < 1e-3


def test_a_rerun_replaces_the_chunks_instead_of_adding_to_them(alice):
    document = services.document_create(owner=alice, upload=corpus_file("teas.csv"), queue=False)
    services.document_ingest(document_id=document.pk)
    first_ids = set(Chunk.objects.filter(document=document).values_list("pk", flat=True))
    services.document_ingest(document_id=document.pk)
    assert Chunk.objects.filter(document=document).count() == 8
    assert first_ids.isdisjoint(Chunk.objects.filter(document=document).values_list("pk", flat=True))
    assert [c.metadata["row"] for c in Chunk.objects.filter(document=document).order_by("ordinal")] == list(range(1, 9))


def test_a_corrupt_file_fails_with_its_reason_and_harms_no_other_document(alice):
    good = services.document_create(owner=alice, upload=corpus_file("nightjar.md"), queue=False)
    bad = services.document_create(
        owner=alice, upload=SimpleUploadedFile("broken.pdf", b"%PDF-1.4 garbage"), queue=False
    )
    services.document_ingest(document_id=good.pk)
    bad = services.document_ingest(document_id=bad.pk)
    assert bad.status == Document.Status.FAILED
    assert bad.display_status == "Failed: The PDF is damaged and cannot be read."
    assert bad.chunks.count() == 0
    good.refresh_from_db()
    assert good.status == Document.Status.INGESTED and good.chunks.count() == good.chunk_count > 0


def test_a_document_deleted_before_ingestion_is_skipped(alice):
    document = DocumentFactory(owner=alice)
    document_id = document.pk
    services.document_delete(document=document)
    assert services.document_ingest(document_id=document_id) is None
    assert not Chunk.objects.filter(document_id=document_id).exists()


def test_a_document_deleted_mid_way_is_cancelled_between_batches(alice, monkeypatch):
    # Small chunks keep the one batch that is embedded cheap; there are several batches to cancel.
    kb = KnowledgeBaseFactory(owner=alice, chunk_size=100, chunk_overlap=0)
    text = "\n\n".join(f"Paragraph {i} about subject {i}." for i in range(300)).encode()
    document = DocumentFactory(owner=alice, content=text, filename="long.txt", knowledge_base=kb)
    real_embed = services.embedding.embed_texts
    calls = []

    def embed_then_delete(texts, *, knowledge_base=None):
        calls.append(len(texts))
        if len(calls) == 1:
            Document.objects.filter(pk=document.pk).delete()
        return real_embed(texts, knowledge_base=knowledge_base)

    monkeypatch.setattr(services.embedding, "embed_texts", embed_then_delete)
    assert services.document_ingest(document_id=document.pk) is None
    assert len(calls) == 1
    assert not Chunk.objects.filter(document_id=document.pk).exists()


def test_a_second_ingestion_of_one_document_waits_for_the_lock(alice):
    from django.db import connections

    document = DocumentFactory(owner=alice)
    key = uuid_lock_key(document.pk)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        with pytest.raises(services.IngestBusy):
            services.document_ingest(document_id=document.pk)
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    finally:
        other.close()
    assert services.document_ingest(document_id=document.pk).status == Document.Status.INGESTED


def test_it_refuses_an_unsupported_type_and_stores_nothing(alice):
    with pytest.raises(UnsupportedMediaType):
        services.document_create(owner=alice, upload=SimpleUploadedFile("tool.exe", b"MZ..."))
    assert not Document.objects.exists()


def test_it_refuses_an_empty_file(alice):
    with pytest.raises(Invalid, match="empty"):
        services.document_create(owner=alice, upload=SimpleUploadedFile("empty.txt", b""))
    assert not Document.objects.exists()


def test_it_refuses_a_file_over_the_limit(alice, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 10
    with pytest.raises(PayloadTooLarge):
        services.document_create(owner=alice, upload=SimpleUploadedFile("big.txt", b"x" * 11))
    assert not Document.objects.exists()


def test_it_refuses_a_docx_bomb_at_upload(alice):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<" * (30 * 1024 * 1024))
    with pytest.raises(Invalid, match="inflates"):
        services.document_create(owner=alice, upload=SimpleUploadedFile("bomb.docx", buffer.getvalue()))
    assert not Document.objects.exists()
    assert not default_storage.exists(f"knowledge/{alice.pk}")


def test_uploading_the_same_name_again_replaces_the_library_file(alice):
    first = services.document_create(owner=alice, upload=SimpleUploadedFile("a.txt", b"one"), queue=False)
    second = services.document_create(owner=alice, upload=SimpleUploadedFile("a.txt", b"two"), queue=False)
    assert list(Document.objects.values_list("pk", flat=True)) == [second.pk]
    assert first.pk != second.pk


def test_a_knowledge_base_refuses_a_duplicate_name_without_override(alice):
    kb = KnowledgeBaseFactory(owner=alice)
    services.document_create(owner=alice, upload=SimpleUploadedFile("a.txt", b"one"), knowledge_base=kb)
    with pytest.raises(Conflict):
        services.document_create(
            owner=alice, upload=SimpleUploadedFile("a.txt", b"two"), knowledge_base=kb, replace=False
        )
    assert kb.documents.count() == 1


def test_a_batch_with_one_bad_file_stores_none(alice):
    kb = KnowledgeBaseFactory(owner=alice)
    with pytest.raises(UnsupportedMediaType):
        services.document_upload_batch(
            owner=alice,
            knowledge_base=kb,
            uploads=[SimpleUploadedFile("ok.txt", b"fine"), SimpleUploadedFile("bad.bin", b"\x00")],
            replace=False,
        )
    assert not kb.documents.exists() and not kb.ingest_tasks.exists()


def test_a_knowledge_base_chunks_with_its_own_sizes(alice):
    kb = KnowledgeBaseFactory(owner=alice, chunk_size=200, chunk_overlap=20)
    document = services.document_create(owner=alice, upload=corpus_file("nightjar.md"), knowledge_base=kb, queue=False)
    document = services.document_ingest(document_id=document.pk)
    assert document.chunk_count >= 4
    assert all(len(chunk.content) <= 200 for chunk in document.chunks.all())
    assert set(document.chunks.values_list("knowledge_base_id", flat=True)) == {kb.pk}


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    dimensions = 3

    def do_POST(self):  # noqa: N802 - the stdlib's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        vectors = [{"index": i, "embedding": [1.0] + [0.0] * (self.dimensions - 1)} for i, _ in enumerate(body["input"])]
        payload = json.dumps({"data": vectors}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def embeddings_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EmbeddingsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_only_staff_may_choose_an_embeddings_endpoint(alice):
    with pytest.raises(Forbidden):
        services.knowledge_base_create(owner=alice, name="remote", embedding_base_url="http://10.0.0.1/v1")


def test_an_embeddings_endpoint_of_the_wrong_dimension_is_refused(admin_user, embeddings_server):
    kb = services.knowledge_base_create(
        owner=admin_user, name="remote", embedding_base_url=embeddings_server, embedding_api_key="sk-test", embedding_model="tiny"
    )
    document = services.document_create(owner=admin_user, upload=corpus_file("nightjar.md"), knowledge_base=kb, queue=False)
    document = services.document_ingest(document_id=document.pk)
    assert document.status == Document.Status.FAILED
    assert "3 dimensions" in document.error and "384" in document.error
    kb.refresh_from_db()
    assert kb.embedding_api_key == "sk-test"


def test_an_embeddings_endpoint_of_the_right_dimension_is_used(admin_user, embeddings_server, monkeypatch):
    monkeypatch.setattr(_EmbeddingsHandler, "dimensions", 384)
    kb = services.knowledge_base_create(owner=admin_user, name="remote", embedding_base_url=embeddings_server)
    document = services.document_create(owner=admin_user, upload=corpus_file("teas.csv"), knowledge_base=kb, queue=False)
    document = services.document_ingest(document_id=document.pk)
    assert document.status == Document.Status.INGESTED
    assert document.chunks.first().embedding[0] == pytest.approx(1.0)


def test_clearing_a_thread_deletes_only_its_files(alice):
    services.document_create_temporal(owner=alice, upload=corpus_file("teas.csv"), thread_id="t-1")
    services.document_create_temporal(owner=alice, upload=corpus_file("nightjar.md"), thread_id="t-2")
    files, chunks = services.thread_temporal_clear(owner=alice, thread_id="t-1")
    assert (files, chunks) == (1, 8)
    assert list(Document.objects.values_list("thread_id", flat=True)) == ["t-2"]
