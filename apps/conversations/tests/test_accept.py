"""Every SSE and NDJSON route answers a streaming client's ``Accept`` with its stream, never 406.

The negotiation itself through the DRF client, every route by every header; then each
route end to end through daphne with the headers a real SSE or NDJSON client sends.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from apps.agents.tests.factories import AgentFactory
from apps.conversations.models import AgentRun, RunEvent
from apps.conversations.tests.conftest import ndjson_lines, sse_events
from apps.conversations.tests.factories import AgentRunFactory, ThreadFactory

ACCEPTS = ["text/event-stream", "application/x-ndjson", "*/*", None]
#: What EventSource and fetch-event-source send.
SSE_CLIENT = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}
NDJSON_CLIENT = {"Accept": "application/x-ndjson"}

Route = Callable[[Any], tuple[str, str, dict[str, Any] | None]]


def _finished_run(user: Any, thread_id: str) -> AgentRun:
    run = AgentRunFactory(
        thread=ThreadFactory(owner=user, id=thread_id), status=AgentRun.Status.COMPLETED, finished_at=timezone.now(),
        event_count=2,
    )
    RunEvent.objects.bulk_create([
        RunEvent(run=run, sequence=1, type="content", payload={"content": "Hi"}, created_at=timezone.now()),
        RunEvent(run=run, sequence=2, type="end", payload={"status": "completed"}, created_at=timezone.now()),
    ])
    return run


def _messages(text: str = "Hello") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


#: (name, stream kind, how to call it for a user): one per stream route of the five APIs.
ROUTES: list[tuple[str, str, Route]] = [
    ("000 POST /chat/stream", "sse", lambda user: ("post", "/chat/stream", {"message": "Hello"})),
    ("002 POST /api/chat", "ndjson",
     lambda user: ("post", "/api/chat", {"messages": _messages(), "agent_id": str(AgentFactory(owner=user).pk)})),
    ("002 POST /api/stream", "ndjson", lambda user: ("post", "/api/stream", {"messages": _messages()})),
    ("002 POST /api/web-stream", "ndjson", lambda user: ("post", "/api/web-stream", {"messages": _messages()})),
    ("002 GET /api/stream/resume", "ndjson",
     lambda user: ("get", f"/api/stream/resume/{_finished_run(user, 'done-1').thread_id}?last_index=0", None)),
    ("002 GET /api/stream/active_sessions", "sse", lambda user: ("get", "/api/stream/active_sessions", None)),
    ("003 POST /api/v1/agent/chat/stream", "sse",
     lambda user: ("post", "/api/v1/agent/chat/stream", {"messages": _messages(), "thread_id": "th-accept"})),
    ("004 GET /api/agent-run/{id}/stream", "sse",
     lambda user: ("get", f"/api/agent-run/{_finished_run(user, 'done-4').pk}/stream", None)),
    ("OpenAI POST /v1/chat/completions", "sse",
     lambda user: ("post", "/v1/chat/completions",
                   {"model": str(AgentFactory(owner=user).pk), "messages": _messages(), "stream": True})),
]


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ACCEPTS, ids=lambda value: value or "no-accept")
@pytest.mark.parametrize(("name", "kind", "route"), ROUTES, ids=[route[0] for route in ROUTES])
def test_every_stream_route_takes_every_streaming_accept_header(alice, alice_client, accept, name, kind, route):
    method, path, body = route(alice)
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = getattr(alice_client, method)(path, body, format="json", **headers) if body else getattr(
        alice_client, method
    )(path, **headers)
    assert response.status_code == 200, (name, accept, getattr(response, "data", None))
    expected = "text/event-stream" if kind == "sse" else "text/plain"
    assert response["Content-Type"].startswith(expected)
    response.close()


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["text/event-stream", "application/x-ndjson"])
def test_errors_before_the_stream_keep_their_status_and_json_shape(alice_client, anon, accept):
    response = alice_client.post("/chat/stream", {"message": ""}, format="json", HTTP_ACCEPT=accept)
    assert response.status_code == 400 and response["Content-Type"].startswith("application/json")
    assert anon.post("/api/stream", {"messages": _messages()}, format="json", HTTP_ACCEPT=accept).status_code == 401


def _read(http: Any, method: str, path: str, body: Any, headers: dict[str, str], kind: str) -> list[dict[str, Any]]:
    with http.stream(method.upper(), path, json=body, headers=headers) as response:
        assert response.status_code == 200, response.read()
        if kind == "ndjson":
            return ndjson_lines(response.iter_lines())
        # active_sessions never ends: its first frame (the snapshot) is enough.
        return sse_events(response.iter_lines(), until=lambda frame: path.endswith("active_sessions") or (
            frame["data"].get("type") in ("done", "error", "snapshot") or frame["data"].get("finish_reason")
            or frame["data"].get("status") in ("completed", "failed")
            or (frame["data"].get("choices") or [{}])[0].get("finish_reason")  # OpenAI's last chunk before [DONE]
        ))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("name", "kind", "route"), ROUTES, ids=[route[0] for route in ROUTES])
def test_a_real_streaming_client_reads_every_stream_route(alice, daphne_server, name, kind, route):
    method, path, body = route(alice)
    with daphne_server.client(alice) as http:
        events = _read(http, method, path, body, SSE_CLIENT if kind == "sse" else NDJSON_CLIENT, kind)
    assert events, name
