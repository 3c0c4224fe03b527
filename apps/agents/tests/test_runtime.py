"""The agent loop against the fake upstream and the offline model."""
from __future__ import annotations

import asyncio
import json

from asgiref.sync import async_to_sync

from apps.agents.runtime import RunOptions, agent_run_stream
from apps.agents.tests.factories import AgentFactory
from apps.agents.tests.runs import of_type, run
from apps.conversations.tests.factories import ThreadFactory
from apps.providers.models import UsageRecord
from apps.providers.testing import Reply

QUESTION = [{"role": "user", "content": "What is 6 * 7?"}]


def test_it_calls_a_tool_and_then_answers(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    agent = AgentFactory(owner=alice, available_tools=["calculator"])
    fake_llm.script(
        Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "6 * 7"}, "id": "call_1"}]),
        Reply(text="The answer is 42."),
    )
    events = run(user=alice, agent=agent, messages=QUESTION, options=RunOptions(), run_id=None,
                 thread_id="t-1", endpoint="/api/stream")

    assert of_type(events, "tool_call") == [{"id": "call_1", "tool": "calculator", "arguments": {"expression": "6 * 7"}}]
    assert of_type(events, "tool_result") == [{"id": "call_1", "tool": "calculator", "result": "42", "error": False}]
    assert "".join(e["content"] for e in of_type(events, "content")) == "The answer is 42."
    second = fake_llm.chat_requests[1]["messages"]
    assert second[-1] == {"role": "tool", "tool_call_id": "call_1", "content": "42"}
    assert second[-2]["tool_calls"][0]["function"]["name"] == "calculator"


def test_it_emits_the_pipeline_steps_in_order(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    events = run(user=alice, agent=AgentFactory(owner=alice, name="Helper"), messages=QUESTION)
    steps = [e["step"] for e in of_type(events, "status")]
    assert steps[0] == "routing" and steps[-1] == "answering"
    assert of_type(events, "status")[0]["content"] == "Agent routing to Helper..."


def test_it_records_usage_for_every_model_call(alice, fake_llm):
    provider = fake_llm.make_provider(owner=alice)
    fake_llm.script(
        Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "1+1"}}],
              usage={"prompt_tokens": 20, "completion_tokens": 4}),
        Reply(text="2", usage={"prompt_tokens": 30, "completion_tokens": 1, "cached_tokens": 8}),
    )
    run_id = "6f1c1a52-7d8e-4a47-9c1e-2d3f4a5b6c7d"
    events = run(user=alice, agent=AgentFactory(owner=alice), messages=QUESTION, run_id=run_id, thread_id="s-9",
                 endpoint="/api/chat")
    assert [e["input_tokens"] for e in of_type(events, "usage")] == [20, 30]
    records = list(UsageRecord.objects.filter(user=alice).order_by("created_at", "id"))
    assert [(r.input_tokens, r.output_tokens, r.cached_tokens) for r in records] == [(20, 4, 0), (30, 1, 8)]
    assert {str(r.run_id) for r in records} == {run_id}
    assert {(r.provider_id, r.session_id, r.endpoint, r.model) for r in records} == {
        (provider.pk, "s-9", "/api/chat", "fake-model")}


def test_it_stops_at_max_loop_count(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.default = Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "1+1"}}])
    events = run(user=alice, agent=AgentFactory(owner=alice), messages=QUESTION,
                 options=RunOptions(max_loop_count=3))
    assert len(fake_llm.chat_requests) == 3
    assert "tools" not in fake_llm.chat_requests[-1]
    assert len(of_type(events, "tool_result")) == 2
    assert of_type(events, "status")[-1]["step"] == "max_loop"


