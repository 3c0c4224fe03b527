"""The OpenAI-compatible /v1, driven by the official ``openai`` SDK against a daphne subprocess.

Runs execute in the real Celery worker; the built-in offline model answers unless a test
points a provider at the fake upstream.
"""
from __future__ import annotations

import json

import httpx
import openai
import pytest

from apps.accounts.services.api_keys import api_key_create, api_key_revoke
from apps.agents.tests.factories import AgentFactory, AgentGrantFactory
from apps.conversations.models import AgentRun, Message, Thread
from apps.conversations.tests.conftest import wait_finished
from apps.providers.testing import Reply
from conftest import bearer_for

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = Reply(text=" ".join(f"word{i}" for i in range(400)), delay=0.03)



@pytest.fixture
def sdk(daphne_server):
    def make(secret: str) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{daphne_server.url}/v1", api_key=secret, max_retries=0, timeout=60)

    return make


@pytest.fixture
def alice_key(alice) -> str:
    return api_key_create(owner=alice, name="tests")[1]


@pytest.fixture
def alice_sdk(sdk, alice_key) -> openai.OpenAI:
    return sdk(alice_key)


# ------------------------------------------------------------------------------
# /v1/models
# ------------------------------------------------------------------------------
def test_models_lists_own_and_granted_agents(alice, bob, alice_sdk):
    own = AgentFactory(owner=alice, name="Writer")
    granted = AgentGrantFactory(agent=AgentFactory(owner=bob, name="Researcher"), user=alice).agent
    AgentFactory(owner=bob, name="Private")

    models = alice_sdk.models.list()

    assert models.object == "list"
    assert [model.id for model in models.data] == [str(own.pk), str(granted.pk)]
    assert [model.owned_by for model in models.data] == ["alice", "bob"]
    assert {model.object for model in models.data} == {"model"}
    assert models.data[0].created == int(own.created_at.timestamp())
    assert alice_sdk.models.retrieve("Researcher").id == str(granted.pk)
    with pytest.raises(openai.NotFoundError):
        alice_sdk.models.retrieve("Private")


def test_models_needs_a_valid_key(sdk, alice):
    with pytest.raises(openai.AuthenticationError) as error:
        sdk("ce-not-a-key").models.list()
    assert error.value.status_code == 401
    assert error.value.body == {"message": "Invalid, expired or revoked API key.", "type": "invalid_request_error",
                                "param": None, "code": "invalid_api_key"}


# ------------------------------------------------------------------------------
# /v1/chat/completions
# ------------------------------------------------------------------------------
def test_a_completion_from_the_offline_model(alice, alice_sdk):
    agent = AgentFactory(owner=alice, name="Helper")

    completion = alice_sdk.chat.completions.create(
        model=str(agent.pk), messages=[{"role": "user", "content": "What is a transformer?"}]
    )

    assert completion.object == "chat.completion"
    assert completion.model == str(agent.pk)
    choice = completion.choices[0]
    assert choice.index == 0 and choice.finish_reason == "stop"
    assert choice.message.role == "assistant" and "offline model" in choice.message.content
    assert completion.usage.completion_tokens > 0
    assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens
    run = wait_finished(str(AgentRun.objects.get().pk))
    assert completion.id == f"chatcmpl-{run.pk.hex}"
    assert run.status == "completed" and run.agent == agent and run.endpoint == "openai /v1/chat/completions"
    assert Message.objects.get(thread=run.thread, role="assistant").content == choice.message.content


def test_a_completion_by_agent_name_and_with_a_sign_in_token(alice, sdk):
    AgentFactory(owner=alice, name="Helper")

    completion = sdk(bearer_for(alice)).chat.completions.create(
        model="Helper", messages=[{"role": "user", "content": "Hello"}]
    )

    assert completion.choices[0].message.content


