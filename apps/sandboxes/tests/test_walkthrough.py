"""The first sandbox in five minutes (docs/sandboxes.md), on scripts/run.sh as `make run` starts it.

A new user registers, asks an agent in a thread of a project to write a static page and run a
Python script, reads the command's output in the stream, opens the preview through the
platform and deploys the page to /sites/<slug>/: once with the built-in offline model (no
provider configured) and once with a provider on the fake OpenAI-compatible upstream. The
same requests are the ones the docs show.
"""
from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from apps.providers.testing import Reply
from apps.sandboxes.models import Sandbox
from apps.sandboxes.tests.conftest import needs_bwrap
from conftest import RunSh, _test_database_url, run_sh_environment, start_run_sh, stop_run_sh

pytestmark = [pytest.mark.django_db(transaction=True), needs_bwrap]

PAGE = "<!doctype html>\n<title>Hello</title>\n<h1>Hello from my sandbox</h1>\n"
SCRIPT = "import platform\nprint('sum:', sum(range(10)), 'on', platform.python_implementation())\n"
OUTPUT = "sum: 45 on CPython"
# What the user types; the offline model reads the files, commands and the preview from it.
BUILD = f"""Write `index.html` with:
```html
{PAGE}```
and `hello.py` with:
```python
{SCRIPT}```
Then run `python3 hello.py`, start `python3 -m http.server 8000 --bind 127.0.0.1` and give me the preview link."""
PREVIEW = re.compile(r"/preview/sbx_[0-9a-f]+/\d+/[A-Za-z0-9_:.\-]+/")


@pytest.fixture
def platform(django_db_setup, django_db_blocker, sandbox_settings) -> Iterator[RunSh]:
    from django.conf import settings

    if not settings.REDIS_AVAILABLE:
        pytest.skip("the platform's workers need Redis")
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    # No LLM_* variables: without a provider the built-in offline model answers.
    env = run_sh_environment(
        database_url, SANDBOX_ROOT=str(sandbox_settings.SANDBOX_ROOT), DEPLOY_ROOT=str(sandbox_settings.DEPLOY_ROOT),
        LLM_BASE_URL="", LLM_MODEL="", LLM_API_KEY="",
    )
    server = start_run_sh(env)
    yield server
    # The sessions the agent started belong to the run worker: end them before it goes.
    for sandbox in Sandbox.objects.filter(status__in=Sandbox.ALIVE):
        from apps.sandboxes import services

        services.sandbox_stop(sandbox=sandbox, status=Sandbox.Status.STOPPED, keep_files=False)
    stop_run_sh(server)
    server.log.close()


