"""A workspace belongs to the user whose session it is, not to the agent's owner."""
from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.agents.tests.factories import AgentFactory, AgentGrantFactory
from apps.agents.tests.test_api import media  # noqa: F401
from apps.conversations.tests.factories import ThreadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(alice, bob, media):  # noqa: F811
    agent = AgentFactory(owner=alice)
    AgentGrantFactory(agent=agent, user=bob)
    ThreadFactory(id="alice-s", owner=alice, agent=agent)
    ThreadFactory(id="bob-s", owner=bob, agent=agent)
    default_storage.save(f"workspaces/{agent.pk}/alice-s/mine.txt", ContentFile(b"alice's"))
    default_storage.save(f"workspaces/{agent.pk}/bob-s/private.txt", ContentFile(b"bob's secret"))
    return agent


def test_the_owner_listing_without_a_session_shows_only_their_own_sessions(shared, alice_client):
    files = alice_client.post(f"/api/agent/{shared.pk}/file_workspace").json()["data"]["files"]
    assert [f["path"] for f in files] == ["alice-s/mine.txt"]


def test_the_owner_cannot_read_or_delete_a_grantees_files(shared, alice_client):
    base = f"/api/agent/{shared.pk}/file_workspace"
    assert alice_client.post(f"{base}?session_id=bob-s").status_code == 404
    assert alice_client.get(f"{base}/download", {"session_id": "bob-s", "file_path": "private.txt"}).status_code == 404
    assert alice_client.get(f"{base}/download", {"file_path": "bob-s/private.txt"}).status_code == 404
    assert alice_client.delete(f"{base}/delete?session_id=bob-s&file_path=private.txt").status_code == 404
    assert default_storage.exists(f"workspaces/{shared.pk}/bob-s/private.txt")


def test_the_grantee_reads_their_own_session_files(shared, bob_client):
    base = f"/api/agent/{shared.pk}/file_workspace"
    files = bob_client.post(base).json()["data"]["files"]
    assert [f["path"] for f in files] == ["bob-s/private.txt"]
    response = bob_client.get(f"{base}/download", {"file_path": "bob-s/private.txt"})
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"bob's secret"
    assert bob_client.get(f"{base}/download", {"session_id": "alice-s", "file_path": "mine.txt"}).status_code == 404


def test_a_session_that_is_not_a_thread_of_the_user_is_not_found(shared, alice_client):
    default_storage.save(f"workspaces/{shared.pk}/orphan/x.txt", ContentFile(b"x"))
    assert alice_client.post(f"/api/agent/{shared.pk}/file_workspace?session_id=orphan").status_code == 404
