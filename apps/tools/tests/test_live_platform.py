"""On the platform as `make run` starts it: a new user's agent answers with an MCP tool and a skill, in every API.

scripts/run.sh starts its four processes (daphne, the run worker, the task worker, beat)
on the test database, with ``FETCH_ALLOW_LOOPBACK`` so that a user may register the SDK
test server on 127.0.0.1 (as an operator trying it on one machine would set it). Everything
else goes through the HTTP APIs only: the user registers (000), registers the MCP server
(002 and 003), uploads a skill (002), creates an agent with them (002) and asks, first with
the built-in offline model (no provider: it picks the tool whose name matches the question),
then with the fake OpenAI-compatible upstream as the user's provider. Each answer is read in
each API's own stream format: 000 ``/chat/stream``, 002 ``/api/stream``, 003
``/api/v1/agent/chat/stream``, 004 ``/api/agent/initiate`` with ``/api/agent-run/{id}/stream``,
and ``/v1/chat/completions``, which carries the answer only (OpenAI's format has no frame for
the agent's own tools), so its run's events are read from 004's stream of the same run.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from apps.conversations.tests.conftest import ndjson_lines, sse_events
from apps.providers.testing import FAKE_MODEL, Reply
from apps.tools.tests.skillzip import skill_zip
from conftest import RunSh, platform_env, start_platform, stop_run_sh

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[3]
SSE_CLIENT = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
SKILL_BODY = "Follow the checklist in checklist.md"
SHIPPED_SKILL_BODY = "# Meeting notes"
BOOTSTRAP = (
    "import django; django.setup(); from django.core.management import call_command; "
    "[call_command(name) for name in ('bootstrap', 'load_system_skills', 'load_toolkits')]"
)


@pytest.fixture
def live(django_db_setup, django_db_blocker, mcp_server) -> Iterator[RunSh]:
    with django_db_blocker.unblock():
        env = platform_env(FETCH_ALLOW_LOOPBACK="true")
    # No LLM_BASE_URL: with no provider, the offline model answers.
    env.pop("LLM_BASE_URL", None)
    # What `make bootstrap` runs before run.sh: roles, the shipped skills, the toolkit catalog.
    subprocess.run([sys.executable, "-c", BOOTSTRAP], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    started = time.monotonic()
    platform = start_platform(env)
    print(f"\nscripts/run.sh ready in {time.monotonic() - started:.1f} s")
    yield platform
    stop_run_sh(platform)


@dataclass
class Answer:
    """What one API's stream showed of a run: the tools called (with arguments), their results, the answer."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    results: dict[str, str] = field(default_factory=dict)
    text: str = ""
    ended: bool = False


def _sign_up(url: str) -> httpx.Client:
    name = f"mcp-{uuid.uuid4().hex[:8]}"
    account = {"email": f"{name}@example.com", "password": "a-long-passphrase", "username": name}
    with httpx.Client(base_url=url, timeout=30) as anon:
        assert anon.post("/register", json=account).status_code == 200
        token = anon.post("/login", json={"email": account["email"], "password": account["password"]}).json()
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=120)


def _set_up(http: httpx.Client, mcp_url: str, sse_url: str) -> str:
    """The user's MCP servers (002 over streamable HTTP, 003 over SSE), skill and agent; the agent's id."""
    added = http.post("/api/mcp/add", json={"name": "tools", "streamable_http_url": mcp_url})
    assert added.status_code == 200, added.text
    assert added.json()["data"]["status"] == "connected", added.text
    added = http.post("/api/v1/agent/mcp/servers", json={"name": "sse-tools", "protocol": "sse", "sse_url": sse_url})
    assert added.status_code == 201 and added.json()["status"] == "connected", added.text
    listed = {tool["name"] for tool in http.get("/api/tools", params={"type": "mcp"}).json()["data"]["tools"]}
    assert {"tools__echo", "sse-tools__echo"} <= listed
    uploaded = http.post("/api/skills/upload", files={"file": ("csv-cleanup.zip", skill_zip(), "application/zip")})
    assert uploaded.status_code == 200, uploaded.text
    shipped = {skill["name"] for skill in http.get("/api/skills", params={"dimension": "system"}).json()["data"]["skills"]}
    assert "meeting-notes" in shipped
    created = http.post("/api/agent/create", json={
        "name": "Tool user", "description": "Uses the MCP server and the CSV skill.",
        "availableTools": ["calculator"], "availableSkills": ["csv-cleanup", "meeting-notes"], "maxLoopCount": 5,
    })
    assert created.status_code == 200, created.text
    return created.json()["data"]["agent_id"]