def register(url: str) -> httpx.Client:
    """A new user, as the 000 API makes one: register, log in, and a client carrying the token."""
    email = f"new-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=url, timeout=30) as anonymous:
        registered = anonymous.post("/register", json={"email": email, "password": "a long secret 123", "username": email[:12]})
        assert registered.status_code == 200, registered.text
        token = anonymous.post("/login", json={"email": email, "password": "a long secret 123"}).json()["access_token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=httpx.Timeout(120))


def sse_data(response: httpx.Response) -> Iterator[tuple[str, dict]]:
    event = "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            yield event, json.loads(line[6:])
            event = "message"


def agent_run(api: httpx.Client, thread_id: str, prompt: str) -> list[dict]:
    """004: start a run on the thread and read its stream to the end."""
    started = api.post(f"/api/thread/{thread_id}/agent/start", json={"prompt": prompt})
    assert started.status_code == 200, started.text
    events = []
    with api.stream("GET", f"/api/agent-run/{started.json()['agent_run_id']}/stream") as response:
        assert response.status_code == 200
        for _, data in sse_data(response):
            events.append(data)
            if data["type"] == "status" and data["status"] in ("completed", "failed", "stopped"):
                break
    return events


def open_preview(api: httpx.Client, path: str) -> httpx.Response:
    """The preview, as a browser opens it: no Authorization header, the signed token is in the path."""
    for _ in range(300):  # the server inside takes a moment to listen
        page = api.get(path, headers={"Authorization": ""})
        if page.status_code != 502:
            return page
        time.sleep(0.1)
    raise AssertionError("the preview never answered")


def build_preview_and_deploy(api: httpx.Client, name: str, prompt: str) -> list[dict]:
    project_id = api.post("/api/projects", json={"name": name}).json()["project_id"]
    thread = api.post("/api/threads", json={"project_id": project_id, "name": "My first page"})
    assert thread.status_code == 201, thread.text
    events = agent_run(api, thread.json()["thread_id"], prompt)

    assert events[-1]["status"] == "completed", events
    calls = [event for event in events if event["type"] == "tool_call"]
    results = {event["id"]: event for event in events if event["type"] == "tool_result"}
    assert [call["tool"] for call in calls] == ["write_file", "write_file", "shell", "start_session", "preview_url"]
    assert calls[0]["arguments"] == {"path": "index.html", "content": PAGE}
    shell = calls[2]
    assert shell["arguments"] == {"command": "python3 hello.py"}
    # The command's output streams while it runs (tool_output), then comes whole as the shell call's result.
    assert results[shell["id"]]["tool"] == "shell" and OUTPUT in results[shell["id"]]["result"]
    between = events[events.index(shell):events.index(results[shell["id"]])]
    streamed = "".join(event["content"] for event in between if event["type"] == "tool_output")
    assert streamed == OUTPUT + "\n", between
    assert not any(result["error"] for result in results.values()), results
    assert [event["sequence"] for event in events] == sorted(event["sequence"] for event in events)
    preview = PREVIEW.search(results[calls[4]["id"]]["result"]).group(0)
    assert "/8000/" in preview

    page = open_preview(api, preview + "index.html")
    assert page.status_code == 200 and page.text == PAGE
    assert page.headers["content-security-policy"].startswith("sandbox")
    # The platform's own preview-url route names the same sandbox and the running server's port.
    sandbox_id = api.post(f"/api/project/{project_id}/sandbox/ensure-active").json()["sandbox_id"]
    assert preview.startswith(f"/preview/{sandbox_id}/8000/")
    assert api.get(f"/api/sandboxes/{sandbox_id}/preview-url").json()["port"] == 8000

    deployed = api.post(f"/api/project/{project_id}/deploy/git", json={})
    assert deployed.status_code == 201 and deployed.json()["status"] == "ready", deployed.text
    assert "/sites/" in deployed.json()["url"]
    site = api.get(deployed.json()["url"], headers={"Authorization": ""})
    assert site.status_code == 200 and site.text == PAGE
    assert api.get(f"/api/project/{project_id}/deployment/live-status").json()["live"] is True
    return events


def test_a_new_user_builds_runs_previews_and_deploys_a_page_with_the_offline_model(platform):
    with register(platform.url) as api:
        events = build_preview_and_deploy(api, "Hello Page", BUILD)
        answer = "".join(event.get("content", "") for event in events if event["type"] == "content")
        assert OUTPUT in answer and "/preview/" in answer  # the offline model answers from the results

        # The other APIs stream the same calls in their own shapes: 000 and 003 on the user's own sandbox.
        with api.stream("POST", "/chat/stream", json={"message": "Please run `python3 -c 'print(6*7)'`"}) as response:
            frames = [data for _, data in sse_data(response)]
        codex = [frame for frame in frames if frame["type"] in ("tool_call", "tool_result")]
        assert [(frame["type"], frame["tool"]) for frame in codex] == [("tool_call", "shell"), ("tool_result", "shell")]
        assert "42" in codex[1]["result"] and frames[-1]["type"] == "done"
        # 002: NDJSON lines; the output piece's fields go in its metadata.
        with api.stream("POST", "/api/stream", json={"messages": [{"role": "user", "content": "run `echo from-002`"}]}) as response:
            lines = [json.loads(line) for line in response.iter_lines() if line.strip()]
        sage = {line["type"]: line for line in lines if line["type"] in ("tool_call", "tool_output", "tool_call_result")}
        assert sage["tool_call"]["tool_calls"][0]["function"]["name"] == "shell"
        assert sage["tool_output"]["metadata"]["content"] == "from-002\n"
        assert "from-002" in sage["tool_call_result"]["content"]
        # 003, with a command that tries the platform's own port, Redis and PostgreSQL from inside.
        port = int(platform.url.rsplit(":", 1)[1])
        probe = f"python3 -c \"import socket; print([socket.socket().connect_ex(('127.0.0.1', p)) for p in ({port}, 6379, 5432)])\""
        body = {"messages": [{"role": "user", "content": f"run `{probe}`"}], "thread_id": "__default__"}
        with api.stream("POST", "/api/v1/agent/chat/stream", json=body) as response:
            admin = [(event, data) for event, data in sse_data(response) if event.startswith("tool_call")]
        assert [event for event, _ in admin] == ["tool_calls", "tool_call_result"]
        assert admin[0][1]["tool_calls"][0]["name"] == "shell"
        assert "[111, 111, 111]" in admin[1][1]["content"], admin  # refused: the sandbox's own loopback only


def test_the_same_walkthrough_on_a_configured_provider(platform, fake_llm):
    fake_llm.script(
        Reply(tool_calls=[
            {"name": "write_file", "arguments": {"path": "index.html", "content": PAGE}},
            {"name": "write_file", "arguments": {"path": "hello.py", "content": SCRIPT}},
            {"name": "shell", "arguments": {"command": "python3 hello.py"}},
        ]),
        Reply(tool_calls=[
            {"name": "start_session", "arguments": {"name": "web", "command": "python3 -m http.server 8000", "port": 8000}},
            {"name": "preview_url", "arguments": {"port": 8000}},
        ]),
        Reply(text="Your page is up; the preview link is above."),
    )
    with register(platform.url) as api:
        from apps.accounts.models import User

        # As staff would set it up in the admin: the user's default provider, on the fake upstream.
        fake_llm.make_provider(owner=User.objects.get(email=api.get("/user/me").json()["email"]))
        events = build_preview_and_deploy(api, "Hello Upstream", "Write a page and a script, run it, show me.")
    assert events[-2]["type"] != "error"
    # The model saw the command's output as the shell call's result.
    second = fake_llm.chat_requests[1]["messages"]
    assert any(message["role"] == "tool" and OUTPUT in message["content"] for message in second)
