"""002's tool routes."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_it_lists_the_built_in_tools(alice_client):
    response = alice_client.get("/api/tools")
    assert response.status_code == 200
    tools = {tool["name"]: tool for tool in response.json()["data"]["tools"]}
    assert {"calculator", "current_time", "http_fetch"} <= set(tools)
    assert tools["calculator"]["parameters"]["required"] == ["expression"]


def test_it_filters_by_type(alice_client):
    assert alice_client.get("/api/tools", {"type": "mcp"}).json()["data"]["tools"] == []
    assert alice_client.get("/api/tools", {"type": "builtin"}).json()["data"]["tools"]


def test_it_runs_a_tool(alice_client):
    response = alice_client.post("/api/tools/exec", {"tool_name": "calculator",
                                                     "tool_params": {"expression": "2 ** 10 + 1"}}, format="json")
    assert response.status_code == 200
    assert response.json()["data"] == {"tool_name": "calculator", "result": "1025"}


def test_an_unknown_tool_is_not_found(alice_client):
    response = alice_client.post("/api/tools/exec", {"tool_name": "rm_rf", "tool_params": {}}, format="json")
    assert response.status_code == 404 and response.json()["code"] == 404


@pytest.mark.parametrize("params", [{}, {"expression": 42}, "2+2", [1]])
def test_it_rejects_bad_params(alice_client, params):
    response = alice_client.post("/api/tools/exec", {"tool_name": "calculator", "tool_params": params}, format="json")
    assert response.status_code == 400 and response.json()["code"] == 400


def test_a_failing_tool_is_a_clear_400(alice_client):
    response = alice_client.post("/api/tools/exec", {"tool_name": "calculator",
                                                     "tool_params": {"expression": "__import__('os')"}}, format="json")
    assert response.status_code == 400
    assert "Only numbers" in response.json()["message"]


def test_http_fetch_refuses_a_private_address(alice_client):
    response = alice_client.post("/api/tools/exec", {"tool_name": "http_fetch",
                                                     "tool_params": {"url": "http://169.254.169.254/latest/"}},
                                 format="json")
    assert response.status_code == 400
    assert "non-public" in response.json()["message"]


def test_it_rejects_a_missing_tool_name(alice_client):
    assert alice_client.post("/api/tools/exec", {}, format="json").status_code == 400


@pytest.mark.parametrize(("method", "path"), [("get", "/api/tools"), ("post", "/api/tools/exec")])
def test_it_requires_sign_in(anon, method, path):
    response = getattr(anon, method)(path, {}, format="json")
    assert response.status_code == 401 and response.json()["code"] == 401
