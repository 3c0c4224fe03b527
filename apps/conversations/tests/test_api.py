"""Routes that answer JSON, and the errors every streaming route gives before its stream starts."""
from __future__ import annotations

import uuid

import pytest

from apps.agents.tests.factories import AgentFactory
from apps.conversations.models import AgentRun, Message, Thread
from apps.conversations.tests.factories import AgentRunFactory, MessageFactory, ProjectFactory, ThreadFactory

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------------------
# 000
# ------------------------------------------------------------------------------
def test_it_lists_threads_pinned_first_then_newest(alice, bob, alice_client):
    ThreadFactory(owner=alice, id="old", title="old")
    ThreadFactory(owner=alice, id="pinned", title="pinned", pinned=True)
    ThreadFactory(owner=alice, id="new", title="new")
    ThreadFactory(owner=bob, id="bobs")
    response = alice_client.get("/threads")
    assert response.status_code == 200
    assert [thread["id"] for thread in response.json()["threads"]] == ["pinned", "new", "old"]


def test_it_upserts_a_thread_on_the_client_id(alice, alice_client):
    body = {"id": "t-1", "title": "My Chat", "timestamp": 1700000000, "pinned": False}
    assert alice_client.post("/threads", body, format="json").json() == {"message": "Thread saved"}
    assert alice_client.post("/threads", {**body, "title": "Renamed", "pinned": True}, format="json").status_code == 200
    thread = Thread.objects.get(pk="t-1")
    assert (thread.title, thread.pinned, thread.owner, int(thread.created_at.timestamp())) == (
        "Renamed", True, alice, 1700000000
    )


def test_it_rejects_a_thread_without_an_id(alice_client):
    response = alice_client.post("/threads", {"title": "x"}, format="json")
    assert response.status_code == 400
    assert "id" in response.json()["detail"]


def test_it_will_not_let_bob_overwrite_alices_thread(alice, bob_client):
    ThreadFactory(owner=alice, id="t-1", title="mine")
    assert bob_client.post("/threads", {"id": "t-1", "title": "his"}, format="json").status_code == 404
    assert Thread.objects.get(pk="t-1").title == "mine"


def test_it_deletes_a_thread_and_hides_others(alice, alice_client, bob_client):
    ThreadFactory(owner=alice, id="t-1")
    assert bob_client.delete("/threads/t-1").status_code == 404
    assert alice_client.delete("/threads/t-1").json() == {"message": "Thread deleted"}
    assert not Thread.objects.filter(pk="t-1").exists()
    assert alice_client.delete("/threads/t-1").status_code == 404


def test_it_returns_history_with_citations(alice, alice_client, bob_client):
    thread = ThreadFactory(owner=alice, id="t-1")
    MessageFactory(thread=thread, role="user", content="hi")
    MessageFactory(thread=thread, role="assistant", content="hello", citations=[{"filename": "a.txt"}])
    response = alice_client.get("/chat/t-1/history")
    assert response.json() == {
        "history": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello", "citations": [{"filename": "a.txt"}]},
        ]
    }
    assert bob_client.get("/chat/t-1/history").status_code == 404


def test_chat_stream_rejects_an_empty_message(alice_client):
    response = alice_client.post("/chat/stream", {"message": "", "thread_id": "t"}, format="json")
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not AgentRun.objects.exists()


def test_chat_stream_answers_404_on_another_users_thread(alice, bob_client):
    ThreadFactory(owner=alice, id="t-1")
    response = bob_client.post("/chat/stream", {"message": "hi", "thread_id": "t-1"}, format="json")
    assert response.status_code == 404
    assert not AgentRun.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/threads"), ("post", "/threads"), ("delete", "/threads/x"), ("post", "/chat/stream"),
     ("get", "/chat/x/history")],
)
def test_000_routes_need_a_token(anon, method, path):
    response = getattr(anon, method)(path, {}, format="json")
    assert response.status_code == 401
    assert "detail" in response.json()


# ------------------------------------------------------------------------------
# 002
# ------------------------------------------------------------------------------
def test_chat_rejects_an_empty_message_list_in_the_envelope(alice, alice_client):
    agent = AgentFactory(owner=alice)
    response = alice_client.post("/api/chat", {"messages": [], "agent_id": str(agent.pk)}, format="json")
    body = response.json()
    assert response.status_code == 400 and body["code"] == 400 and body["data"] is not None


