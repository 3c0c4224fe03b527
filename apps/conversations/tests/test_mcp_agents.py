"""``/mcp/agents/{id}``, driven by the official ``mcp`` SDK's client over streamable HTTP against daphne.

``ask`` runs in the real Celery worker (the fake upstream or the offline model answers);
``search_knowledge`` reads the retrieval of the daphne process.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from apps.accounts.services.api_keys import api_key_create, api_key_revoke
from apps.agents.tests.factories import AgentFactory, AgentGrantFactory
from apps.conversations.models import AgentRun, Thread
from apps.knowledge import services as knowledge_services
from apps.knowledge.tests.conftest import corpus_file
from apps.providers.models import UsageRecord
from apps.providers.testing import Reply
from apps.tools.tests.mcp_client import call, list_tools, over_mcp, refused
from conftest import bearer_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Documents are ingested here, in the test process; the servers read only their chunks.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def mcp_url(daphne_server) -> Callable[[Any], str]:
    return lambda agent: f"{daphne_server.url}/mcp/agents/{agent.pk}"


def test_it_lists_the_agents_two_tools(alice, mcp_url):
    agent = AgentFactory(owner=alice, name="Librarian", description="Knows the handbook.")

    listed = over_mcp(mcp_url(agent), bearer_for(alice), list_tools)

    assert [tool.name for tool in listed.tools] == ["ask", "search_knowledge"]
    ask = listed.tools[0]
    assert "Librarian" in ask.description and "Knows the handbook." in ask.description
    assert ask.input_schema["required"] == ["question"]


def test_ask_is_a_real_run_of_the_user_with_usage_recorded(alice, mcp_url, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text="Nightjar listens on port 7443.", usage={"prompt_tokens": 30, "completion_tokens": 7}))
    agent = AgentFactory(owner=alice, name="Ops", system_prefix="You are the ops agent.")
    key = api_key_create(owner=alice, name="claude-desktop")[1]

    progress: list[tuple[float, str | None]] = []
    result = over_mcp(mcp_url(agent), key, call("ask", {"question": "Which port does Nightjar use?"}, progress=progress))

    assert result.is_error is False
    assert result.content[0].text == "Nightjar listens on port 7443."
    answer = result.structured_content["artifacts"][0]
    run = AgentRun.objects.get()
    assert (run.user, run.agent, run.status, run.endpoint) == (alice, agent, "completed", "mcp /mcp/agents/{agent_id}")
    assert answer == {"type": "answer", "answer": "Nightjar listens on port 7443.", "citations": [],
                      "thread_id": run.thread_id, "run_id": str(run.pk)}
    assert fake_llm.chat_requests[-1]["messages"][0]["content"].startswith("You are the ops agent.")
    usage = UsageRecord.objects.get(user=alice)
    assert (usage.input_tokens, usage.output_tokens, usage.run_id) == (30, 7, run.pk)
    assert Thread.objects.get(pk=run.thread_id).owner == alice
    # The run's steps, told while the client waited (each notification numbered up from 1).
    assert [value for value, _ in progress] == list(range(1, len(progress) + 1))
    assert progress[0][1].startswith("Queued") and "Agent routing to answer generation..." in dict(progress).values()


def test_ask_continues_a_thread_and_cites_the_users_documents(alice, bob, mcp_url):
    document = knowledge_services.document_create(owner=alice, upload=corpus_file("nightjar.md"), queue=False)
    knowledge_services.document_ingest(document_id=document.pk)
    agent = AgentFactory(owner=alice)
    token = bearer_for(alice)

    first = over_mcp(mcp_url(agent), token, call("ask", {"question": "How long are Nightjar backups kept?"}))
    thread_id = first.structured_content["artifacts"][0]["thread_id"]
    second = over_mcp(mcp_url(agent), token, call("ask", {"question": "And when are they written?",
                                                          "thread_id": thread_id}))

    assert first.is_error is False and second.is_error is False
    citations = first.structured_content["artifacts"][0]["citations"]
    assert citations and {c["document_id"] for c in citations} == {str(document.pk)}
    assert "Sources:\n[1] nightjar.md" in first.content[0].text
    assert AgentRun.objects.filter(thread_id=thread_id).count() == 2
    bobs = over_mcp(mcp_url(AgentFactory(owner=bob)), bearer_for(bob),
                    call("ask", {"question": "Hi", "thread_id": thread_id}))
    assert bobs.is_error is True and bobs.content[0].text == "Thread not found."


def test_search_knowledge_ranks_the_agents_passages(alice, bob, mcp_url):
    handbook = knowledge_services.document_create(owner=alice, upload=corpus_file("teas.csv"), queue=False)
    knowledge_services.document_ingest(document_id=handbook.pk)
    knowledge_services.document_ingest(
        document_id=knowledge_services.document_create(owner=bob, upload=corpus_file("teas.csv"), queue=False).pk
    )
    agent = AgentFactory(owner=alice)

    result = over_mcp(mcp_url(agent), bearer_for(alice), call("search_knowledge", {"query": "matcha", "top_k": 3}))

    passages = result.structured_content["artifacts"][0]["passages"]
    assert result.is_error is False and 1 <= len(passages) <= 3
    assert {passage["document_id"] for passage in passages} == {str(handbook.pk)}  # never bob's copy
    assert "Matcha" in passages[0]["content"] and passages[0]["row"] is not None
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)
    assert result.content[0].text.startswith("[1] teas.csv, row ")


def test_search_knowledge_checks_its_arguments(alice, mcp_url):
    agent = AgentFactory(owner=alice)

    result = over_mcp(mcp_url(agent), bearer_for(alice), call("search_knowledge", {"query": "tea", "top_k": 500}))

    assert result.is_error is True
    assert result.content[0].text.startswith("Invalid parameters for search_knowledge: 500 is greater than")


def test_it_needs_a_valid_bearer_token_or_key(alice, daphne_server, mcp_url):
    agent = AgentFactory(owner=alice)
    key = api_key_create(owner=alice, name="revoked")
    api_key_revoke(api_key=key[0])

    for token in (None, "not-a-jwt", key[1], "ce-unknown"):
        response = httpx.post(mcp_url(agent), json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                              headers={"Authorization": f"Bearer {token}"} if token else {})
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
        refused(mcp_url(agent), token)


def test_another_users_agent_is_not_found(alice, bob, mcp_url, daphne_server):
    bobs = AgentFactory(owner=bob)

    error = refused(mcp_url(bobs), bearer_for(alice))

    assert error.error.message == "Agent not found."
    assert httpx.post(mcp_url(bobs), json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).status_code == 401
    response = httpx.post(f"{daphne_server.url}/mcp/agents/not-an-id", json={}, headers={
        "Authorization": f"Bearer {bearer_for(alice)}"})
    assert response.status_code == 404
    assert AgentRun.objects.count() == 0


def test_a_grant_opens_the_agent_and_its_revocation_closes_it(alice, bob, mcp_url):
    grant = AgentGrantFactory(agent=AgentFactory(owner=bob, name="Shared"), user=alice)

    assert [tool.name for tool in over_mcp(mcp_url(grant.agent), bearer_for(alice), list_tools).tools] == [
        "ask", "search_knowledge"]
    grant.delete()
    assert refused(mcp_url(grant.agent), bearer_for(alice)).error.message == "Agent not found."