def test_it_runs_a_sub_agent_as_a_tool(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    helper = AgentFactory(owner=alice, name="Researcher", available_tools=[])
    lead = AgentFactory(owner=alice, available_sub_agent_ids=[str(helper.pk)], available_tools=[])
    tool_name = f"agent_{helper.pk}"
    fake_llm.script(
        Reply(tool_calls=[{"name": tool_name, "arguments": {"task": "Find the capital of France"}, "id": "c1"}]),
        Reply(text="Paris is the capital."),
        Reply(text="The researcher says: Paris."),
    )
    events = run(user=alice, agent=lead, messages=[{"role": "user", "content": "Capital of France?"}])
    assert of_type(events, "tool_result") == [{"id": "c1", "tool": tool_name, "result": "Paris is the capital.",
                                               "error": False}]
    assert "".join(e["content"] for e in of_type(events, "content")) == "The researcher says: Paris."
    sub_request = fake_llm.chat_requests[1]["messages"]
    assert sub_request[-1] == {"role": "user", "content": "Find the capital of France"}
    assert [t["function"]["name"] for t in fake_llm.chat_requests[0]["tools"]] == [tool_name]
    assert len(of_type(events, "usage")) == 3  # the lead's two calls and the sub-agent's one


def test_it_does_not_offer_another_users_agent_as_sub_agent(alice, bob, fake_llm):
    fake_llm.make_provider(owner=alice)
    foreign = AgentFactory(owner=bob)
    run(user=alice, agent=AgentFactory(owner=alice, available_tools=[], available_sub_agent_ids=[str(foreign.pk)]),
        messages=QUESTION)
    assert "tools" not in fake_llm.chat_requests[0]


def test_it_refuses_a_tool_the_agent_was_not_given(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(tool_calls=[{"name": "http_fetch", "arguments": {"url": "http://10.0.0.1/"}, "id": "x"}]),
                    Reply(text="ok"))
    events = run(user=alice, agent=AgentFactory(owner=alice, available_tools=["calculator"]), messages=QUESTION)
    assert of_type(events, "tool_result")[0]["error"] is True


def test_it_yields_an_error_event_when_the_provider_fails(alice, fake_llm, settings):
    settings.LLM_MAX_RETRIES = 0
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(status=500, error_message="boom"))
    events = run(user=alice, agent=None, messages=QUESTION)
    assert events[-1].type == "error"
    assert "HTTP 500" in events[-1].data["content"]


def test_it_yields_an_error_event_when_the_provider_times_out(alice, fake_llm, settings):
    settings.LLM_READ_TIMEOUT = 0.2
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text="slow", first_byte_delay=1.0))
    events = run(user=alice, agent=None, messages=QUESTION)
    assert events[-1].type == "error"
    assert "in time" in events[-1].data["content"]


def test_it_stops_promptly_when_asked(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text=" ".join(["word"] * 200), delay=0.02))
    seen: list = []

    async def should_stop() -> bool:
        return len(seen) >= 3

    async def collect() -> None:
        async for event in agent_run_stream(user=alice, agent=None, messages=QUESTION, should_stop=should_stop):
            if event.type == "content":
                seen.append(event)

    async_to_sync(collect)()
    assert 3 <= len(seen) < 50


def test_it_stops_while_the_upstream_is_silent(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text="late", first_byte_delay=3.0))

    async def should_stop() -> bool:
        return True

    async def collect() -> list:
        # The stop check must not wait for the upstream's first byte.
        async with asyncio.timeout(2):
            return [e async for e in agent_run_stream(user=alice, agent=None, messages=QUESTION,
                                                     should_stop=should_stop)]

    events = async_to_sync(collect)()
    assert of_type(events, "content") == []


def test_it_applies_request_overrides(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    agent = AgentFactory(owner=alice, system_prefix="Saved prompt", available_tools=["calculator"])
    overrides = RunOptions.from_request({"system_prefix": "Be terse.", "available_tools": ["current_time"],
                                           "llm_model_config": {"model": "other-model", "temperature": 0.1},
                                           "unknown_field": 1})
    run(user=alice, agent=agent, messages=QUESTION, options=overrides)
    body = fake_llm.chat_requests[0]
    assert body["messages"][0]["content"].startswith("Be terse.")
    assert [t["function"]["name"] for t in body["tools"]] == ["current_time"]
    assert body["model"] == "other-model" and body["temperature"] == 0.1


def test_from_request_ignores_bad_types():
    overrides = RunOptions.from_request({"max_loop_count": "ten", "available_tools": "calculator",
                                           "deep_thinking": "yes", "llm_model_config": [1]})
    assert overrides == RunOptions()
    assert RunOptions.from_request({"max_loop_count": 999}).max_loop_count == 50
    admin = RunOptions.from_request({"agent_name": "X", "enable_deep_thinking": True, "locale": "fr-FR",
                                       "resources": [{"id": "kb1"}]})
    assert (admin.agent_name, admin.deep_thinking, admin.locale, admin.available_knowledge_bases) == (
        "X", True, "fr-FR", ["kb1"])


def test_the_offline_model_answers_when_no_provider_is_configured(alice):
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "Hello"}])
    content = of_type(events, "content")
    assert len(content) > 5  # streamed word by word
    assert "built-in offline model" in "".join(e["content"] for e in content)
    assert UsageRecord.objects.get(user=alice).model == "codex-offline"


