"""The agent admin pages."""
from __future__ import annotations

import pytest
from django.test import Client

from apps.agents.tests.factories import AgentFactory, AgentGrantFactory

pytestmark = pytest.mark.django_db


def test_the_agent_pages_load(admin_user, alice):
    staff = Client()
    staff.force_login(admin_user)
    agent = AgentFactory(owner=alice)
    AgentGrantFactory(agent=agent)
    for url in ("/admin/agents/agent/", f"/admin/agents/agent/{agent.pk}/change/", "/admin/agents/agentgrant/"):
        assert staff.get(url).status_code == 200