# ------------------------------------------------------------------------------
# One question, asked through each API and read in its stream format
# ------------------------------------------------------------------------------
def _ask_000(http: httpx.Client, agent_id: str, question: str) -> Answer:
    answer = Answer()
    body = {"message": question, "thread_id": f"t-{uuid.uuid4().hex[:8]}"}
    with http.stream("POST", "/chat/stream", json=body, headers=SSE_CLIENT) as response:
        assert response.status_code == 200
        for frame in (frame["data"] for frame in sse_events(response.iter_lines())):
            if frame["type"] == "tool_call":
                answer.calls.append((frame["tool"], frame["arguments"]))
            elif frame["type"] == "tool_result":
                answer.results[frame["tool"]] = frame["result"]
            elif frame["type"] == "token":
                answer.text += frame["content"]
            answer.ended = frame["type"] == "done"
    return answer


def _ask_002(http: httpx.Client, agent_id: str, question: str, **extra: Any) -> Answer:
    answer = Answer()
    body = {"messages": [{"role": "user", "content": question}], "agent_id": agent_id,
            "session_id": f"s-{uuid.uuid4().hex[:8]}", **extra}
    with http.stream("POST", "/api/stream", json=body) as response:
        assert response.status_code == 200
        for line in ndjson_lines(response.iter_lines()):
            if line["type"] == "tool_call":
                call = line["tool_calls"][0]["function"]
                answer.calls.append((call["name"], call["arguments"]))
            elif line["type"] == "tool_call_result":
                answer.results[line["metadata"]["tool"]] = line["content"]
            elif line["type"] == "normal":
                answer.text += line["content"]
            answer.ended = line["type"] == "stream_end" and line["status"] == "completed"
    return answer


def _ask_003(http: httpx.Client, agent_id: str, question: str, **extra: Any) -> Answer:
    answer = Answer()
    names: dict[str, str] = {}
    body = {"messages": [{"role": "user", "content": question}], "thread_id": f"a-{uuid.uuid4().hex[:8]}", **extra}
    with http.stream("POST", "/api/v1/agent/chat/stream", json=body, headers=SSE_CLIENT) as response:
        assert response.status_code == 200
        for frame in sse_events(response.iter_lines()):
            data = frame["data"]
            if frame["event"] == "tool_calls":
                for call in data["tool_calls"]:
                    names[call["id"]] = call["name"]
                    answer.calls.append((call["name"], call["args"]))
            elif frame["event"] == "tool_call_result":
                answer.results[names[data["tool_call_id"]]] = data["content"]
            elif frame["event"] == "message_chunk":
                answer.text += data["content"]
            answer.ended = data.get("finish_reason") == "stop"
    return answer


def _read_004(http: httpx.Client, run_id: str) -> Answer:
    answer = Answer()
    with http.stream("GET", f"/api/agent-run/{run_id}/stream", headers=SSE_CLIENT) as response:
        assert response.status_code == 200
        for frame in sse_events(response.iter_lines()):
            assert frame["event"] == "message"
            data = frame["data"]
            if data["type"] == "tool_call":
                answer.calls.append((data["tool"], data["arguments"]))
            elif data["type"] == "tool_result":
                answer.results[data["tool"]] = data["result"]
            elif data["type"] == "content":
                answer.text += data["content"]
            answer.ended = data["type"] == "status" and data["status"] == "completed"
    return answer


def _ask_004(http: httpx.Client, agent_id: str, question: str) -> Answer:
    started = http.post("/api/agent/initiate", json={"prompt": question, "agent_id": agent_id})
    assert started.status_code == 200, started.text
    return _read_004(http, started.json()["agent_run_id"])


def _ask_openai(http: httpx.Client, agent_id: str, question: str) -> Answer:
    body = {"model": agent_id, "stream": True, "messages": [{"role": "user", "content": question}]}
    text = ""
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        run_id = response.headers["X-Codex-Run-Id"]
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                text += "".join(choice["delta"].get("content") or "" for choice in json.loads(line[6:])["choices"])
    # The chunks carry the answer only; the run's tool calls are in the other APIs' streams of it.
    answer = _read_004(http, run_id)
    assert text == answer.text
    return answer


def _ask_001(http: httpx.Client, agent_id: str, question: str) -> Answer:
    """001 has no stream: a task goes one step per request, each step's action and result in its answer."""
    created = http.post("/api/tasks", json={"message": question})
    assert created.status_code == 200, created.text
    answer = Answer()
    for _ in range(4):
        step = http.post(f"/api/tasks/{created.json()['id']}", json={})
        assert step.status_code == 200, step.text
        action, result = step.json()["action"], step.json()["result"]
        if action["final"]:
            answer.text, answer.ended = result["message"], result["status"] == "SUCCESS"
            break
        answer.calls.append((action["name"], action["parameters"]))
        answer.results[action["name"]] = result["details"]["output"]
    return answer


APIS: dict[str, Callable[[httpx.Client, str, str], Answer]] = {
    "000": _ask_000, "001": _ask_001, "002": _ask_002, "003": _ask_003, "004": _ask_004, "openai": _ask_openai,
}


