"""Sharing an agent shows usernames only, and only with accounts the owner may see."""
from __future__ import annotations

import pytest

from apps.accounts.tests.factories import DepartmentFactory
from apps.agents.models import AgentGrant
from apps.agents.tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_grant_lists_show_usernames_not_emails(alice, bob, alice_client):
    agent = AgentFactory(owner=alice)
    response = alice_client.post(f"/api/agent/{agent.pk}/auth", {"user_ids": [str(bob.pk)]}, format="json")
    assert response.status_code == 200
    listed = alice_client.get(f"/api/agent/{agent.pk}/auth")
    for answer in (response, listed):
        assert bob.email not in answer.content.decode()
        assert [user["username"] for user in answer.json()["data"]["users"]] == ["bob"]


def test_user_options_show_no_emails(alice, bob, alice_client):
    response = alice_client.get("/api/user/options")
    assert response.status_code == 200
    assert "bob" in response.content.decode() and bob.email not in response.content.decode()


def test_a_departmental_user_sees_and_grants_only_their_department(alice, bob, charlie, alice_client):
    sales, support = DepartmentFactory(name="Sales"), DepartmentFactory(name="Support")
    for user, department in ((alice, sales), (bob, sales), (charlie, support)):
        user.department = department
        user.save()
    options = alice_client.get("/api/user/options").json()["data"]
    assert [option["username"] for option in options] == ["bob"]
    agent = AgentFactory(owner=alice)
    response = alice_client.post(f"/api/agent/{agent.pk}/auth", {"user_ids": [str(charlie.pk)]}, format="json")
    assert response.status_code == 400
    unknown = alice_client.post(f"/api/agent/{agent.pk}/auth",
                                {"user_ids": ["00000000-0000-0000-0000-000000000000"]}, format="json")
    assert response.json()["message"] == unknown.json()["message"]
    assert not AgentGrant.objects.exists()


def test_an_inactive_account_cannot_be_granted(alice, bob, alice_client):
    bob.is_active = False
    bob.save()
    agent = AgentFactory(owner=alice)
    response = alice_client.post(f"/api/agent/{agent.pk}/auth", {"user_ids": [str(bob.pk)]}, format="json")
    assert response.status_code == 400