def test_chat_requires_an_agent_id(alice_client):
    response = alice_client.post("/api/chat", {"messages": [{"role": "user", "content": "hi"}]}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400


def test_chat_answers_404_for_another_users_agent(bob, alice_client):
    agent = AgentFactory(owner=bob)
    response = alice_client.post(
        "/api/chat", {"messages": [{"role": "user", "content": "hi"}], "agent_id": str(agent.pk)}, format="json"
    )
    assert response.status_code == 404 and response.json()["code"] == 404


def test_stream_rejects_an_oversized_message(alice_client, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    response = alice_client.post("/api/stream", {"messages": [{"role": "user", "content": "x" * 11}]}, format="json")
    assert response.status_code == 413 and response.json()["code"] == 413
    assert not Thread.objects.exists()


def test_web_stream_rejects_bad_content(alice_client):
    response = alice_client.post("/api/web-stream", {"messages": [{"role": "user", "content": 5}]}, format="json")
    assert response.status_code == 400


def test_stream_answers_409_when_a_run_is_already_active(alice, alice_client):
    thread = ThreadFactory(owner=alice, id="s-1")
    AgentRunFactory(thread=thread, status=AgentRun.Status.RUNNING)
    response = alice_client.post(
        "/api/stream", {"messages": [{"role": "user", "content": "hi"}], "session_id": "s-1"}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == 409


def test_starting_runs_is_rate_limited(alice, alice_client, settings):
    settings.RUN_START_THROTTLE = "1/min"
    body = {"messages": [{"role": "user", "content": "hi"}]}
    alice_client.post("/api/stream", body, format="json")
    response = alice_client.post("/api/stream", body, format="json")
    assert response.status_code == 429 and response.json()["code"] == 429


def test_resume_answers_404_for_an_unknown_or_foreign_session(alice, bob_client, alice_client):
    thread = ThreadFactory(owner=alice, id="s-1")
    AgentRunFactory(thread=thread)
    assert bob_client.get("/api/stream/resume/s-1").status_code == 404
    assert alice_client.get("/api/stream/resume/nope").status_code == 404
    assert alice_client.get("/api/stream/resume/s-1?last_index=-1").status_code == 400


def test_it_pages_searches_and_filters_conversations(alice, bob, alice_client):
    agent = AgentFactory(owner=alice)
    ThreadFactory(owner=alice, title="alpha report", agent=agent)
    ThreadFactory(owner=alice, title="beta notes")
    ThreadFactory(owner=bob, title="alpha of bob")
    body = alice_client.get("/api/conversations?page=1&page_size=1").json()
    assert body["code"] == 200
    assert (body["data"]["total"], body["data"]["page"], body["data"]["page_size"], len(body["data"]["list"])) == (2, 1, 1, 1)
    found = alice_client.get("/api/conversations?search=alpha").json()["data"]["list"]
    assert [item["title"] for item in found] == ["alpha report"]
    by_agent = alice_client.get(f"/api/conversations?agent_id={agent.pk}").json()["data"]["list"]
    assert [item["agent_name"] for item in by_agent] == [agent.name]
    assert alice_client.get("/api/conversations?page=0").status_code == 400
    assert alice_client.get("/api/conversations?sort_by=nonsense").status_code == 400


def test_user_id_lists_another_users_conversations_only_for_an_admin(alice, bob, alice_client, admin_client):
    ThreadFactory(owner=bob, title="bob's")
    assert alice_client.get(f"/api/conversations?user_id={bob.pk}").json()["data"]["total"] == 0
    assert admin_client.get(f"/api/conversations?user_id={bob.pk}").json()["data"]["total"] == 1


def test_it_returns_conversation_messages_with_next_stream_index(alice, alice_client, bob_client):
    thread = ThreadFactory(owner=alice, id="s-1")
    MessageFactory(thread=thread, content="hi")
    AgentRunFactory(thread=thread, status=AgentRun.Status.COMPLETED, event_count=7, finished_at="2025-01-01T00:00Z")
    data = alice_client.get("/api/conversations/s-1/messages").json()["data"]
    assert data["next_stream_index"] == 7
    assert [(m["role"], m["content"], m["session_id"]) for m in data["messages"]] == [("user", "hi", "s-1")]
    assert bob_client.get("/api/conversations/s-1/messages").status_code == 404


def test_a_shared_conversation_is_readable_only_once_shared(alice, anon):
    thread = ThreadFactory(owner=alice, id="s-1")
    MessageFactory(thread=thread, content="hi")
    assert anon.get("/api/share/conversations/s-1/messages").status_code == 404
    thread.is_shared = True
    thread.save()
    response = anon.get("/api/share/conversations/s-1/messages")
    assert response.status_code == 200 and response.json()["data"]["messages"][0]["content"] == "hi"


def test_it_renames_a_conversation(alice, alice_client, bob_client):
    ThreadFactory(owner=alice, id="s-1")
    response = alice_client.post("/api/conversations/s-1/title", {"title": "New"}, format="json")
    assert response.json()["data"] == {"session_id": "s-1", "title": "New"}
    assert alice_client.post("/api/conversations/s-1/title", {"title": ""}, format="json").status_code == 400
    assert bob_client.post("/api/conversations/s-1/title", {"title": "x"}, format="json").status_code == 404


def test_it_deletes_a_conversation(alice, alice_client, bob_client):
    ThreadFactory(owner=alice, id="s-1")
    assert bob_client.delete("/api/conversations/s-1").status_code == 404
    assert alice_client.delete("/api/conversations/s-1").json()["data"] == {"session_id": "s-1"}
    assert not Thread.objects.exists()


def test_interrupt_asks_a_running_session_to_stop(alice, alice_client, bob_client):
    thread = ThreadFactory(owner=alice, id="s-1")
    run = AgentRunFactory(thread=thread, status=AgentRun.Status.RUNNING)
    assert bob_client.post("/api/sessions/s-1/interrupt", {}, format="json").status_code == 404
    data = alice_client.post("/api/sessions/s-1/interrupt", {"message": "enough"}, format="json").json()["data"]
    assert data == {"session_id": "s-1", "interrupted": True, "message": "enough"}
    run.refresh_from_db()
    assert run.stop_requested


def test_tasks_status_reports_the_latest_run(alice, alice_client, bob_client):
    thread = ThreadFactory(owner=alice, id="s-1")
    assert alice_client.post("/api/sessions/s-1/tasks_status").json()["data"]["status"] == "idle"
    run = AgentRunFactory(thread=thread, status=AgentRun.Status.RUNNING)
    data = alice_client.post("/api/sessions/s-1/tasks_status").json()["data"]
    assert (data["status"], data["is_running"], data["run_id"]) == ("running", True, str(run.pk))
    assert bob_client.post("/api/sessions/s-1/tasks_status").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/chat"), ("post", "/api/stream"), ("post", "/api/web-stream"), ("get", "/api/stream/resume/x"),
     ("get", "/api/stream/active_sessions"), ("get", "/api/conversations"), ("get", "/api/conversations/x/messages"),
     ("post", "/api/conversations/x/title"), ("delete", "/api/conversations/x"), ("post", "/api/sessions/x/interrupt"),
     ("post", "/api/sessions/x/tasks_status")],
)
def test_002_routes_need_a_login(anon, method, path):
    response = getattr(anon, method)(path, {}, format="json")
    assert response.status_code == 401 and response.json()["code"] == 401


# ------------------------------------------------------------------------------
# 003
# ------------------------------------------------------------------------------
def test_admin_chat_stream_errors_have_detail_and_code(anon, alice_client, alice, bob_client):
    assert anon.post("/api/v1/agent/chat/stream", {}, format="json").status_code == 401
    response = alice_client.post("/api/v1/agent/chat/stream", {"messages": []}, format="json")
    assert response.status_code == 400 and set(response.json()) >= {"detail", "code"}
    ThreadFactory(owner=alice, id="t-1")
    foreign = bob_client.post(
        "/api/v1/agent/chat/stream", {"messages": [{"role": "user", "content": "hi"}], "thread_id": "t-1"}, format="json"
    )
    assert foreign.status_code == 404


# ------------------------------------------------------------------------------
# 004
# ------------------------------------------------------------------------------
def test_it_creates_lists_and_gets_projects(alice, alice_client, bob_client):
    created = alice_client.post("/api/projects", {"name": "P", "description": "d"}, format="json")
    assert created.status_code == 201
    project_id = created.json()["project_id"]
    assert [p["name"] for p in alice_client.get("/api/projects").json()["projects"]] == ["P"]
    assert alice_client.get(f"/api/projects/{project_id}").json()["description"] == "d"
    assert bob_client.get(f"/api/projects/{project_id}").status_code == 404
    assert bob_client.get("/api/projects").json()["projects"] == []
    assert alice_client.get("/api/projects/not-a-uuid").status_code == 404
    assert alice_client.post("/api/projects", {"name": ""}, format="json").status_code == 400


def test_it_creates_and_filters_threads_by_project(alice, bob, alice_client, bob_client):
    project = ProjectFactory(owner=alice)
    other = ProjectFactory(owner=alice)
    created = alice_client.post("/api/threads", {"project_id": str(project.pk), "name": "T"}, format="json")
    assert created.status_code == 201 and created.json()["project_id"] == str(project.pk)
    ThreadFactory(owner=alice, project=other)
    listed = alice_client.get(f"/api/threads?project_id={project.pk}").json()["threads"]
    assert [t["thread_id"] for t in listed] == [created.json()["thread_id"]]
    assert bob_client.post("/api/threads", {"project_id": str(project.pk)}, format="json").status_code == 404
    assert bob_client.get(f"/api/threads?project_id={project.pk}").status_code == 404
    assert alice_client.get("/api/threads?project_id=bad").status_code == 400


def test_agent_start_validates_and_scopes(alice, bob, alice_client, bob_client):
    thread = ThreadFactory(owner=alice)
    assert alice_client.post(f"/api/thread/{thread.pk}/agent/start", {"prompt": ""}, format="json").status_code == 400
    assert bob_client.post(f"/api/thread/{thread.pk}/agent/start", {"prompt": "hi"}, format="json").status_code == 404
    foreign_agent = AgentFactory(owner=bob)
    response = alice_client.post(
        f"/api/thread/{thread.pk}/agent/start", {"prompt": "hi", "agent_id": str(foreign_agent.pk)}, format="json"
    )
    assert response.status_code == 404 and response.json() == {"detail": "Agent not found."}


def test_agent_start_queues_a_run_with_the_users_message(alice, alice_client):
    thread = ThreadFactory(owner=alice, title="")
    response = alice_client.post(f"/api/thread/{thread.pk}/agent/start", {"prompt": "Plan my week"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "running"
    run = AgentRun.objects.get(pk=response.json()["agent_run_id"])
    assert (run.status, run.thread_id, run.endpoint) == ("queued", thread.pk, "004 /api/thread/agent/start")
    assert list(Message.objects.values_list("role", "content")) == [("user", "Plan my week")]
    thread.refresh_from_db()
    assert thread.title == "Plan my week"


def test_initiate_creates_project_thread_and_run(alice, alice_client):
    response = alice_client.post("/api/agent/initiate", {"prompt": "Build a site"}, format="json")
    body = response.json()
    run = AgentRun.objects.get(pk=body["agent_run_id"])
    assert (str(run.thread.project_id), run.thread_id) == (body["project_id"], body["thread_id"])
    assert alice_client.post("/api/agent/initiate", {}, format="json").status_code == 400


def test_run_detail_status_list_and_stop_are_scoped(alice, alice_client, bob_client):
    thread = ThreadFactory(owner=alice)
    run = AgentRunFactory(thread=thread, status=AgentRun.Status.RUNNING)
    for path in (f"/api/agent-run/{run.pk}", f"/api/agent-run/{run.pk}/status", f"/api/thread/{thread.pk}/agent-runs"):
        assert alice_client.get(path).status_code == 200
        assert bob_client.get(path).status_code == 404
    assert alice_client.get(f"/api/agent-run/{run.pk}/status").json()["status"] == "running"
    assert alice_client.get(f"/api/thread/{thread.pk}/agent-runs").json()["agent_runs"][0]["agent_run_id"] == str(run.pk)
    assert bob_client.post(f"/api/agent-run/{run.pk}/stop").status_code == 404
    assert alice_client.post(f"/api/agent-run/{run.pk}/stop").json()["message"] == "Stop requested."
    run.refresh_from_db()
    assert run.stop_requested
    assert alice_client.get(f"/api/agent-run/{uuid.uuid4()}").status_code == 404
    assert alice_client.get("/api/agent-run/junk/stream").status_code == 404
    assert alice_client.get(f"/api/agent-run/{run.pk}/stream?after=-3").status_code == 400


def test_streams_are_rate_limited(alice, alice_client, settings):
    settings.RUN_STREAM_THROTTLE = "1/min"
    run = AgentRunFactory(thread=ThreadFactory(owner=alice))
    alice_client.get(f"/api/agent-run/{run.pk}/stream")
    response = alice_client.get(f"/api/agent-run/{run.pk}/stream")
    assert response.status_code == 429 and "detail" in response.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/api/projects"), ("post", "/api/projects"), ("get", f"/api/projects/{uuid.uuid4()}"),
     ("get", "/api/threads"), ("post", "/api/threads"), ("post", "/api/thread/x/agent/start"),
     ("get", "/api/agent-run/x/stream"), ("post", "/api/agent-run/x/stop"), ("get", "/api/agent-run/x"),
     ("get", "/api/agent-run/x/status"), ("get", "/api/thread/x/agent-runs"), ("post", "/api/agent/initiate")],
)
def test_004_routes_need_a_token(anon, method, path):
    response = getattr(anon, method)(path, {}, format="json")
    assert response.status_code == 401 and "detail" in response.json()