# ------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------
def test_the_offline_model_answers_with_an_mcp_tool_and_a_skill_on_make_run(live, mcp_server):
    with _sign_up(live.url) as http:
        agent_id = _set_up(http, mcp_server.http_url, mcp_server.sse_url)
        seconds = {}
        for api, ask in APIS.items():
            started = time.monotonic()
            echoed = ask(http, agent_id, "Please echo this sentence")
            seconds[api] = time.monotonic() - started
            assert echoed.ended, (api, echoed, live.tail())
            (tool, arguments), = echoed.calls
            # Two servers offer an echo; the offline model takes the first it was offered.
            assert tool in ("tools__echo", "sse-tools__echo") and arguments == {"text": "Please echo this sentence"}
            assert echoed.results == {tool: "echo: Please echo this sentence"}, api
            assert "echo: Please echo this sentence" in echoed.text, api

            loaded = ask(http, agent_id, "Use the csv cleanup skill")
            assert loaded.ended, (api, loaded, live.tail())
            assert loaded.calls == [("load_skill", {"name": "csv-cleanup"})], api
            assert SKILL_BODY in loaded.results["load_skill"] and "- checklist.md" in loaded.results["load_skill"]
            assert SKILL_BODY in loaded.text, api

            picked = ask(http, agent_id, "Use the meeting notes skill")
            assert picked.calls == [("load_skill", {"name": "meeting-notes"})], api
            assert SHIPPED_SKILL_BODY in picked.results["load_skill"] and SHIPPED_SKILL_BODY in picked.text, api
    assert mcp_server.calls == ["Please echo this sentence"] * len(APIS)
    print("\noffline, question to answer with the MCP tool:", ", ".join(f"{api} {s:.2f} s" for api, s in seconds.items()))


def test_the_fake_upstream_calls_the_mcp_tool_and_loads_the_skill_on_make_run(live, mcp_server, fake_llm):
    with _sign_up(live.url) as http:
        agent_id = _set_up(http, mcp_server.http_url, mcp_server.sse_url)
        provider = http.post("/api/llm-provider/create", json={
            "name": "Fake upstream", "base_url": fake_llm.base_url, "api_keys": ["sk-fake"], "model": FAKE_MODEL,
            "is_default": True,
        })
        assert provider.status_code == 200, provider.text
        seconds = {}
        for api, ask in APIS.items():
            fake_llm.requests.clear()
            echo = {"name": "tools__echo", "arguments": {"text": f"hello {api}"}, "id": "c1"}
            load = {"name": "load_skill", "arguments": {"name": "csv-cleanup"}, "id": "c2"}
            # A 001 step takes one action, so there the two calls come one step each.
            calls = [Reply(tool_calls=[echo]), Reply(tool_calls=[load])] if api == "001" else [
                Reply(tool_calls=[echo, load])]
            fake_llm.script(*calls, Reply(text=f"Echoed and loaded for {api}."))
            started = time.monotonic()
            answer = ask(http, agent_id, "Echo hello, then clean my CSV")
            seconds[api] = time.monotonic() - started
            assert answer.ended, (api, answer, live.tail())
            assert answer.calls == [("tools__echo", {"text": f"hello {api}"}), ("load_skill", {"name": "csv-cleanup"})]
            assert answer.results["tools__echo"] == f"echo: hello {api}"
            assert SKILL_BODY in answer.results["load_skill"]
            assert answer.text == f"Echoed and loaded for {api}."

            requests = fake_llm.chat_requests
            assert len(requests) == len(calls) + 1, api
            offered = {tool["function"]["name"] for tool in requests[0]["tools"]}
            assert {"tools__echo", "sse-tools__echo", "load_skill"} <= offered, api
            system = requests[0]["messages"][0]["content"]
            assert "- csv-cleanup: Clean a CSV file" in system and SKILL_BODY not in system, api
            # The answer was written from the tools' results: the upstream got both.
            results = [message["content"] for message in requests[-1]["messages"] if message["role"] == "tool"]
            assert results[0] == f"echo: hello {api}" and SKILL_BODY in results[1], api

        # Servers of one request (002 extra_mcp_config, 003 mcp_settings) are listed by the run worker at the run's start.
        per_request = {
            "002": (_ask_002, {"extra_mcp_config": {"mcpServers": {"req": {"url": mcp_server.http_url}}}}),
            "003": (_ask_003, {"mcp_settings": {"servers": {"req": {"transport": "sse", "url": mcp_server.sse_url}}}}),
        }
        for api, (ask, extra) in per_request.items():
            fake_llm.requests.clear()
            fake_llm.script(Reply(tool_calls=[{"name": "req__echo", "arguments": {"text": f"request {api}"}}]),
                            Reply(text="Done."))
            answer = ask(http, agent_id, "Echo through the request's server", **extra)
            assert answer.calls == [("req__echo", {"text": f"request {api}"})], (api, answer, live.tail())
            assert answer.results == {"req__echo": f"echo: request {api}"} and answer.text == "Done."
    assert mcp_server.calls == [*(f"hello {api}" for api in APIS), "request 002", "request 003"]
    print("\nfake upstream, question to answer with both tools:", ", ".join(f"{api} {s:.2f} s" for api, s in seconds.items()))
