"""A grantee's thread stops running an agent once its owner revokes the grant."""
from __future__ import annotations

import pytest

from apps.agents.models import AgentGrant
from apps.agents.tests.factories import AgentFactory, AgentGrantFactory
from apps.conversations import services
from apps.conversations.models import AgentRun, RunEvent
from apps.conversations.tests.factories import ThreadFactory
from apps.core.errors import Forbidden


@pytest.fixture
def shared_thread(alice, bob):
    agent = AgentFactory(owner=alice)
    AgentGrantFactory(agent=agent, user=bob)
    return ThreadFactory(owner=bob, agent=agent)


def _start(user, thread):
    return services.run_start(user=user, thread=thread, messages=[{"role": "user", "content": "hi"}], endpoint="test")


@pytest.mark.django_db
def test_a_grantee_runs_the_agent_while_the_grant_exists(bob, shared_thread):
    assert _start(bob, shared_thread).agent_id == shared_thread.agent_id


@pytest.mark.django_db
def test_a_revoked_grant_refuses_the_next_run_with_a_clear_error(bob, shared_thread):
    AgentGrant.objects.filter(user=bob).delete()
    with pytest.raises(Forbidden, match="no longer shared"):
        _start(bob, shared_thread)
    assert not AgentRun.objects.exists()


@pytest.mark.django_db
def test_the_stream_route_answers_403_after_revocation(bob, bob_client, shared_thread):
    AgentGrant.objects.filter(user=bob).delete()
    response = bob_client.post("/chat/stream", {"message": "hi", "thread_id": str(shared_thread.pk)}, format="json")
    assert response.status_code == 403
    assert "no longer shared" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_run_queued_before_the_revocation_fails_in_the_worker(alice, bob, shared_thread):
    run = AgentRun.objects.create(thread=shared_thread, user=bob, agent=shared_thread.agent, endpoint="test")
    AgentGrant.objects.filter(user=bob).delete()
    services.run_execute(run_id=str(run.pk))
    run.refresh_from_db()
    assert run.status == AgentRun.Status.FAILED
    assert "no longer shared" in run.error
    assert any("no longer shared" in str(event.payload) for event in RunEvent.objects.filter(run=run))
