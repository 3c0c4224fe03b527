"""Skills and MCP tools inside agent runs: offered per run, called through the loop, with the fake upstream and offline."""
from __future__ import annotations

import uuid

import pytest

from apps.agents.runtime import RunOptions
from apps.agents.tests.factories import AgentFactory
from apps.agents.tests.runs import of_type, run
from apps.providers.testing import Reply
from apps.tools.models import MCPServer
from apps.tools.skillfiles import read_skill_zip
from apps.tools.skills import skill_save_bundle
from apps.tools.tests.skillzip import skill_zip

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(alice, mcp_server) -> MCPServer:
    server = MCPServer.objects.create(owner=alice, name="tools", url=mcp_server.http_url, allow_private=True,
                                      status="connected", tools=[
                                          {"name": "echo", "description": "Echo the given text back.",
                                           "input_schema": {"type": "object", "properties": {"text": {"type": "string"}},
                                                            "required": ["text"]}},
                                          {"name": "vanish", "description": "Go away.",
                                           "input_schema": {"type": "object", "properties": {}}},
                                      ])
    return server


@pytest.fixture
def skill(alice):
    return skill_save_bundle(user=alice, bundle=read_skill_zip(skill_zip()))


def test_an_agent_calls_an_mcp_tool_through_the_fake_upstream(alice, fake_llm, registered):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(tool_calls=[{"name": "tools__echo", "arguments": {"text": "hi"}, "id": "c1"}]),
                    Reply(text="It said hi."))
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "Echo hi"}])
    offered = {tool["function"]["name"] for tool in fake_llm.chat_requests[0]["tools"]}
    assert {"tools__echo", "tools__vanish", "calculator"} <= offered
    assert of_type(events, "tool_result") == [{"id": "c1", "tool": "tools__echo", "result": "echo: hi", "error": False}]
    assert fake_llm.chat_requests[1]["messages"][-1] == {"role": "tool", "tool_call_id": "c1", "content": "echo: hi"}


def test_an_inactive_server_is_left_out(alice, fake_llm, registered):
    registered.is_active = False
    registered.save()
    fake_llm.make_provider(owner=alice)
    run(user=alice, agent=None, messages=[{"role": "user", "content": "Echo hi"}])
    assert "tools__echo" not in {tool["function"]["name"] for tool in fake_llm.chat_requests[0].get("tools", [])}


def test_skills_are_disclosed_progressively(alice, fake_llm, skill):
    fake_llm.make_provider(owner=alice)
    agent = AgentFactory(owner=alice, available_tools=[], available_skills=["csv-cleanup"])
    fake_llm.script(
        Reply(tool_calls=[{"name": "load_skill", "arguments": {"name": "csv-cleanup"}, "id": "c1"}]),
        Reply(tool_calls=[{"name": "load_skill", "arguments": {"name": "csv-cleanup", "resource": "checklist.md"},
                           "id": "c2"}]),
        Reply(text="Done."),
    )
    events = run(user=alice, agent=agent, messages=[{"role": "user", "content": "Clean my CSV"}])
    system = fake_llm.chat_requests[0]["messages"][0]["content"]
    assert "- csv-cleanup: Clean a CSV file" in system and "Follow the checklist" not in system
    first, second = of_type(events, "tool_result")
    assert "Follow the checklist in checklist.md" in first["result"] and "- checklist.md" in first["result"]
    assert second["result"] == "- trim every cell\n- ISO dates\n" and second["error"] is False


def test_an_agent_without_the_skill_is_not_offered_it(alice, fake_llm, skill):
    fake_llm.make_provider(owner=alice)
    run(user=alice, agent=AgentFactory(owner=alice, available_skills=[]), messages=[{"role": "user", "content": "Hi"}])
    assert "load_skill" not in str(fake_llm.chat_requests[0].get("tools"))


def test_the_offline_model_picks_the_mcp_tool_and_the_skill(alice, registered, skill):
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "Please echo this sentence"}])
    assert of_type(events, "tool_call")[0]["tool"] == "tools__echo"
    assert of_type(events, "tool_result")[0]["result"] == "echo: Please echo this sentence"
    assert "echo: Please echo this sentence" in "".join(e["content"] for e in of_type(events, "content"))

    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "Use the csv cleanup skill"}])
    assert of_type(events, "tool_call")[0] == {**of_type(events, "tool_call")[0], "tool": "load_skill",
                                               "arguments": {"name": "csv-cleanup"}}
    assert "Follow the checklist" in "".join(e["content"] for e in of_type(events, "content"))


