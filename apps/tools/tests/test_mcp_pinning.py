"""MCP connections resolve a server's host once, check that address, and dial only it (no DNS rebinding)."""
from __future__ import annotations

import httpx2
import pytest
from asgiref.sync import async_to_sync

from apps.tools.mcp.client import MCPFailure, MCPSessionPool, PinnedTarget, ServerSpec, list_tools, pinned_client
from apps.tools.tests.mcp_server import PINNED_HOSTS

HOST = PINNED_HOSTS[0]


@pytest.fixture
def rebinding(monkeypatch) -> list[str]:
    """A DNS that answers 127.0.0.1 (where the test server is) once, then a private address."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"] if len(asked) == 1 else ["10.66.0.1"]

    monkeypatch.setattr("apps.core.fetch.resolve", resolve)
    return asked


@pytest.mark.parametrize("transport", ["streamable_http", "sse"])
def test_a_connection_dials_the_address_it_checked(mcp_server, rebinding, transport):
    path = "/mcp" if transport == "streamable_http" else "/sse-server/sse"
    spec = ServerSpec(name="pinned", transport=transport, url=f"http://{HOST}:{mcp_server.port}{path}")
    tools = async_to_sync(list_tools)(spec)
    assert {tool.name for tool in tools} == {"echo", "fail", "slow", "vanish"}
    # One answer for the whole session; the system resolver, which knows no such name, was never asked.
    assert rebinding == [HOST]
    assert mcp_server.requests and {request["host"] for request in mcp_server.requests} == {f"{HOST}:{mcp_server.port}"}


def test_a_run_session_resolves_once_for_all_its_calls(mcp_server, rebinding):
    spec = ServerSpec(name="pinned", transport="streamable_http", url=f"http://{HOST}:{mcp_server.port}/mcp")

    async def calls():
        pool = MCPSessionPool()
        try:
            return [await pool.call_tool(spec, "echo", {"text": str(n)}) for n in range(3)]
        finally:
            await pool.aclose()

    assert [outcome.text for outcome in async_to_sync(calls)()] == ["echo: 0", "echo: 1", "echo: 2"]
    assert rebinding == [HOST]


def test_a_name_that_resolves_to_a_private_address_is_refused_before_any_connection(mcp_server, monkeypatch, settings):
    async def private(host: str, port: int) -> list[str]:
        return ["10.0.0.5"] if host == HOST else ["127.0.0.1"]

    monkeypatch.setattr("apps.core.fetch.resolve", private)
    with pytest.raises(MCPFailure, match="non-public"):
        async_to_sync(list_tools)(ServerSpec(name="x", transport="streamable_http", url=f"http://{HOST}:1/mcp"))
    settings.FETCH_ALLOW_LOOPBACK = False

    async def loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr("apps.core.fetch.resolve", loopback)
    url = f"http://{HOST}:{mcp_server.port}/mcp"
    with pytest.raises(MCPFailure, match="non-public"):
        async_to_sync(list_tools)(ServerSpec(name="x", transport="streamable_http", url=url))
    assert mcp_server.requests == []
    # A server a staff member allowed private addresses for is still pinned to its one answer.
    allowed = async_to_sync(list_tools)(ServerSpec(name="x", transport="streamable_http", url=url, allow_private=True))
    assert len(allowed) == 4


def test_the_pinned_transport_refuses_any_other_host_or_port(mcp_server):
    target = PinnedTarget(host=HOST, address="127.0.0.1", port=mcp_server.port)

    async def get(url: str) -> int:
        async with pinned_client(target) as client:
            return (await client.get(url)).status_code

    assert async_to_sync(get)(f"http://{HOST}:{mcp_server.port}/mcp") in (400, 405, 406)
    for url in (f"http://localhost:{mcp_server.port}/mcp", f"http://{HOST}:{mcp_server.port + 1}/mcp"):
        with pytest.raises(httpx2.ConnectError, match="not the checked MCP server"):
            async_to_sync(get)(url)
