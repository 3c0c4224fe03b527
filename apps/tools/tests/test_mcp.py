"""The MCP client against a real MCP server on 127.0.0.1, and the MCP routes of 002 and 003."""
from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from apps.tools.mcp.client import MCPFailure, MCPSessionPool, ServerSpec, list_tools
from apps.tools.models import MCPServer

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["streamable_http", "sse"])
def spec(request, mcp_server) -> ServerSpec:
    url = mcp_server.http_url if request.param == "streamable_http" else mcp_server.sse_url
    return ServerSpec(name="test", transport=request.param, url=url)


def test_it_lists_tools_with_their_schemas(spec):
    tools = {tool.name: tool for tool in async_to_sync(list_tools)(spec)}
    assert set(tools) == {"echo", "fail", "slow", "vanish"}
    assert tools["echo"].input_schema["required"] == ["text"]
    assert "Echo the given text" in tools["echo"].description


def test_calls_reuse_one_session_and_failures_are_tool_errors(spec, settings):
    async def calls():
        pool = MCPSessionPool()
        try:
            results = [
                await pool.call_tool(spec, "echo", {"text": "one"}),
                await pool.call_tool(spec, "fail", {"reason": "nope"}),
            ]
            # Only the slow call gets the short timeout: on a loaded machine an echo can take a second too.
            settings.MCP_CALL_TIMEOUT = 1
            results.append(await pool.call_tool(spec, "slow", {}))
            settings.MCP_CALL_TIMEOUT = 30
            results.append(await pool.call_tool(spec, "echo", {"text": "two"}))
            return results, len(pool._connections)
        finally:
            await pool.aclose()

    (echo, fail, slow, again), sessions = async_to_sync(calls)()
    assert (echo.text, echo.error) == ("echo: one", False)
    assert fail.error is True
    assert slow.error is True and "did not answer within 1 seconds" in slow.text
    assert (again.text, again.error) == ("echo: two", False)
    assert sessions == 1


def test_a_server_that_goes_away_gives_tool_errors(mcp_server):
    spec = ServerSpec(name="test", transport="streamable_http", url=mcp_server.http_url)

    async def calls():
        pool = MCPSessionPool()
        try:
            return [await pool.call_tool(spec, "vanish", {}), await pool.call_tool(spec, "echo", {"text": "x"})]
        finally:
            await pool.aclose()

    vanished, after = async_to_sync(calls)()
    assert vanished.error and after.error


def test_an_unreachable_server_is_a_clear_failure(settings):
    settings.FETCH_ALLOW_LOOPBACK = True
    with pytest.raises(MCPFailure, match="could not be reached"):
        async_to_sync(list_tools)(ServerSpec(name="x", transport="streamable_http", url="http://127.0.0.1:1/mcp"))


# ------------------------------------------------------------------------------
# 002 /api/mcp/*
# ------------------------------------------------------------------------------
def add(client, mcp_server, name="tools", **extra):
    body = {"name": name, "protocol": "streamable_http", "streamable_http_url": mcp_server.http_url, **extra}
    return client.post("/api/mcp/add", body, format="json")


