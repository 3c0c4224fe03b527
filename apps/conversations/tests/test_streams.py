"""Runs end to end: daphne subprocesses serve the streams, a real Celery worker runs the agent.

The built-in offline model answers unless a test points a provider at the fake upstream.
"""
from __future__ import annotations

import json

import pytest

from apps.agents.tests.factories import AgentFactory
from apps.conversations import livelog
from apps.conversations.models import AgentRun, Message, RunEvent
from apps.conversations.tests.conftest import ndjson_lines, sse_events, wait_finished
from apps.providers.testing import Reply

pytestmark = pytest.mark.django_db(transaction=True)

SLOW = Reply(text=" ".join(f"word{i}" for i in range(400)), delay=0.03)



def test_000_chat_streams_status_tokens_and_done(alice, daphne_server):
    with daphne_server.client(alice) as http, http.stream(
        "POST", "/chat/stream", json={"message": "What is a transformer?", "thread_id": "t-1", "title": "My Chat"}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = [frame["data"] for frame in sse_events(response.iter_lines())]
    kinds = [frame["type"] for frame in frames]
    assert kinds[:2] == ["status", "status"] and frames[0]["content"].startswith("Queued")
    assert frames[1]["content"].startswith("Agent routing to")
    assert "token" in kinds and kinds[-1] == "done" and "error" not in kinds
    answer = "".join(frame["content"] for frame in frames if frame["type"] == "token")
    assert "offline model" in answer
    with daphne_server.client(alice) as http:
        history = http.get("/chat/t-1/history").json()["history"]
    assert history == [{"role": "user", "content": "What is a transformer?"}, {"role": "assistant", "content": answer}]


def test_002_stream_resumes_from_every_index(alice, daphne_server):
    with daphne_server.client(alice) as http:
        with http.stream("POST", "/api/web-stream", json={"messages": [{"role": "user", "content": "Hello"}],
                                                           "session_id": "sess_1"}) as response:
            assert response.headers["content-type"].startswith("text/plain")
            lines = ndjson_lines(response.iter_lines())
        end = lines[-1]
        assert end["type"] == "stream_end" and end["session_id"] == "sess_1"
        assert end["total_stream_count"] == len(lines)
        assert all(line["session_id"] == "sess_1" for line in lines)
        assert {"role", "content", "reasoning_content", "tool_calls", "message_id", "tool_call_id", "type",
                "timestamp", "agent_name", "metadata", "session_id"} <= set(lines[0])
        for index in range(len(lines) + 1):
            with http.stream("GET", f"/api/stream/resume/sess_1?last_index={index}") as response:
                assert ndjson_lines(response.iter_lines()) == lines[index:] or index == len(lines)
        # Once the live list has expired, PostgreSQL serves the same lines.
        livelog._redis().delete(livelog._prefixed(livelog.events_key(str(AgentRun.objects.get().pk))))
        with http.stream("GET", "/api/stream/resume/sess_1?last_index=2") as response:
            assert ndjson_lines(response.iter_lines()) == lines[2:]
        messages = http.get("/api/conversations/sess_1/messages").json()["data"]
    assert messages["next_stream_index"] == len(lines)
    assert [m["role"] for m in messages["messages"]] == ["user", "assistant"]
    assert RunEvent.objects.count() == len(lines)


def test_004_stream_replays_all_and_resumes_after_an_event(alice, daphne_server):
    with daphne_server.client(alice) as http:
        started = http.post("/api/agent/initiate", json={"prompt": "Say hello"}).json()
        run_id = started["agent_run_id"]
        with http.stream("GET", f"/api/agent-run/{run_id}/stream") as response:
            frames = sse_events(response.iter_lines())
    with daphne_server.client() as anonymous:
        from conftest import bearer_for

        with anonymous.stream("GET", f"/api/agent-run/{run_id}/stream?token={bearer_for(alice)}",
                              headers={"Last-Event-ID": "3"}) as response:
            resumed = sse_events(response.iter_lines())
        assert anonymous.get(f"/api/agent-run/{run_id}/stream").status_code == 401
    assert all(frame["event"] == "message" for frame in frames)
    sequences = [frame["data"]["sequence"] for frame in frames]
    assert sequences == list(range(1, len(frames) + 1))
    assert [int(frame["id"]) for frame in frames] == sequences
    assert frames[-1]["data"] == {**frames[-1]["data"], "type": "status", "status": "completed"}
    assert "content" in {frame["data"]["type"] for frame in frames}
    assert resumed == frames[3:]


def test_003_chat_stream_sends_typed_events(alice, daphne_server):
    with daphne_server.client(alice) as http, http.stream(
        "POST", "/api/v1/agent/chat/stream",
        json={"messages": [{"role": "user", "content": "Create a React component"}], "thread_id": "th-3",
              "agent_name": "coder"},
    ) as response:
        frames = sse_events(response.iter_lines())
    assert {frame["event"] for frame in frames} == {"message_chunk"}
    assert all(frame["data"]["thread_id"] == "th-3" and frame["data"]["agent"] == "coder" for frame in frames)
    assert frames[-1]["data"]["finish_reason"] == "stop"
    assert "".join(frame["data"]["content"] for frame in frames)


def test_an_agent_calls_a_tool_through_the_fake_upstream(alice, daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "2+2"}}]), Reply(text="It is 4."))
    agent = AgentFactory(owner=alice, available_tools=["calculator"])
    with daphne_server.client(alice) as http, http.stream(
        "POST", "/api/chat",
        json={"messages": [{"role": "user", "content": "What is 2+2?"}], "agent_id": str(agent.pk), "session_id": "calc"},
    ) as response:
        lines = ndjson_lines(response.iter_lines())
    kinds = [line["type"] for line in lines]
    call = next(line for line in lines if line["type"] == "tool_call")
    result = next(line for line in lines if line["type"] == "tool_call_result")
    assert call["tool_calls"][0]["function"]["name"] == "calculator"
    assert result["role"] == "tool" and "4" in result["content"]
    assert "".join(line["content"] for line in lines if line["type"] == "normal") == "It is 4."
    assert kinds[-1] == "stream_end" and lines[0]["agent_name"] == agent.name
    answer = Message.objects.get(thread_id="calc", role="assistant")
    assert answer.tool_calls[0]["function"]["name"] == "calculator"
    assert wait_finished(str(AgentRun.objects.get().pk)).usage["total_tokens"] > 0


