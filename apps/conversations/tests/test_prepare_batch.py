"""Runs claimed together are prepared together: one user's runs share their plan's reads, and
nothing else (each run keeps its own toolset, another user's runs read their own rows)."""
from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.conversations import services
from apps.conversations.tests.factories import AgentRunFactory, MessageFactory, ThreadFactory
from apps.knowledge import services as knowledge_services
from apps.knowledge.tests.test_retrieval import corpus_file
from apps.providers.tests.factories import LLMProviderFactory
from apps.tools.models import MCPServer, Skill

pytestmark = pytest.mark.django_db

PLAN_TABLES = ("tools_skill", "tools_mcpserver", "tools_toolkitprofile", "providers_llmprovider")
ECHO = {"name": "echo", "description": "Echo.", "input_schema": {"type": "object", "properties": {}}}


def _claimed(*users):
    runs = [AgentRunFactory(thread=ThreadFactory(owner=user), user=user) for user in users]
    return services._runs_claim(items=[str(run.pk) for run in runs])


def _reads(queries) -> dict[str, int]:
    return {table: sum(f'FROM "{table}"' in query["sql"] for query in queries) for table in PLAN_TABLES}


def _tool_names(begun) -> set[str]:
    return {tool.name for tool in begun.prepared.plan.toolset.tools}


def test_one_users_runs_prepared_together_read_their_plan_once(alice):
    Skill.objects.create(owner=alice, name="alice-skill", description="Alice's.", content="---\nname: alice-skill\n---\nDo it.")
    MCPServer.objects.create(owner=alice, name="srv", url="http://127.0.0.1:1/mcp", status="connected", tools=[ECHO])
    LLMProviderFactory(owner=alice, is_default=True)
    claimed = _claimed(alice, alice, alice)

    with CaptureQueriesContext(connection) as batch:
        prepared = services._runs_prepare(items=claimed)
    assert _reads(batch.captured_queries) == dict.fromkeys(PLAN_TABLES, 1)

    for begun, claim in zip(prepared, claimed, strict=True):
        assert begun.run.pk == claim.run.pk and begun.prepared.plan is not None
        assert {"load_skill", "srv__echo"} <= _tool_names(begun)
        assert "alice-skill" in begun.prepared.plan.system_prompt
    # Each run still has a toolset (and MCP sessions) of its own.
    toolsets = {id(begun.prepared.plan.toolset) for begun in prepared}
    assert len(toolsets) == 3

    # A run prepared on its own reads as it always did.
    with CaptureQueriesContext(connection) as alone:
        services._runs_prepare(items=_claimed(alice))
    assert _reads(alone.captured_queries) == dict.fromkeys(PLAN_TABLES, 1)


def test_runs_of_different_users_in_one_batch_read_their_own_rows(alice, bob):
    Skill.objects.create(owner=alice, name="alice-skill", description="Alice's.", content="---\nname: alice-skill\n---\nDo it.")
    MCPServer.objects.create(owner=alice, name="srv", url="http://127.0.0.1:1/mcp", status="connected", tools=[ECHO])
    claimed = _claimed(alice, bob, alice)

    with CaptureQueriesContext(connection) as batch:
        for_alice, for_bob, again = services._runs_prepare(items=claimed)
    assert _reads(batch.captured_queries) == dict.fromkeys(PLAN_TABLES, 2)  # once per user
    assert "srv__echo" in _tool_names(for_alice) and "srv__echo" in _tool_names(again)
    assert "srv__echo" not in _tool_names(for_bob) and "load_skill" not in _tool_names(for_bob)
    assert "alice-skill" not in for_bob.prepared.plan.system_prompt


def test_a_run_whose_preparation_fails_gets_its_error_and_the_others_go_on(alice, monkeypatch):
    claimed = _claimed(alice, alice)
    broken = claimed[0].run.pk
    real = services._run_prepare

    def prepare(*, claimed):
        if claimed.run.pk == broken:
            raise RuntimeError("boom")
        return real(claimed=claimed)

    monkeypatch.setattr(services, "_run_prepare", prepare)
    first, second = services._runs_prepare(items=claimed)

    assert isinstance(first, RuntimeError) and str(first) == "boom"
    assert second.run.pk != broken and second.prepared.plan is not None


def _asked(user, question: str):
    """A queued run of ``user`` on a new thread whose message is ``question``, claimed."""
    thread = ThreadFactory(owner=user)
    MessageFactory(thread=thread, content=question)
    run = AgentRunFactory(thread=thread, user=user)
    return services._runs_claim(items=[str(run.pk)])[0]


def _searches(queries) -> tuple[int, int]:
    return (sum('FROM "knowledge_document"' in query["sql"] and 'knowledge_chunk' not in query["sql"] for query in queries),
            sum('FROM "knowledge_chunk"' in query["sql"] for query in queries))


def test_one_users_runs_prepared_together_learn_once_that_there_is_nothing_to_search(alice, bob):
    claimed = [_asked(alice, "Which tea is smoky?") for _ in range(3)] + [_asked(bob, "Which tea is smoky?")]

    with CaptureQueriesContext(connection) as batch:
        prepared = services._runs_prepare(items=claimed)
    # One look at each user's documents; no chunk query, no encoder.
    assert _searches(batch.captured_queries) == (2, 0)
    assert all(begun.prepared.chunks == [] for begun in prepared)

    # Once alice has a document, each of her runs searches it (and bob still has nothing).
    document = knowledge_services.document_create(owner=alice, upload=corpus_file("teas.csv"), queue=False)
    knowledge_services.document_ingest(document_id=document.pk)
    claimed = [_asked(alice, "Which tea is smoky?") for _ in range(2)] + [_asked(bob, "Which tea is smoky?")]
    first, second, for_bob = services._runs_prepare(items=claimed)
    assert {chunk.filename for chunk in first.prepared.chunks} == {"teas.csv"}
    assert {chunk.filename for chunk in second.prepared.chunks} == {"teas.csv"}
    assert for_bob.prepared.chunks == []