def test_the_offline_model_calls_the_calculator(alice):
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "What is 12 * (3 + 4)?"}])
    assert of_type(events, "tool_call")[0]["tool"] == "calculator"
    assert of_type(events, "tool_result")[0]["result"] == "84"
    assert "84" in "".join(e["content"] for e in of_type(events, "content"))


def test_the_offline_model_fetches_a_url_through_the_safe_fetcher(alice, fake_llm):
    # The fake server is the only HTTP server here; fake_llm allows loopback for the fetcher.
    url = f"{fake_llm.base_url}/models"
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": f"Read {url} please"}])
    assert of_type(events, "tool_call")[0]["arguments"] == {"url": url}
    result = of_type(events, "tool_result")[0]
    assert result["error"] is False and "fake-model" in result["result"]


def _ingest(user, settings, tmp_path, name: str, content: bytes) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.knowledge import services as knowledge_services

    settings.MEDIA_ROOT = tmp_path
    upload = SimpleUploadedFile(name, content, content_type="text/plain")
    document = knowledge_services.document_create(owner=user, upload=upload, queue=False)
    knowledge_services.document_ingest(document_id=document.pk)


def test_the_offline_model_answers_from_knowledge_with_citations(alice, settings, tmp_path):
    _ingest(alice, settings, tmp_path, "leave.txt",
            b"Employees get 25 days of paid leave per year. Requests go to the HR portal.")
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "How many days of paid leave?"}])
    assert [e["step"] for e in of_type(events, "status")] == ["routing", "retrieval", "answering"]
    citations = of_type(events, "citations")[0]["citations"]
    assert citations[0]["filename"] == "leave.txt"
    assert set(citations[0]) == {"document_id", "filename", "page", "row", "chunk_id", "score"}
    types = [event.type for event in events]
    assert types.index("citations") < types.index("content")
    answer = "".join(e["content"] for e in of_type(events, "content"))
    assert "25 days of paid leave" in answer and "[1]" in answer


def test_a_real_model_gets_the_numbered_sources(alice, fake_llm, settings, tmp_path):
    fake_llm.make_provider(owner=alice)
    _ingest(alice, settings, tmp_path, "leave.txt", b"Employees get 25 days of paid leave per year.")
    run(user=alice, agent=None, messages=[{"role": "user", "content": "How many days of paid leave?"}])
    system = [m["content"] for m in fake_llm.chat_requests[0]["messages"] if m["role"] == "system"]
    assert any("[1] leave.txt" in text and "25 days" in text for text in system)