def test_a_stream_from_the_fake_upstream_with_usage(alice, alice_sdk, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text="Hello there, friend.", usage={"prompt_tokens": 12, "completion_tokens": 4}))
    agent = AgentFactory(owner=alice, system_prefix="You are the agent.")

    stream = alice_sdk.chat.completions.create(
        model=str(agent.pk),
        messages=[
            {"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Greet me again"},
        ],
        stream=True,
        stream_options={"include_usage": True},
        temperature=0.3,
        max_tokens=50,
        user="end-user-7",
    )
    chunks = list(stream)

    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len({chunk.id for chunk in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert chunks[0].choices[0].delta.role == "assistant"
    *content, final, usage = chunks
    assert "".join(chunk.choices[0].delta.content or "" for chunk in content) == "Hello there, friend."
    assert all(chunk.choices[0].finish_reason is None and chunk.usage is None for chunk in content)
    assert final.choices[0].finish_reason == "stop" and final.choices[0].delta.content is None
    assert usage.choices == []
    assert (usage.usage.prompt_tokens, usage.usage.completion_tokens, usage.usage.total_tokens) == (12, 4, 16)
    upstream = fake_llm.chat_requests[-1]
    assert upstream["temperature"] == 0.3 and upstream["max_tokens"] == 50
    roles = [message["role"] for message in upstream["messages"]]
    assert roles == ["system", "user", "assistant", "user"]
    system = upstream["messages"][0]["content"]
    assert system.startswith("You are the agent.") and "Answer briefly." in system
    run = AgentRun.objects.get()
    assert run.options["end_user"] == "end-user-7"
    assert [m.role for m in Message.objects.filter(thread=run.thread)] == ["system", "user", "assistant", "user",
                                                                          "assistant"]


def test_the_wire_format_without_usage_ends_with_done(alice, alice_key, daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text="One two"), Reply(text="Three"))
    agent = AgentFactory(owner=alice)

    with httpx.Client(base_url=daphne_server.url, headers={"Authorization": f"Bearer {alice_key}"}, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", json={
            "model": str(agent.pk), "stream": True, "messages": [{"role": "user", "content": "Count"}],
        }) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["x-codex-run-id"] == str(AgentRun.objects.get().pk)
            body = response.read().decode()
        whole = http.post("/v1/chat/completions", json={
            "model": str(agent.pk), "messages": [{"role": "user", "content": "Count on"}],
        }).json()

    assert set(whole) == {"id", "object", "created", "model", "choices", "usage"}
    assert whole["choices"] == [{"index": 0, "logprobs": None, "finish_reason": "stop", "message": {
        "role": "assistant", "content": "Three", "refusal": None, "annotations": []}}]
    assert set(whole["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details",
                                   "completion_tokens_details"}

    frames = [frame for frame in body.split("\n\n") if frame and not frame.startswith(":")]
    assert all(frame.startswith("data: ") for frame in frames)
    assert frames[-1] == "data: [DONE]"
    chunks = [json.loads(frame[len("data: "):]) for frame in frames[:-1]]
    assert chunks[0]["choices"] == [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                                     "finish_reason": None}]
    assert set(chunks[0]) == {"id", "object", "created", "model", "choices"}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}
    assert "".join(chunk["choices"][0]["delta"].get("content", "") for chunk in chunks) == "One two"


def test_the_agents_own_tool_calls_stay_inside(alice, alice_sdk, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "2+2"}}]), Reply(text="It is 4."))
    agent = AgentFactory(owner=alice, available_tools=["calculator"])

    chunks = list(alice_sdk.chat.completions.create(
        model=str(agent.pk), messages=[{"role": "user", "content": "What is 2+2?"}], stream=True
    ))
    completion_text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)

    assert completion_text == "It is 4."
    assert all(chunk.choices[0].delta.tool_calls is None for chunk in chunks)
    tool_result = fake_llm.chat_requests[-1]["messages"][-1]
    assert tool_result["role"] == "tool" and "4" in tool_result["content"]


def test_an_upstream_failure_is_a_server_error(alice, alice_sdk, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(*[Reply(status=500)] * 10)
    agent = AgentFactory(owner=alice)

    with pytest.raises(openai.APIStatusError) as error:
        alice_sdk.chat.completions.create(model=str(agent.pk), messages=[{"role": "user", "content": "hi"}])
    assert error.value.status_code == 502 and error.value.body["type"] == "server_error"
    with pytest.raises(openai.APIError) as streamed:
        list(alice_sdk.chat.completions.create(model=str(agent.pk), messages=[{"role": "user", "content": "hi"}],
                                               stream=True))
    assert streamed.value.body["type"] == "server_error" and streamed.value.message


def test_an_unknown_model_is_not_found(alice, alice_sdk):
    with pytest.raises(openai.NotFoundError) as error:
        alice_sdk.chat.completions.create(model="no-such-agent", messages=[{"role": "user", "content": "hi"}])

    assert error.value.body == {"message": "The model 'no-such-agent' does not exist or you do not have access to it.",
                                "type": "invalid_request_error", "param": "model", "code": "model_not_found"}
    assert not AgentRun.objects.exists()


def test_another_users_agent_is_not_found(alice, bob, alice_sdk):
    agent = AgentFactory(owner=bob, name="Bob's")

    for model in (str(agent.pk), "Bob's"):
        with pytest.raises(openai.NotFoundError):
            alice_sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert not AgentRun.objects.exists()


def test_a_bad_or_revoked_key_is_refused(alice, sdk):
    agent = AgentFactory(owner=alice)
    key, secret = api_key_create(owner=alice, name="to revoke")
    messages = [{"role": "user", "content": "hi"}]
    assert sdk(secret).models.list().data

    api_key_revoke(api_key=key)

    for client in (sdk(secret), sdk("ce-wrong"), sdk("not-even-a-jwt")):
        with pytest.raises(openai.AuthenticationError) as error:
            client.chat.completions.create(model=str(agent.pk), messages=messages)
        assert error.value.status_code == 401 and error.value.body["code"] == "invalid_api_key"
    assert not AgentRun.objects.exists()


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "assistant", "content": "I start"}]}, "messages"),
        ({"messages": [{"role": "tool", "content": "x", "tool_call_id": "1"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": [{"type": "audio"}]}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "hi"}], "temperature": 3}, "temperature"),
        ({"messages": [{"role": "user", "content": "hi"}], "n": 2}, "n"),
        ({"messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function"}]}, "tools"),
        ({"messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": True}}, "stream_options"),
    ],
)
def test_invalid_requests_are_bad_requests(alice, alice_sdk, body, param):
    agent = AgentFactory(owner=alice)

    with pytest.raises(openai.BadRequestError) as error:
        alice_sdk.chat.completions.create(model=str(agent.pk), **body)

    assert error.value.status_code == 400
    assert error.value.body["type"] == "invalid_request_error" and error.value.body["param"] == param
    assert not AgentRun.objects.exists()


