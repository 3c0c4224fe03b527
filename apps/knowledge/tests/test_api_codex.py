"""000 — CodexEngine's document routes."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.knowledge import services
from apps.knowledge.models import Document
from apps.knowledge.tests.conftest import corpus_file

pytestmark = pytest.mark.django_db


def ingested(owner, name: str, **scope) -> Document:
    document = services.document_create(owner=owner, upload=corpus_file(name), queue=False, **scope)
    return services.document_ingest(document_id=document.pk)


def test_it_queues_an_upload_into_the_library(alice_client, alice):
    response = alice_client.post("/upload", {"file": corpus_file("teas.csv")}, format="multipart")
    assert response.status_code == 202
    assert response.json() == {
        "message": "File uploaded to storage and queued for background ingestion.",
        "filename": "teas.csv",
    }
    document = Document.objects.get(owner=alice)
    assert (document.status, document.knowledge_base, document.thread_id) == ("queued", None, "")


def test_it_strips_path_parts_from_an_uploaded_name(alice_client):
    upload = SimpleUploadedFile("../../secret/notes.txt", b"hello there")
    response = alice_client.post("/upload", {"file": upload}, format="multipart")
    assert response.status_code == 202
    assert response.json()["filename"] == "notes.txt"


def test_it_rejects_an_upload_without_a_file(alice_client):
    response = alice_client.post("/upload", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()["errors"]


def test_it_rejects_an_empty_file(alice_client):
    response = alice_client.post("/upload", {"file": SimpleUploadedFile("e.txt", b"")}, format="multipart")
    assert response.status_code == 400
    assert response.json()["detail"] == "The file is empty."
    assert not Document.objects.exists()


def test_it_answers_415_for_an_unsupported_type(alice_client):
    response = alice_client.post("/upload", {"file": SimpleUploadedFile("a.exe", b"MZ")}, format="multipart")
    assert response.status_code == 415
    assert "Unsupported file type .exe" in response.json()["detail"]


def test_it_answers_413_for_an_oversized_file(alice_client, settings):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 100
    response = alice_client.post("/upload", {"file": SimpleUploadedFile("a.txt", b"x" * 101)}, format="multipart")
    assert response.status_code == 413
    assert not Document.objects.exists()


def test_upload_needs_a_token(anon):
    assert anon.post("/upload", {"file": corpus_file("teas.csv")}, format="multipart").status_code == 401


def test_it_ingests_a_temporal_upload_before_answering(alice_client, alice):
    response = alice_client.post("/upload/temporal?thread_id=t-1", {"file": corpus_file("teas.csv")}, format="multipart")
    assert response.status_code == 200
    assert response.json() == {"message": "Successfully uploaded and ingested teas.csv temporally"}
    document = Document.objects.get(owner=alice, thread_id="t-1")
    assert document.status == "ingested" and document.chunk_count == 8


def test_a_temporal_upload_needs_a_thread_id(alice_client):
    response = alice_client.post("/upload/temporal", {"file": corpus_file("teas.csv")}, format="multipart")
    assert response.status_code == 400
    assert "thread_id" in response.json()["errors"]


def test_a_corrupt_temporal_upload_answers_400_and_leaves_nothing(alice_client):
    upload = SimpleUploadedFile("broken.pdf", b"%PDF-1.4 nope")
    response = alice_client.post("/upload/temporal?thread_id=t", {"file": upload}, format="multipart")
    assert response.status_code == 400
    assert "damaged" in response.json()["detail"]
    assert not Document.objects.exists()


def test_temporal_upload_needs_a_token(anon):
    response = anon.post("/upload/temporal?thread_id=t", {"file": corpus_file("teas.csv")}, format="multipart")
    assert response.status_code == 401


def test_it_lists_the_library_with_000_status_strings(alice_client, alice, bob):
    ingested(alice, "teas.csv")
    services.document_create(owner=alice, upload=SimpleUploadedFile("queued.txt", b"later"), queue=False)
    failed = services.document_create(owner=alice, upload=SimpleUploadedFile("bad.pdf", b"%PDF junk"), queue=False)
    services.document_ingest(document_id=failed.pk)
    ingested(alice, "nightjar.md", thread_id="t")
    ingested(bob, "handbook.pdf")
    response = alice_client.get("/documents")
    assert response.status_code == 200
    assert response.json() == {
        "documents": [
            {"filename": "bad.pdf", "size_bytes": 9, "chunks_count": 0, "status": "Failed: The PDF is damaged and cannot be read."},
            {"filename": "queued.txt", "size_bytes": 5, "chunks_count": 0, "status": "Queued"},
            {"filename": "teas.csv", "size_bytes": 809, "chunks_count": 8, "status": "Ingested"},
        ]
    }


def test_documents_needs_a_token(anon):
    assert anon.get("/documents").status_code == 401


def test_it_deletes_a_library_document_by_name(alice_client, alice):
    ingested(alice, "teas.csv")
    response = alice_client.delete("/documents/teas.csv")
    assert response.status_code == 200
    assert response.json() == {"message": "Successfully deleted teas.csv", "db_chunks_deleted": 8}
    assert not Document.objects.exists()


def test_it_deletes_a_thread_document_by_name_and_thread(alice_client, alice):
    ingested(alice, "teas.csv")
    ingested(alice, "teas.csv", thread_id="t-9")
    response = alice_client.delete("/documents/teas.csv?thread_id=t-9")
    assert response.status_code == 200
    assert list(Document.objects.values_list("thread_id", flat=True)) == [""]


def test_deleting_another_users_document_is_404(bob_client, alice):
    ingested(alice, "teas.csv")
    response = bob_client.delete("/documents/teas.csv")
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}
    assert Document.objects.count() == 1


def test_delete_needs_a_token(anon):
    assert anon.delete("/documents/teas.csv").status_code == 401


def test_it_reingests_a_document_and_answers_its_chunk_count(alice_client, alice):
    ingested(alice, "teas.csv")
    response = alice_client.post("/documents/teas.csv/reingest")
    assert response.status_code == 200
    assert response.json() == {"message": "File re-ingested successfully", "chunks_count": 8}
    assert Document.objects.get().chunks.count() == 8


def test_reingesting_another_users_document_is_404(bob_client, alice):
    ingested(alice, "teas.csv")
    assert bob_client.post("/documents/teas.csv/reingest").status_code == 404


def test_reingest_rejects_an_overlong_thread_id(alice_client, alice):
    ingested(alice, "teas.csv")
    response = alice_client.post("/documents/teas.csv/reingest?thread_id=" + "x" * 300)
    assert response.status_code == 400


def test_reingest_needs_a_token(anon):
    assert anon.post("/documents/teas.csv/reingest").status_code == 401


def test_it_clears_a_threads_temporal_documents(alice_client, alice, bob):
    ingested(alice, "teas.csv", thread_id="t-1")
    ingested(alice, "nightjar.md")
    ingested(bob, "teas.csv", thread_id="t-1")
    response = alice_client.delete("/chat/t-1/temporal")
    assert response.status_code == 200
    assert response.json() == {
        "message": "Cleared temporal chunks for session t-1",
        "storage_files_deleted": 1,
        "db_chunks_deleted": 8,
    }
    assert Document.objects.filter(owner=bob).count() == 1
    assert Document.objects.filter(owner=alice).count() == 1


def test_clearing_another_users_thread_deletes_nothing(bob_client, alice):
    ingested(alice, "teas.csv", thread_id="t-1")
    response = bob_client.delete("/chat/t-1/temporal")
    assert response.json()["storage_files_deleted"] == 0
    assert Document.objects.count() == 1


def test_clearing_needs_a_token(anon):
    assert anon.delete("/chat/t-1/temporal").status_code == 401
