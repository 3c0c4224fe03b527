"""002 — Sage's knowledge-base routes, in the BaseResponse envelope."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.knowledge import services
from apps.knowledge.models import Document, KnowledgeBase
from apps.knowledge.tests.conftest import corpus_file
from apps.knowledge.tests.factories import KnowledgeBaseFactory

pytestmark = pytest.mark.django_db

BASE = "/api/knowledge-base"


def data(response, status: int = 200):
    body = response.json()
    assert response.status_code == status, body
    assert set(body) == {"code", "message", "data", "timestamp"}
    assert body["code"] == status
    return body["data"]


def ingested(owner, name: str, knowledge_base) -> Document:
    document = services.document_create(owner=owner, upload=corpus_file(name), knowledge_base=knowledge_base, queue=False)
    return services.document_ingest(document_id=document.pk)


@pytest.fixture
def kb(alice):
    return KnowledgeBaseFactory(owner=alice, name="Docs")


def test_it_adds_a_knowledge_base(alice_client, alice):
    body = data(alice_client.post(f"{BASE}/add", {"name": "Product Docs", "type": "rag", "intro": "x", "language": "en"}, format="json"))
    kb = KnowledgeBase.objects.get(owner=alice)
    assert body == {"kdb_id": str(kb.pk), "user_id": str(alice.pk)}
    assert (kb.name, kb.embedding_model, kb.embedding_dimensions) == ("Product Docs", "all-MiniLM-L6-v2", 384)


def test_add_validates_its_body(alice_client):
    assert data(alice_client.post(f"{BASE}/add", {"intro": "no name"}, format="json"), 400)["errors"]["name"]
    body = data(alice_client.post(f"{BASE}/add", {"name": "a", "chunk_size": 500, "chunk_overlap": 600}, format="json"), 400)
    assert "chunk_overlap" in str(body)


def test_it_updates_a_knowledge_base(alice_client, alice, kb):
    body = data(alice_client.post(f"{BASE}/update", {"kdb_id": str(kb.pk), "intro": "new"}, format="json"))
    assert body == {"success": True, "user_id": str(alice.pk)}
    kb.refresh_from_db()
    assert kb.intro == "new" and kb.name == "Docs"


def test_it_reads_info(alice_client, kb):
    body = data(alice_client.get(f"{BASE}/info?kdb_id={kb.pk}"))
    assert body["kdb_id"] == str(kb.pk) and body["name"] == "Docs" and body["doc_count"] == 0


def test_info_needs_a_kdb_id(alice_client):
    assert "kdb_id" in data(alice_client.get(f"{BASE}/info"), 400)["errors"]


def test_it_lists_and_filters_knowledge_bases(alice_client, alice, bob):
    KnowledgeBaseFactory(owner=alice, name="Alpha", type="rag")
    KnowledgeBaseFactory(owner=alice, name="Beta", type="qa")
    KnowledgeBaseFactory(owner=bob, name="Alpha bob")
    body = data(alice_client.get(f"{BASE}/list?page=1&page_size=1"))
    assert (body["total"], body["page"], body["page_size"], len(body["list"])) == (2, 1, 1, 1)
    assert [k["name"] for k in data(alice_client.get(f"{BASE}/list?query_name=alp"))["list"]] == ["Alpha"]
    assert [k["name"] for k in data(alice_client.get(f"{BASE}/list?type=qa"))["list"]] == ["Beta"]
    assert data(alice_client.get(f"{BASE}/list?page=0"), 400)


def test_it_retrieves_from_a_knowledge_base(alice_client, alice, kb):
    ingested(alice, "teas.csv", kb)
    body = data(alice_client.post(f"{BASE}/retrieve", {"kdb_id": str(kb.pk), "query": "smoky pinewood tea", "top_k": 2}, format="json"))
    assert body["user_id"] == str(alice.pk)
    assert len(body["results"]) == 2
    top = body["results"][0]
    assert "Lapsang" in top["content"] and top["row"] == 2 and top["doc_name"] == "teas.csv" and top["score"] > 0


def test_retrieve_validates_its_body(alice_client, kb):
    errors = data(alice_client.post(f"{BASE}/retrieve", {"kdb_id": str(kb.pk), "top_k": 0}, format="json"), 400)["errors"]
    assert set(errors) == {"query", "top_k"}


def test_it_lists_documents_with_status_filters(alice_client, alice, kb):
    ingested(alice, "teas.csv", kb)
    failed = services.document_create(owner=alice, upload=SimpleUploadedFile("bad.pdf", b"%PDF x"), knowledge_base=kb, queue=False)
    services.document_ingest(document_id=failed.pk)
    services.document_create(owner=alice, upload=corpus_file("nightjar.md"), knowledge_base=kb, queue=False)
    body = data(alice_client.get(f"{BASE}/doc/list?kdb_id={kb.pk}"))
    assert body["total"] == 3 and body["page_no"] == 1
    assert {d["doc_name"]: d["status"] for d in body["list"]} == {"teas.csv": 2, "bad.pdf": 3, "nightjar.md": 0}
    failed_only = data(alice_client.get(f"{BASE}/doc/list?kdb_id={kb.pk}&query_status=3"))
    assert [d["doc_name"] for d in failed_only["list"]] == ["bad.pdf"]
    two = data(alice_client.get(f"{BASE}/doc/list?kdb_id={kb.pk}&query_status=0&query_status=2"))
    assert two["total"] == 2
    assert data(alice_client.get(f"{BASE}/doc/list?kdb_id={kb.pk}&query_name=tea"))["total"] == 1
    assert "query_status" in str(data(alice_client.get(f"{BASE}/doc/list?kdb_id={kb.pk}&query_status=9"), 400))


def test_it_uploads_several_files_as_one_task_and_reports_its_progress(alice_client, alice, kb):
    response = alice_client.post(
        f"{BASE}/doc/add_by_files",
        {"kdb_id": str(kb.pk), "override": "false", "files": [corpus_file("teas.csv"), corpus_file("nightjar.md")]},
        format="multipart",
    )
    body = data(response)
    assert body["user_id"] == str(alice.pk)
    task_id = body["taskId"]
    assert kb.documents.filter(ingest_task_id=task_id).count() == 2
    progress = data(alice_client.get(f"{BASE}/doc/task_process?kdb_id={kb.pk}&task_id={task_id}"))
    assert progress == {"success": 0, "fail": 0, "inProgress": 0, "waiting": 2, "total": 2, "taskProcess": 0.0}
    first = kb.documents.get(filename="teas.csv")
    services.document_ingest(document_id=first.pk)
    progress = data(alice_client.get(f"{BASE}/doc/task_process?kdb_id={kb.pk}&task_id={task_id}"))
    assert (progress["success"], progress["waiting"], progress["taskProcess"]) == (1, 1, 0.5)
    listed = data(alice_client.get(f"{BASE}/doc/list?kdb_id={kb.pk}&task_id={task_id}"))
    assert listed["total"] == 2


def test_add_by_files_refuses_a_duplicate_without_override_and_replaces_with_it(alice_client, alice, kb):
    ingested(alice, "teas.csv", kb)
    payload = {"kdb_id": str(kb.pk), "files": [corpus_file("teas.csv")]}
    assert data(alice_client.post(f"{BASE}/doc/add_by_files", {**payload, "override": "false"}, format="multipart"), 409) is None
    data(alice_client.post(f"{BASE}/doc/add_by_files", {**payload, "override": "true", "files": [corpus_file("teas.csv")]}, format="multipart"))
    assert kb.documents.get().status == "queued"


def test_add_by_files_validates(alice_client, kb):
    assert "files" in data(alice_client.post(f"{BASE}/doc/add_by_files", {"kdb_id": str(kb.pk)}, format="multipart"), 400)["errors"]
    unsupported = alice_client.post(
        f"{BASE}/doc/add_by_files", {"kdb_id": str(kb.pk), "files": [SimpleUploadedFile("a.exe", b"MZ")]}, format="multipart"
    )
    assert data(unsupported, 415) is None


def test_it_reads_redoes_and_deletes_one_document(alice_client, alice, kb):
    document = ingested(alice, "teas.csv", kb)
    info = data(alice_client.get(f"{BASE}/doc/info/{document.pk}"))
    assert (info["doc_id"], info["status"], info["chunk_count"], info["kdb_id"]) == (str(document.pk), 2, 8, str(kb.pk))
    assert data(alice_client.put(f"{BASE}/doc/redo/{document.pk}"))["success"] is True
    document.refresh_from_db()
    assert document.status == "queued" and document.chunks.count() == 8
    assert data(alice_client.delete(f"{BASE}/doc/delete/{document.pk}"))["success"] is True
    assert not Document.objects.exists()


def test_it_redoes_a_task(alice_client, alice, kb):
    task = services.document_upload_batch(owner=alice, knowledge_base=kb, uploads=[corpus_file("teas.csv")], replace=False)
    document = task.documents.get()
    services.document_ingest(document_id=document.pk)
    assert data(alice_client.post(f"{BASE}/doc/task_redo", {"kdb_id": str(kb.pk), "task_id": str(task.pk)}, format="json"))["success"]
    assert data(alice_client.post(f"{BASE}/doc/task_redo", {"kdb_id": str(kb.pk)}, format="json"), 400)


def test_it_clears_redoes_all_and_deletes_a_knowledge_base(alice_client, alice, kb):
    ingested(alice, "teas.csv", kb)
    assert data(alice_client.post(f"{BASE}/redo_all", {"kdb_id": str(kb.pk)}, format="json"))["success"]
    assert kb.documents.get().status == "queued"
    assert data(alice_client.post(f"{BASE}/clear", {"kdb_id": str(kb.pk)}, format="json"))["success"]
    assert not kb.documents.exists()
    assert data(alice_client.delete(f"{BASE}/delete/{kb.pk}"))["success"]
    assert not KnowledgeBase.objects.exists()


def test_another_users_knowledge_base_and_documents_are_404(bob_client, alice, kb):
    document = ingested(alice, "teas.csv", kb)
    task = services.document_upload_batch(owner=alice, knowledge_base=kb, uploads=[corpus_file("nightjar.md")], replace=False)
    kdb = str(kb.pk)
    attempts = [
        bob_client.post(f"{BASE}/update", {"kdb_id": kdb, "intro": "x"}, format="json"),
        bob_client.get(f"{BASE}/info?kdb_id={kdb}"),
        bob_client.post(f"{BASE}/retrieve", {"kdb_id": kdb, "query": "tea"}, format="json"),
        bob_client.delete(f"{BASE}/delete/{kdb}"),
        bob_client.post(f"{BASE}/clear", {"kdb_id": kdb}, format="json"),
        bob_client.post(f"{BASE}/redo_all", {"kdb_id": kdb}, format="json"),
        bob_client.get(f"{BASE}/doc/list?kdb_id={kdb}"),
        bob_client.get(f"{BASE}/doc/info/{document.pk}"),
        bob_client.post(f"{BASE}/doc/add_by_files", {"kdb_id": kdb, "files": [corpus_file("teas.csv")]}, format="multipart"),
        bob_client.delete(f"{BASE}/doc/delete/{document.pk}"),
        bob_client.put(f"{BASE}/doc/redo/{document.pk}"),
        bob_client.get(f"{BASE}/doc/task_process?kdb_id={kdb}&task_id={task.pk}"),
        bob_client.post(f"{BASE}/doc/task_redo", {"kdb_id": kdb, "task_id": str(task.pk)}, format="json"),
    ]
    for response in attempts:
        assert data(response, 404) is None
    document.refresh_from_db()
    assert document.status == "ingested" and kb.documents.count() == 2


def test_malformed_ids_are_404(alice_client):
    assert data(alice_client.get(f"{BASE}/info?kdb_id=kdb_xxx"), 404) is None
    assert data(alice_client.get(f"{BASE}/doc/info/nope"), 404) is None


def test_the_routes_need_a_login(anon):
    for response in [
        anon.post(f"{BASE}/add", {"name": "x"}, format="json"),
        anon.get(f"{BASE}/list"),
        anon.get(f"{BASE}/info?kdb_id=x"),
        anon.post(f"{BASE}/retrieve", {}, format="json"),
        anon.get(f"{BASE}/doc/list?kdb_id=x"),
        anon.post("/api/oss/upload", {}, format="multipart"),
    ]:
        assert data(response, 401) is None


def test_a_session_login_works_too(client, alice):
    client.force_login(alice)
    body = client.get(f"{BASE}/list").json()
    assert body["code"] == 200 and body["data"]["total"] == 0


def test_it_stores_a_file_and_answers_its_url(alice_client, alice):
    upload = SimpleUploadedFile("cat.png", b"\x89PNG fake image")
    body = data(alice_client.post("/api/oss/upload", {"file": upload, "path": "../uploads/images"}, format="multipart"))
    assert body["url"].startswith(f"http://testserver/media/oss/{alice.pk}/uploads/images/")
    assert body["url"].endswith("/cat.png") and ".." not in body["url"]


def test_oss_upload_validates(alice_client, settings):
    assert "file" in data(alice_client.post("/api/oss/upload", {"path": "x"}, format="multipart"), 400)["errors"]
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 4
    assert data(alice_client.post("/api/oss/upload", {"file": SimpleUploadedFile("a.png", b"12345")}, format="multipart"), 413) is None


@pytest.mark.parametrize("body", ["[null, null]", '"text"', "1", "true", "null"])
def test_add_by_files_answers_400_to_a_json_body_that_is_not_an_object(alice_client, body):
    response = alice_client.post(f"{BASE}/doc/add_by_files", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == 400