def test_a_missing_model_is_a_bad_request(alice_key, daphne_server):
    with httpx.Client(base_url=daphne_server.url, headers={"Authorization": f"Bearer {alice_key}"}) as http:
        response = http.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})

    assert response.status_code == 400
    assert response.json() == {"error": {"message": "model: This field is required.", "type": "invalid_request_error",
                                         "param": "model", "code": None}}


def test_a_client_that_leaves_a_stream_stops_the_run(alice, alice_sdk, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(SLOW)
    agent = AgentFactory(owner=alice)

    stream = alice_sdk.chat.completions.create(
        model=str(agent.pk), messages=[{"role": "user", "content": "Write a long essay"}], stream=True
    )
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            break
    stream.close()

    assert wait_finished(str(AgentRun.objects.get().pk)).status == "stopped"


def test_a_client_that_leaves_a_waiting_completion_stops_the_run(alice, alice_key, daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(SLOW)
    agent = AgentFactory(owner=alice)

    client = openai.OpenAI(base_url=f"{daphne_server.url}/v1", api_key=alice_key, max_retries=0, timeout=1.5)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model=str(agent.pk), messages=[{"role": "user", "content": "Long essay"}])

    assert wait_finished(str(AgentRun.objects.get().pk)).status == "stopped"


def test_each_completion_is_a_thread_of_its_own(alice, alice_sdk):
    agent = AgentFactory(owner=alice)

    for question in ("First question", "Second question"):
        alice_sdk.chat.completions.create(model=str(agent.pk), messages=[{"role": "user", "content": question}])

    assert sorted(Thread.objects.filter(owner=alice).values_list("title", flat=True)) == ["First question",
                                                                                          "Second question"]


def test_a_throttled_caller_is_told_to_wait(alice, alice_key, settings):
    # In process (over WSGI), so the throttle can be set for this test alone.
    from django.core.wsgi import get_wsgi_application

    settings.RUN_START_THROTTLE = "0/min"
    agent = AgentFactory(owner=alice)
    http = httpx.Client(transport=httpx.WSGITransport(app=get_wsgi_application()))
    client = openai.OpenAI(base_url="http://testserver/v1", api_key=alice_key, max_retries=0, http_client=http)

    with pytest.raises(openai.RateLimitError) as error:
        client.chat.completions.create(model=str(agent.pk), messages=[{"role": "user", "content": "hi"}])

    assert error.value.status_code == 429 and int(error.value.response.headers["Retry-After"]) >= 1
    assert error.value.body == {"message": "Too many runs started; wait a moment.", "type": "requests",
                                "param": None, "code": "rate_limit_exceeded"}


@pytest.mark.parametrize("accept", ["text/event-stream", "application/x-ndjson", "*/*", "application/json", None])
def test_any_accept_header_gets_the_stream(alice, alice_key, daphne_server, accept):
    agent = AgentFactory(owner=alice)
    headers = {"Authorization": f"Bearer {alice_key}", **({"Accept": accept} if accept else {})}

    with httpx.Client(base_url=daphne_server.url, headers=headers, timeout=30) as http:
        models = http.get("/v1/models")
        with http.stream("POST", "/v1/chat/completions", json={
            "model": str(agent.pk), "stream": True, "messages": [{"role": "user", "content": "Hi"}],
        }) as response:
            body = response.read().decode()

    assert models.status_code == 200 and models.json()["data"][0]["id"] == str(agent.pk)
    assert response.status_code == 200 and body.endswith("data: [DONE]\n\n")
