"""End to end: a real worker runs the agent, daphne streams it; an MCP tool and load_skill show in every API's stream."""
from __future__ import annotations

import pytest

from apps.conversations.tests.conftest import ndjson_lines, sse_events
from apps.providers.testing import Reply
from apps.tools.models import MCPServer
from apps.tools.skillfiles import read_skill_zip
from apps.tools.skills import skill_save_bundle
from apps.tools.tests.skillzip import skill_zip

pytestmark = pytest.mark.django_db(transaction=True)


def _results_000(http) -> list[str]:
    with http.stream("POST", "/chat/stream", json={"message": "Echo and load", "thread_id": "t-000"}) as response:
        frames = [frame["data"] for frame in sse_events(response.iter_lines())]
    assert frames[-1]["type"] == "done"
    return [frame["result"] for frame in frames if frame["type"] == "tool_result"]


def _results_002(http) -> list[str]:
    body = {"messages": [{"role": "user", "content": "Echo and load"}], "session_id": "t-002"}
    with http.stream("POST", "/api/stream", json=body) as response:
        lines = ndjson_lines(response.iter_lines())
    assert lines[-1]["type"] == "stream_end"
    return [line["content"] for line in lines if line["type"] == "tool_call_result"]


def _results_003(http) -> list[str]:
    body = {"messages": [{"role": "user", "content": "Echo and load"}], "thread_id": "t-003"}
    with http.stream("POST", "/api/v1/agent/chat/stream", json=body) as response:
        frames = sse_events(response.iter_lines())
    assert frames[-1]["data"].get("finish_reason") == "stop"
    return [frame["data"]["content"] for frame in frames if frame["event"] == "tool_call_result"]


def _results_004(http) -> list[str]:
    run_id = http.post("/api/agent/initiate", json={"prompt": "Echo and load"}).json()["agent_run_id"]
    with http.stream("GET", f"/api/agent-run/{run_id}/stream") as response:
        frames = [frame["data"] for frame in sse_events(response.iter_lines())]
    assert frames[-1]["status"] == "completed"
    return [frame["result"] for frame in frames if frame["type"] == "tool_result"]


@pytest.mark.parametrize("api", [_results_000, _results_002, _results_003, _results_004], ids=["000", "002", "003", "004"])
def test_an_mcp_tool_and_a_skill_reach_every_apis_stream(alice, daphne_server, fake_llm, mcp_server, api):
    fake_llm.make_provider(owner=alice)
    # The worker is another process: the server's private address is allowed on the row, as staff would.
    MCPServer.objects.create(owner=alice, name="tools", url=mcp_server.http_url, allow_private=True, status="connected",
                             tools=[{"name": "echo", "description": "Echo.", "input_schema": {
                                 "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}])
    skill_save_bundle(user=alice, bundle=read_skill_zip(skill_zip()))
    fake_llm.script(
        Reply(tool_calls=[{"name": "tools__echo", "arguments": {"text": "hello"}, "id": "c1"},
                          {"name": "load_skill", "arguments": {"name": "csv-cleanup"}, "id": "c2"}]),
        Reply(text="Both done."),
    )
    with daphne_server.client(alice) as http:
        echoed, loaded = api(http)
    assert echoed == "echo: hello"
    assert "Follow the checklist in checklist.md" in loaded
