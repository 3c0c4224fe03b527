"""The official ``mcp`` SDK's client against our MCP endpoints, for the tests of /mcp/agents and /mcp/sandboxes."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError

Work = Callable[[ClientSession], Awaitable[Any]]


def over_mcp(url: str, token: str | None, work: Work) -> Any:
    """Open an SDK session to ``url`` over streamable HTTP (signed in with ``token``), initialise it, run ``work``."""

    async def main() -> Any:
        client = create_mcp_http_client(headers={"Authorization": f"Bearer {token}"} if token else {})
        async with client, streamable_http_client(url, http_client=client) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)

    return asyncio.run(main())


async def list_tools(session: ClientSession) -> Any:
    return await session.list_tools()


def call(name: str, arguments: dict[str, Any], *, progress: list[tuple[float, str | None]] | None = None) -> Work:
    """Call ``name``; with ``progress``, ask for progress notifications and collect them there."""

    async def collect(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def work(session: ClientSession) -> Any:
        return await session.call_tool(name, arguments, progress_callback=collect if progress is not None else None)

    return work


def refused(url: str, token: str | None) -> MCPError:
    """The SDK's error when the endpoint refuses the session (anyio wraps it in exception groups)."""
    with pytest.raises(BaseException) as caught:
        over_mcp(url, token, list_tools)
    error = caught.value
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    assert isinstance(error, MCPError), repr(error)
    return error