def test_an_unreachable_provider_fails_the_run_with_an_error_event(alice, daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(*[Reply(status=500)] * 5)
    with daphne_server.client(alice) as http, http.stream(
        "POST", "/chat/stream", json={"message": "hi", "thread_id": "t-err"}
    ) as response:
        frames = [frame["data"] for frame in sse_events(response.iter_lines())]
    assert frames[-1]["type"] == "error" and frames[-1]["content"]
    assert "done" not in [frame["type"] for frame in frames]
    assert wait_finished(str(AgentRun.objects.get().pk)).status == "failed"


def test_a_stop_from_another_connection_ends_the_run(alice, daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(SLOW)
    with daphne_server.client(alice) as http:
        run_id = http.post("/api/agent/initiate", json={"prompt": "Write a long essay"}).json()["agent_run_id"]
        with http.stream("GET", f"/api/agent-run/{run_id}/stream") as response:
            lines = response.iter_lines()
            first = sse_events(lines, until=lambda frame: frame["data"]["type"] == "content")
            with daphne_server.client(alice) as other:
                assert other.post(f"/api/agent-run/{run_id}/stop").status_code == 200
            rest = sse_events(lines)
    assert rest[-1]["data"]["type"] == "status" and rest[-1]["data"]["status"] == "stopped"
    sequences = [frame["data"]["sequence"] for frame in first + rest]
    assert sequences == list(range(1, len(sequences) + 1))
    run = wait_finished(run_id)
    assert run.status == "stopped" and run.stop_requested


def test_web_stream_outlives_its_client_and_resumes(alice, daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text=" ".join(f"w{i}" for i in range(60)), delay=0.01))
    with daphne_server.client(alice) as http:
        with http.stream("POST", "/api/web-stream", json={"messages": [{"role": "user", "content": "go"}],
                                                           "session_id": "web"}) as response:
            head = ndjson_lines(response.iter_lines(), limit=3)
        run = wait_finished(str(AgentRun.objects.get().pk))
        assert run.status == "completed"
        with http.stream("GET", f"/api/stream/resume/web?last_index={len(head)}") as response:
            tail = ndjson_lines(response.iter_lines())
    words = "".join(line["content"] for line in head + tail if line["type"] == "normal")
    assert words.split() == [f"w{i}" for i in range(60)]
    assert tail[-1]["type"] == "stream_end" and tail[-1]["total_stream_count"] == len(head) + len(tail)


def test_api_stream_stops_the_session_when_its_client_leaves(alice, daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(SLOW)
    with daphne_server.client(alice) as http:
        with http.stream("POST", "/api/stream", json={"messages": [{"role": "user", "content": "go"}]}) as response:
            ndjson_lines(response.iter_lines(), limit=3)
    run = wait_finished(str(AgentRun.objects.get().pk))
    assert run.status == "stopped"


def test_active_sessions_sends_a_snapshot_then_updates(alice, daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text="quick answer", delay=0.01))
    with daphne_server.client(alice) as http, http.stream("GET", "/api/stream/active_sessions") as response:
        lines = response.iter_lines()
        snapshot = sse_events(lines, until=lambda frame: True)
        assert snapshot[0]["data"] == {"type": "snapshot", "sessions": []}
        with daphne_server.client(alice) as other:
            with other.stream("POST", "/api/web-stream", json={"messages": [{"role": "user", "content": "hi"}],
                                                                "session_id": "live"}) as started:
                ndjson_lines(started.iter_lines())
        updates = sse_events(lines, until=lambda frame: frame["data"].get("status") == "completed")
    assert [update["data"]["session_id"] for update in updates] == ["live"] * len(updates)
    assert updates[-1]["data"]["type"] == "session_update"


def test_two_daphnes_share_runs_streams_and_stops(alice, daphne_server, second_daphne_server, fake_llm):
    fake_llm.make_provider(owner=alice)
    fake_llm.script(SLOW)
    with daphne_server.client(alice) as first, second_daphne_server.client(alice) as second:
        run_id = first.post("/api/agent/initiate", json={"prompt": "long"}).json()["agent_run_id"]
        with second.stream("GET", f"/api/agent-run/{run_id}/stream") as response:
            lines = response.iter_lines()
            head = sse_events(lines, until=lambda frame: frame["data"]["sequence"] >= 5)
            assert first.post(f"/api/agent-run/{run_id}/stop").status_code == 200
            rest = sse_events(lines)
    frames = head + rest
    assert [frame["data"]["sequence"] for frame in frames] == list(range(1, len(frames) + 1))
    assert frames[-1]["data"]["status"] == "stopped"
    assert len([frame for frame in frames if frame["data"]["type"] == "content"]) < 400
    assert json.loads(json.dumps(frames[0]["data"]))["message_id"]
