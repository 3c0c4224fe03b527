"""003 — agents backend's RAG resources."""
from __future__ import annotations

import pytest

from apps.knowledge.models import KnowledgeBase
from apps.knowledge.tests.factories import KnowledgeBaseFactory

pytestmark = pytest.mark.django_db


def test_it_lists_the_users_knowledge_bases_as_resources(alice_client, alice, bob):
    kb = KnowledgeBaseFactory(owner=alice, name="Docs", intro="Product docs")
    KnowledgeBaseFactory(owner=bob)
    response = alice_client.get("/api/v1/agent/rag/resources")
    assert response.status_code == 200
    assert response.json() == {"resources": [{"uri": f"rag://dataset/{kb.pk}", "title": "Docs", "description": "Product docs"}]}


def test_it_adds_a_resource(alice_client, alice):
    response = alice_client.post("/api/v1/agent/rag/resources", {"title": "Papers", "description": "ML"}, format="json")
    assert response.status_code == 201
    kb = KnowledgeBase.objects.get(owner=alice)
    assert response.json() == {"uri": f"rag://dataset/{kb.pk}", "title": "Papers", "description": "ML"}


def test_adding_a_resource_needs_a_title(alice_client):
    response = alice_client.post("/api/v1/agent/rag/resources", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}


def test_a_duplicate_resource_title_is_409(alice_client, alice):
    KnowledgeBaseFactory(owner=alice, name="Papers")
    response = alice_client.post("/api/v1/agent/rag/resources", {"title": "Papers"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "CONFLICT"


def test_it_deletes_a_resource_by_id_or_uri(alice_client, alice):
    first, second = KnowledgeBaseFactory(owner=alice), KnowledgeBaseFactory(owner=alice)
    assert alice_client.delete(f"/api/v1/agent/rag/resources/{first.pk}").status_code == 204
    assert alice_client.delete(f"/api/v1/agent/rag/resources/rag://dataset/{second.pk}").status_code == 204
    assert not KnowledgeBase.objects.exists()


def test_deleting_another_users_resource_is_404(bob_client, alice):
    kb = KnowledgeBaseFactory(owner=alice)
    response = bob_client.delete(f"/api/v1/agent/rag/resources/{kb.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
    assert KnowledgeBase.objects.count() == 1


def test_resources_need_a_token(anon):
    assert anon.get("/api/v1/agent/rag/resources").status_code == 401
    assert anon.post("/api/v1/agent/rag/resources", {"title": "x"}, format="json").status_code == 401
    assert anon.delete("/api/v1/agent/rag/resources/x").status_code == 401
