"""001 — task agent's document and chunk routes."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.knowledge import services
from apps.knowledge.models import Document
from apps.knowledge.tests.conftest import corpus_file

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"path", "message", "statusCode", "timestamp"}


def ingested(owner, name: str, **scope) -> Document:
    document = services.document_create(owner=owner, upload=corpus_file(name), queue=False, **scope)
    return services.document_ingest(document_id=document.pk)


def test_it_uploads_a_rag_document_with_title_and_description(alice_client, alice):
    response = alice_client.post(
        "/api/documents?title=Teas&description=Our%20catalogue", {"file": corpus_file("teas.csv")}, format="multipart"
    )
    assert response.status_code == 200
    body = response.json()
    document = Document.objects.get(owner=alice)
    assert body == {
        "id": str(document.pk),
        "filename": "teas.csv",
        "title": "Teas",
        "description": "Our catalogue",
        "contentType": "text/csv",
        "progress": 0.0,
    }


def test_it_requires_title_and_description(alice_client):
    response = alice_client.post("/api/documents", {"file": corpus_file("teas.csv")}, format="multipart")
    assert response.status_code == 400
    body = response.json()
    assert ERROR_KEYS <= set(body) and body["statusCode"] == 400
    assert {error["field"] for error in body["validationErrors"]} == {"title", "description"}
    assert not Document.objects.exists()


def test_it_answers_415_in_the_task_shape(alice_client):
    response = alice_client.post(
        "/api/documents?title=a&description=b", {"file": SimpleUploadedFile("x.bin", b"1")}, format="multipart"
    )
    assert response.status_code == 415
    assert response.json()["statusCode"] == 415


def test_it_lists_only_the_users_documents_with_progress(alice_client, alice, bob):
    document = ingested(alice, "teas.csv")
    ingested(bob, "nightjar.md")
    response = alice_client.get("/api/documents")
    assert response.status_code == 200
    assert [(d["id"], d["progress"]) for d in response.json()] == [(str(document.pk), 1.0)]


def test_documents_need_a_token(anon):
    response = anon.get("/api/documents")
    assert response.status_code == 401
    assert ERROR_KEYS <= set(response.json())


def test_it_reads_and_deletes_one_document(alice_client, alice):
    document = ingested(alice, "teas.csv")
    assert alice_client.get(f"/api/documents/{document.pk}").json()["filename"] == "teas.csv"
    assert alice_client.delete(f"/api/documents/{document.pk}").status_code == 204
    assert not Document.objects.exists()


def test_another_users_document_is_404(bob_client, alice):
    document = ingested(alice, "teas.csv")
    assert bob_client.get(f"/api/documents/{document.pk}").status_code == 404
    assert bob_client.delete(f"/api/documents/{document.pk}").status_code == 404
    assert bob_client.get(f"/api/documents/{document.pk}/chunks").status_code == 404
    chunk = document.chunks.first()
    assert bob_client.get(f"/api/chunks/{chunk.pk}").status_code == 404
    assert Document.objects.count() == 1


def test_a_malformed_id_is_404_not_500(alice_client):
    for path in ["/api/documents/not-a-uuid", "/api/documents/xyz/chunks", "/api/chunks/abc"]:
        response = alice_client.get(path)
        assert response.status_code == 404
        assert response.json()["statusCode"] == 404


def test_it_lists_a_documents_chunks_and_reads_one(alice_client, alice):
    document = ingested(alice, "teas.csv")
    response = alice_client.get(f"/api/documents/{document.pk}/chunks")
    assert response.status_code == 200
    chunks = response.json()
    assert len(chunks) == 8
    first = chunks[0]
    assert set(first) == {"id", "documentId", "documentTitle", "documentDescription", "content"}
    assert first["documentId"] == str(document.pk) and "Jasmine Cloud Tea" in first["content"]
    single = alice_client.get(f"/api/chunks/{first['id']}")
    assert single.status_code == 200 and single.json() == first


def test_chunks_need_a_token(anon, alice):
    document = ingested(alice, "teas.csv")
    assert anon.get(f"/api/documents/{document.pk}/chunks").status_code == 401
    assert anon.get(f"/api/chunks/{document.chunks.first().pk}").status_code == 401
    assert anon.get(f"/api/documents/{document.pk}").status_code == 401