def test_deep_thinking_and_force_summary_shape_the_system_prompt(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    run(user=alice, agent=None, messages=QUESTION,
        options=RunOptions.from_request({"deep_thinking": True, "force_summary": True}))
    system = fake_llm.chat_requests[0]["messages"][0]["content"]
    assert "step by step" in system and "Summary:" in system


def test_a_text_only_provider_gets_no_image_parts(alice, fake_llm):
    fake_llm.make_provider(owner=alice, supports_multimodal=False)
    image = [{"type": "text", "text": "Describe this"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    run(user=alice, agent=None, messages=[{"role": "user", "content": image}])
    assert fake_llm.chat_requests[0]["messages"][-1]["content"] == (
        "Describe this [1 attachment(s) omitted: this model reads text only]")


def test_a_multimodal_provider_gets_the_image(alice, fake_llm):
    fake_llm.make_provider(owner=alice, supports_multimodal=True)
    image = [{"type": "text", "text": "Describe this"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]
    run(user=alice, agent=None, messages=[{"role": "user", "content": image}])
    assert fake_llm.chat_requests[0]["messages"][-1]["content"] == image


def test_an_inline_sub_agent_runs_as_a_tool(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    overrides = RunOptions.from_request({"available_tools": [], "custom_sub_agents": [
        {"name": "Poet", "systemPrefix": "You write haiku.", "description": "Writes poems"}]})
    fake_llm.script(
        Reply(tool_calls=[{"name": "agent_custom_1", "arguments": {"task": "A haiku on rain"}, "id": "p1"}]),
        Reply(text="Rain on the rooftop"),
        Reply(text="Here it is: Rain on the rooftop"),
    )
    events = run(user=alice, agent=None, messages=QUESTION, options=overrides)
    assert of_type(events, "tool_result")[0]["result"] == "Rain on the rooftop"
    assert fake_llm.chat_requests[1]["messages"][0]["content"].startswith("You write haiku.")


def test_broken_tool_arguments_come_back_as_a_tool_error(alice, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(tool_calls=[{"name": "calculator", "arguments": "{not json", "id": "b1"}]),
                    Reply(text="Sorry."))
    events = run(user=alice, agent=AgentFactory(owner=alice, available_tools=["calculator"]), messages=QUESTION)
    result = of_type(events, "tool_result")[0]
    assert result["error"] is True and "expression" in result["result"]
    assert "".join(e["content"] for e in of_type(events, "content")) == "Sorry."


def test_the_offline_model_answers_from_the_tool_at_the_loop_limit(alice):
    events = run(user=alice, agent=None, messages=[{"role": "user", "content": "What is 6 * 7?"}],
                 options=RunOptions(max_loop_count=2))
    assert "The result is 42." in "".join(e["content"] for e in of_type(events, "content"))


def test_an_agent_writes_a_file_into_its_session_workspace(alice, fake_llm, settings, tmp_path, alice_client):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}
    fake_llm.make_provider(owner=alice)
    agent = AgentFactory(owner=alice, available_tools=["write_file"])
    fake_llm.script(
        Reply(tool_calls=[{"name": "write_file", "arguments": {"path": "out/summary.md", "content": "# Done"}}]),
        Reply(text="Saved."),
    )
    events = run(user=alice, agent=agent, messages=QUESTION, thread_id="sess-1")
    assert of_type(events, "tool_result")[0]["error"] is False
    # A session's workspace is its thread owner's (docs/security.md, "Agent workspaces").
    ThreadFactory(id="sess-1", owner=alice, agent=agent)
    listed = alice_client.post(f"/api/agent/{agent.pk}/file_workspace?session_id=sess-1").json()["data"]["files"]
    assert [f["path"] for f in listed] == ["out/summary.md"]


def test_the_workspace_tool_refuses_to_escape(alice, fake_llm, settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                          "OPTIONS": {"location": str(tmp_path)}}}
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(tool_calls=[{"name": "write_file", "arguments": {"path": "../../x.txt", "content": "x"}}]),
                    Reply(text="ok"))
    events = run(user=alice, agent=AgentFactory(owner=alice, available_tools=["write_file"]), messages=QUESTION,
                 thread_id="sess-1")
    assert of_type(events, "tool_result")[0]["error"] is True
    assert not list(tmp_path.rglob("x.txt"))


def test_it_takes_model_ids_for_run_and_thread(alice, fake_llm):
    import uuid

    fake_llm.make_provider(owner=alice)
    run_id, thread_id = uuid.uuid4(), uuid.uuid4()
    run(user=alice, agent=None, messages=QUESTION, run_id=run_id, thread_id=thread_id, endpoint="/chat/stream")
    record = UsageRecord.objects.get(user=alice)
    assert (record.run_id, record.session_id) == (run_id, str(thread_id))


def test_options_read_camel_case_and_survive_storage():
    options = RunOptions.from_request({"systemPrefix": "Short.", "availableTools": ["calculator"], "maxLoopCount": 3,
                                       "enableWebSearch": True, "llmModelConfig": {"model": "m", "maxTokens": 20},
                                       "extra_mcp_config": {"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp"}}}})
    assert options.system_prefix == "Short." and options.available_tools == ["calculator"]
    assert options.max_loop_count == 3 and options.web_search is True
    assert options.model.model == "m" and options.model.max_tokens == 20
    assert options.mcp_servers == {"mcpServers": {"x": {"url": "http://127.0.0.1:1/mcp"}}}
    assert RunOptions.from_json(json.loads(json.dumps(options.to_json()))) == options
    assert RunOptions().to_json() == {}


def test_a_tool_streams_its_progress_events_into_the_run(alice, fake_llm):
    from apps.tools.registry import Tool, ToolResult
    from apps.tools.toolset import Provision, provider_register, provider_unregister, registered_providers

    async def slow(params, context):
        await context.emit("progress", {"content": "half way"})
        return ToolResult("done", artifacts=[{"name": "out.txt"}])

    def provide(request):
        return Provision(tools=[Tool(name="slow_tool", description="A slow tool.", function=slow)])

    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(tool_calls=[{"name": "slow_tool", "arguments": {}, "id": "c1"}]), Reply(text="ok"))
    provider_register("test-slow", provide)
    try:
        events = run(user=alice, agent=None, messages=QUESTION)
    finally:
        provider_unregister("test-slow")
    assert provide not in registered_providers()
    kinds = [event.type for event in events]
    assert kinds.index("tool_call") < kinds.index("progress") < kinds.index("tool_result")
    assert of_type(events, "tool_result") == [
        {"id": "c1", "tool": "slow_tool", "result": "done", "error": False, "artifacts": [{"name": "out.txt"}]}
    ]
