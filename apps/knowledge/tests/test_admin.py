"""The knowledge models in the Django admin, and its re-ingest action."""
from __future__ import annotations

import pytest
from django.test import Client

from apps.knowledge.models import Chunk, Document
from apps.knowledge.tests.factories import DocumentFactory, IngestTaskFactory, KnowledgeBaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_every_knowledge_page_renders(staff, alice):
    kb = KnowledgeBaseFactory(owner=alice, embedding_api_key="sk-secret")
    task = IngestTaskFactory(knowledge_base=kb)
    document = DocumentFactory(owner=alice, knowledge_base=kb, ingest_task=task)
    chunk = Chunk.objects.create(document=document, ordinal=0, content="Some text.", embedding=[0.05] * 384)
    for path in [
        "/admin/knowledge/knowledgebase/",
        f"/admin/knowledge/knowledgebase/{kb.pk}/change/",
        "/admin/knowledge/document/",
        f"/admin/knowledge/document/{document.pk}/change/",
        "/admin/knowledge/chunk/",
        f"/admin/knowledge/chunk/{chunk.pk}/change/",
        "/admin/knowledge/ingesttask/",
    ]:
        response = staff.get(path)
        assert response.status_code == 200, path
        assert b"sk-secret" not in response.content


def test_chunks_cannot_be_added_in_the_admin(staff):
    assert staff.get("/admin/knowledge/chunk/add/").status_code == 403


def test_the_reingest_action_queues_the_documents(staff, alice):
    document = DocumentFactory(owner=alice, status=Document.Status.INGESTED, chunk_count=1)
    Chunk.objects.create(document=document, ordinal=0, content="Some text.", embedding=[0.05] * 384)
    response = staff.post(
        "/admin/knowledge/document/", {"action": "reingest", "_selected_action": [str(document.pk)]}, follow=True
    )
    assert response.status_code == 200
    document.refresh_from_db()
    assert document.status == Document.Status.QUEUED and document.chunks.count() == 1


def test_the_admin_needs_staff(client, alice):
    client.force_login(alice)
    assert client.get("/admin/knowledge/document/").status_code == 302