def test_it_adds_refreshes_lists_and_deletes_a_server(alice, alice_client, mcp_server):
    response = add(alice_client, mcp_server, api_key="sk-secret-key")
    assert response.status_code == 200
    assert response.json()["data"] == {"server_name": "tools", "status": "connected", "error": "", "tools_count": 4}
    server = MCPServer.objects.get(owner=alice)
    assert {tool["name"] for tool in server.tools} == {"echo", "fail", "slow", "vanish"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM tools_mcpserver WHERE id = %s", [server.pk])
        stored = cursor.fetchone()[0]
    assert stored and "sk-secret-key" not in stored

    listed = alice_client.get("/api/mcp/list").json()["data"]["servers"]
    assert [item["server_name"] for item in listed] == ["tools"] and listed[0]["has_api_key"] is True
    assert "sk-secret-key" not in str(listed)

    refreshed = alice_client.post("/api/mcp/tools/refresh")
    assert refreshed.status_code == 200 and refreshed.json()["data"]["status"] == "connected"
    mcp_server.stop()
    refreshed = alice_client.post("/api/mcp/tools/refresh").json()["data"]
    assert refreshed["status"] == "error" and "could not be reached" in refreshed["error"]

    assert alice_client.delete("/api/mcp/tools").json()["data"] == {"server_name": "tools"}
    assert not MCPServer.objects.exists()


def test_it_adds_an_sse_server(alice_client, mcp_server):
    response = alice_client.post("/api/mcp/add", {"name": "sse-tools", "protocol": "sse", "sse_url": mcp_server.sse_url},
                                 format="json")
    assert response.json()["data"]["status"] == "connected"


@pytest.mark.parametrize(
    "body",
    [{"name": "x"}, {"name": "bad name!", "streamable_http_url": "http://127.0.0.1:1/mcp"},
     {"name": "a__b", "streamable_http_url": "http://127.0.0.1:1/mcp"},
     {"name": "x", "protocol": "sse", "streamable_http_url": "http://127.0.0.1:1/mcp"},
     {"name": "x", "protocol": "ftp", "streamable_http_url": "http://127.0.0.1:1/mcp"}],
)
def test_it_validates_the_request(alice_client, body):
    response = alice_client.post("/api/mcp/add", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == 400


def test_it_refuses_private_addresses_like_http_fetch(alice_client, settings):
    settings.FETCH_ALLOW_LOOPBACK = False
    for url in ("http://127.0.0.1:9/mcp", "http://10.0.0.8/mcp", "http://169.254.169.254/latest"):
        response = alice_client.post("/api/mcp/add", {"name": "x", "streamable_http_url": url}, format="json")
        assert response.status_code == 400 and "non-public" in response.json()["message"]
    assert not MCPServer.objects.exists()


def test_only_staff_may_allow_private_addresses_or_stdio(alice_client, admin_client, mcp_server, settings):
    settings.FETCH_ALLOW_LOOPBACK = False
    assert add(alice_client, mcp_server, allow_private=True).status_code == 403
    stdio = {"name": "local", "protocol": "stdio", "command": ["python", "-m", "some_server"]}
    assert alice_client.post("/api/mcp/add", stdio, format="json").status_code == 403
    assert not MCPServer.objects.exists()
    assert add(admin_client, mcp_server, allow_private=True).json()["data"]["status"] == "connected"


def test_a_duplicate_name_is_a_conflict(alice_client, mcp_server):
    add(alice_client, mcp_server)
    assert add(alice_client, mcp_server).status_code == 409


def test_another_users_server_is_not_found(alice_client, bob, client_for, mcp_server):
    add(alice_client, mcp_server)
    bob_client = client_for(bob)
    assert bob_client.get("/api/mcp/list").json()["data"]["servers"] == []
    assert bob_client.delete("/api/mcp/tools").status_code == 404
    assert bob_client.post("/api/mcp/tools/refresh").status_code == 404
    assert client_for(bob).delete("/api/v1/agent/mcp/servers/tools").status_code == 404
    assert MCPServer.objects.count() == 1


# ------------------------------------------------------------------------------
# 003 /api/v1/agent/mcp/servers and user settings
# ------------------------------------------------------------------------------
def test_003_servers_add_list_and_delete(alice_client, mcp_server):
    body = {"name": "tools", "protocol": "sse", "sse_url": mcp_server.sse_url, "api_key": "k-123"}
    response = alice_client.post("/api/v1/agent/mcp/servers", body, format="json")
    assert response.status_code == 201 and response.json()["status"] == "connected"
    assert "k-123" not in response.content.decode()
    assert [item["name"] for item in alice_client.get("/api/v1/agent/mcp/servers").json()["servers"]] == ["tools"]
    assert alice_client.delete("/api/v1/agent/mcp/servers/tools").status_code == 200
    assert alice_client.delete("/api/v1/agent/mcp/servers/tools").status_code == 404
    invalid = alice_client.post("/api/v1/agent/mcp/servers", {"name": "x"}, format="json")
    assert invalid.status_code == 400 and "detail" in invalid.json()


def test_user_settings_codex_custom_toggle_and_delete(alice_client, mcp_server):
    codex = alice_client.post("/api/v1/agent/user-settings/mcp/codex",
                              {"apikey": "sk-codex", "model": "gpt-4o", "model_reasoning_effort": "high"}, format="json")
    assert codex.status_code == 200 and codex.json()["has_api_key"] is True
    assert "sk-codex" not in codex.content.decode()
    got = alice_client.get("/api/v1/agent/user-settings/mcp/codex").json()
    assert got["configured"] is True and got["setting"]["config"]["model_reasoning_effort"] == "high"

    custom = alice_client.post("/api/v1/agent/user-settings/mcp/custom",
                               {"name": "mine", "streamable_http_url": mcp_server.http_url}, format="json")
    assert custom.status_code == 201 and custom.json()["status"] == "connected"
    listed = alice_client.get("/api/v1/agent/user-settings/mcp").json()["settings"]
    assert sorted(item["tool_type"] for item in listed) == ["codex", "mine"]

    toggled = alice_client.patch("/api/v1/agent/user-settings/mcp/mine/toggle")
    assert toggled.status_code == 200 and toggled.json()["is_active"] is False
    assert alice_client.delete("/api/v1/agent/user-settings/mcp/codex").status_code == 200
    assert alice_client.delete("/api/v1/agent/user-settings/mcp/mine").status_code == 200
    assert alice_client.get("/api/v1/agent/user-settings/mcp").json()["settings"] == []


def test_user_settings_validate_their_input(alice_client):
    assert alice_client.post("/api/v1/agent/user-settings/mcp/codex", {}, format="json").status_code == 400
    bad = alice_client.post("/api/v1/agent/user-settings/mcp/claude-code", {"authorization_code": "no-verifier"},
                            format="json")
    assert bad.status_code == 400 and "code#verifier" in str(bad.json())
    assert alice_client.post("/api/v1/agent/user-settings/mcp/custom", {"name": "codex",
                             "streamable_http_url": "http://127.0.0.1:1/mcp"}, format="json").status_code == 400


def test_claude_code_keeps_the_code_and_answers_502_without_an_exchange(alice, alice_client, settings):
    settings.MCP_CLAUDE_CODE_TOKEN_URL = ""
    response = alice_client.post("/api/v1/agent/user-settings/mcp/claude-code", {"authorization_code": "abc#xyz"},
                                 format="json")
    assert response.status_code == 502 and "code is kept" in response.json()["detail"]
    settings.MCP_CLAUDE_CODE_TOKEN_URL = "http://127.0.0.1:1/token"
    response = alice_client.post("/api/v1/agent/user-settings/mcp/claude-code", {"authorization_code": "abc#xyz"},
                                 format="json")
    assert response.status_code == 502 and "could not be reached" in response.json()["detail"]
    stored = MCPServer.objects.get(owner=alice, name="claude-code")
    assert stored.api_key == "abc#xyz" and stored.config["state"] == "pending_exchange"
    got = alice_client.get("/api/v1/agent/user-settings/mcp/claude-code").json()
    assert got["configured"] is True and "abc#xyz" not in str(got)


def test_claude_code_exchanges_the_code_at_the_configured_url(alice, alice_client, settings, fake_llm):
    # The fake upstream answers any POST it does not know with 404: a reachable URL that refuses the code.
    settings.MCP_CLAUDE_CODE_TOKEN_URL = fake_llm.base_url + "/oauth/token"
    response = alice_client.post("/api/v1/agent/user-settings/mcp/claude-code", {"authorization_code": "abc#xyz"},
                                 format="json")
    assert response.status_code == 502 and "exchange failed" in response.json()["detail"]


def test_another_users_settings_are_not_found(alice_client, bob, client_for):
    alice_client.post("/api/v1/agent/user-settings/mcp/codex", {"apikey": "sk"}, format="json")
    bob_client = client_for(bob)
    assert bob_client.get("/api/v1/agent/user-settings/mcp").json()["settings"] == []
    assert bob_client.get("/api/v1/agent/user-settings/mcp/codex").json()["configured"] is False
    assert bob_client.delete("/api/v1/agent/user-settings/mcp/codex").status_code == 404
    assert bob_client.patch("/api/v1/agent/user-settings/mcp/codex/toggle").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/mcp/add"), ("get", "/api/mcp/list"), ("delete", "/api/mcp/x"), ("post", "/api/mcp/x/refresh"),
     ("get", "/api/v1/agent/mcp/servers"), ("post", "/api/v1/agent/mcp/servers"),
     ("delete", "/api/v1/agent/mcp/servers/x"), ("get", "/api/v1/agent/user-settings/mcp"),
     ("get", "/api/v1/agent/user-settings/mcp/codex"), ("post", "/api/v1/agent/user-settings/mcp/codex"),
     ("get", "/api/v1/agent/user-settings/mcp/claude-code"), ("post", "/api/v1/agent/user-settings/mcp/claude-code"),
     ("post", "/api/v1/agent/user-settings/mcp/custom"), ("delete", "/api/v1/agent/user-settings/mcp/x"),
     ("patch", "/api/v1/agent/user-settings/mcp/x/toggle")],
)
def test_every_mcp_route_requires_sign_in(anon, method, path):
    assert getattr(anon, method)(path).status_code == 401