def test_a_server_that_goes_away_mid_run_is_a_tool_error_and_the_run_ends(alice, fake_llm, registered):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(
        Reply(tool_calls=[{"name": "tools__vanish", "arguments": {}, "id": "c1"}]),
        Reply(tool_calls=[{"name": "tools__echo", "arguments": {"text": "still there?"}, "id": "c2"}]),
        Reply(text="The tool server is gone."),
    )
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "Go"}])
    results = of_type(events, "tool_result")
    assert [result["error"] for result in results] == [True, True]
    assert "".join(e["content"] for e in of_type(events, "content")) == "The tool server is gone."
    assert not of_type(events, "error")


def test_per_request_servers_follow_the_same_rules(alice, fake_llm, mcp_server, settings):
    fake_llm.make_provider(owner=alice)
    options = RunOptions.from_request({"extra_mcp_config": {"mcpServers": {
        "req": {"url": mcp_server.http_url},
        "private": {"url": "http://10.1.2.3/mcp"},
        "local": {"command": "python", "args": ["-m", "evil"]},
    }}})
    settings.FETCH_ALLOW_LOOPBACK = True
    run(user=alice, agent=None, messages=[{"role": "user", "content": "Hi"}], options=options)
    offered = {tool["function"]["name"] for tool in fake_llm.chat_requests[0]["tools"]}
    assert {"req__echo", "req__slow"} <= offered
    assert not any(name.startswith(("private__", "local__")) for name in offered)
    system = fake_llm.chat_requests[0]["messages"][0]["content"]
    assert "private of this request was refused" in system and "local of this request was refused" in system


def test_003_mcp_settings_add_a_server_to_one_request(alice, fake_llm, mcp_server):
    fake_llm.make_provider(owner=alice)
    options = RunOptions.from_request({"mcp_settings": {"servers": {"req": {"transport": "sse",
                                                                              "url": mcp_server.sse_url}}}})
    fake_llm.script(Reply(tool_calls=[{"name": "req__echo", "arguments": {"text": "sse"}, "id": "c1"}]), Reply(text="ok"))
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "Hi"}], options=options)
    assert of_type(events, "tool_result")[0]["result"] == "echo: sse"


@pytest.fixture
def toolkit_profile(alice, mcp_server):
    from apps.tools.models import ToolkitProfile
    from apps.tools.toolkits.catalog import catalog_install, toolkit_get

    catalog_install()
    tools = [{"name": "echo", "description": "Echo the given text back.",
              "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
             {"name": "fail", "description": "Always fails.", "input_schema": {"type": "object", "properties": {}}}]
    return ToolkitProfile.objects.create(
        owner=alice, toolkit=toolkit_get(slug="custom-mcp"), profile_name="Work", server_name="work",
        credentials=f'{{"server_url": "{mcp_server.http_url}", "api_key": "sk-run"}}', connection_id=uuid.uuid4(),
        status="active", tools=tools, enabled_tools=["echo"],
    )


def test_an_agent_calls_a_toolkit_profiles_tool_through_the_fake_upstream(alice, fake_llm, toolkit_profile, mcp_server):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(tool_calls=[{"name": "work__echo", "arguments": {"text": "one"}, "id": "c1"}]),
                    Reply(tool_calls=[{"name": "work__echo", "arguments": {"text": "two"}, "id": "c2"}]),
                    Reply(tool_calls=[{"name": "work__fail", "arguments": {}, "id": "c3"}]),
                    Reply(text="Echoed twice."))
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "Echo one and two"}])
    offered = {tool["function"]["name"] for tool in fake_llm.chat_requests[0]["tools"]}
    assert "work__echo" in offered and "work__fail" not in offered, "only the enabled subset is offered"
    results = of_type(events, "tool_result")
    assert [(result["result"], result["error"]) for result in results[:2]] == [("echo: one", False), ("echo: two", False)]
    assert results[2]["error"] is True and "not available" in results[2]["result"]
    assert "".join(e["content"] for e in of_type(events, "content")) == "Echoed twice."
    # One session for the run's two calls, authenticated with the profile's secret.
    assert {request["authorization"] for request in mcp_server.requests} == {"Bearer sk-run"}
    assert len({request["session"] for request in mcp_server.requests if request["session"]}) == 1
    assert mcp_server.calls == ["one", "two"]


def test_an_inactive_or_disconnected_profile_is_left_out(alice, fake_llm, toolkit_profile):
    fake_llm.make_provider(owner=alice)
    toolkit_profile.is_active = False
    toolkit_profile.save()
    run(user=alice, agent=None, messages=[{"role": "user", "content": "Echo hi"}])
    toolkit_profile.is_active, toolkit_profile.connection_id = True, None
    toolkit_profile.save()
    run(user=alice, agent=None, messages=[{"role": "user", "content": "Echo hi"}])
    for request in fake_llm.chat_requests:
        assert "work__echo" not in {tool["function"]["name"] for tool in request.get("tools", [])}