def test_the_tool_routes_list_and_run_the_users_mcp_tools(alice_client, bob, client_for, mcp_server):
    add(alice_client, mcp_server)
    listed = alice_client.get("/api/tools", {"type": "mcp"}).json()["data"]["tools"]
    assert {tool["name"] for tool in listed} == {"tools__echo", "tools__fail", "tools__slow", "tools__vanish"}
    assert client_for(bob).get("/api/tools", {"type": "mcp"}).json()["data"]["tools"] == []
    response = alice_client.post("/api/tools/exec", {"tool_name": "tools__echo", "tool_params": {"text": "direct"}},
                                 format="json")
    assert response.status_code == 200 and response.json()["data"]["result"] == "echo: direct"
    failed = alice_client.post("/api/tools/exec", {"tool_name": "tools__fail", "tool_params": {}}, format="json")
    assert failed.status_code == 400
    assert client_for(bob).post("/api/tools/exec", {"tool_name": "tools__echo", "tool_params": {"text": "x"}},
                                format="json").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_claude_code_answers_400_when_the_token_endpoint_refuses_the_code(alice, client_for, settings, live_server):
    # Found by fuzzing (a 502 for a made-up code): a real OAuth2 token endpoint, the platform's own,
    # refuses an unknown client's code with an RFC 6749 error answer; that is the client's input.
    settings.MCP_CLAUDE_CODE_TOKEN_URL = f"{live_server.url}/oauth2/token"
    response = client_for(alice).post("/api/v1/agent/user-settings/mcp/claude-code",
                                      {"authorization_code": "made-up#verifier"}, format="json")
    assert response.status_code == 400, response.content
    assert "refused the code" in response.json()["detail"] and "authorization_code" in response.json()["errors"]
    assert MCPServer.objects.get(owner=alice, name="claude-code").config["state"] == "pending_exchange"
