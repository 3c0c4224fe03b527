"""Registered MCP servers: the reads and writes behind 002 ``/api/mcp/*`` and 003's MCP routes, and the run provider.

A server's tools reach a run namespaced ``<server>__<tool>``. Keys are encrypted at
rest (:class:`~apps.core.fields.EncryptedTextField`) and never leave in an answer.
"""
from __future__ import annotations

import re
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.core.errors import Conflict, Forbidden, Invalid, NotFound
from apps.core.fetch import FetchRefused
from apps.core.reads import shared
from apps.tools.mcp.client import (
    SSE,
    STDIO,
    STREAMABLE_HTTP,
    MCPFailure,
    MCPSessionPool,
    RemoteTool,
    ServerSpec,
    check_url,
    list_tools,
)
from apps.tools.models import MCPServer
from apps.tools.registry import Tool, ToolContext, ToolResult
from apps.tools.toolset import Provision, ToolsetRequest

SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$")
SEPARATOR = "__"
#: OpenAI-compatible endpoints accept tool names of at most 64 characters from this alphabet.
_TOOL_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
MAX_TOOL_NAME = 64


def tool_name_for(server: str, tool: str) -> str:
    return (server + SEPARATOR + _TOOL_NAME_CHARS.sub("_", tool))[:MAX_TOOL_NAME]


# ------------------------------------------------------------------------------
# Reads
# ------------------------------------------------------------------------------
def mcp_server_list(*, user: Any, sources: tuple[str, ...] = ()) -> QuerySet[MCPServer]:
    servers = MCPServer.objects.filter(owner=user)
    return servers.filter(source__in=sources) if sources else servers


def mcp_server_get(*, user: Any, name: str, sources: tuple[str, ...] = ()) -> MCPServer:
    server = mcp_server_list(user=user, sources=sources).filter(name=name).first()
    if server is None:
        raise NotFound("MCP server not found.")
    return server


def spec_of(server: MCPServer) -> ServerSpec:
    return ServerSpec(
        name=server.name, transport=server.transport, url=server.url, command=tuple(server.command or ()),
        api_key=server.api_key or "", allow_private=server.allow_private,
    )


# ------------------------------------------------------------------------------
# Writes
# ------------------------------------------------------------------------------
def server_name_check(name: str) -> str:
    name = (name or "").strip()
    if not SERVER_NAME.match(name) or SEPARATOR in name:
        message = "A server name is 1 to 48 letters, digits, '-' or '_' (no '__'), starting with a letter or digit."
        raise Invalid(message, field_errors={"name": [message]})
    return name


async def mcp_server_check(
    *, user: Any, transport: str, url: str = "", command: list[str] | None = None, allow_private: bool = False
) -> None:
    """The registration rules: remote URLs obey the fetcher's outbound rules; stdio and private addresses are staff's."""
    if transport == STDIO:
        if not user.is_staff:
            raise Forbidden("Only staff can add stdio MCP servers: they run commands on the server.")
        if not command or not all(isinstance(part, str) and part for part in command):
            raise Invalid("A stdio server needs a command.", field_errors={"command": ["Required."]})
        return
    if transport not in (STREAMABLE_HTTP, SSE):
        raise Invalid("The protocol must be streamable_http, sse or stdio.", field_errors={"protocol": ["Unknown."]})
    if allow_private and not user.is_staff:
        raise Forbidden("Only staff can let a server reach private addresses.")
    if not url:
        raise Invalid("The server needs a URL.", field_errors={"url": ["Required."]})
    try:
        await check_url(url, allow_private=allow_private)
    except FetchRefused as exc:
        raise Invalid(exc.message, field_errors={"url": [exc.message]}, code="url_refused") from exc


async def mcp_server_add(
    *,
    user: Any,
    name: str,
    transport: str,
    url: str = "",
    api_key: str = "",
    command: list[str] | None = None,
    allow_private: bool = False,
    source: str = "server",
    config: dict[str, Any] | None = None,
    refresh: bool = True,
) -> MCPServer:
    """Register a server (refused by the rules above with a clear 4xx), then list its tools once."""
    name = server_name_check(name)
    await mcp_server_check(user=user, transport=transport, url=url, command=command, allow_private=allow_private)
    server = await sync_to_async(_create)(
        owner=user, name=name, transport=transport, url=url, api_key=api_key or "", command=command or [],
        allow_private=allow_private, source=source, config=config or {},
    )
    return await mcp_server_refresh(server=server) if refresh else server


def _create(**fields: Any) -> MCPServer:
    try:
        with transaction.atomic():
            return MCPServer.objects.create(**fields)
    except IntegrityError as exc:
        raise Conflict(f"You already have an MCP server named {fields['name']}.") from exc


async def mcp_server_refresh(*, server: MCPServer) -> MCPServer:
    """Connect, run ``list_tools`` and keep the tools with their schemas, and the status and error."""
    try:
        tools = await list_tools(spec_of(server))
    except MCPFailure as exc:
        server.status, server.error = MCPServer.Status.ERROR, exc.message
    else:
        server.status, server.error = MCPServer.Status.CONNECTED, ""
        server.tools = [tool.as_json() for tool in tools]
    server.refreshed_at = timezone.now()
    await server.asave(update_fields=["status", "error", "tools", "refreshed_at", "updated_at"])
    return server


def mcp_server_delete(*, server: MCPServer) -> None:
    server.delete()


def mcp_server_toggle(*, server: MCPServer) -> MCPServer:
    server.is_active = not server.is_active
    server.save(update_fields=["is_active", "updated_at"])
    return server


# ------------------------------------------------------------------------------
# Per-request servers (002 extra_mcp_config, 003 mcp_settings)
# ------------------------------------------------------------------------------
def _request_entries(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    entries = config.get("mcpServers") or config.get("mcp_servers") or config.get("servers")
    if entries is None:
        entries = config
    return {str(key): value for key, value in entries.items() if isinstance(value, dict)} if isinstance(entries, dict) else {}


def request_spec(user: Any, name: str, entry: dict[str, Any]) -> ServerSpec:
    """A per-request server under the registration rules; a refusal raises Invalid or Forbidden."""
    name = server_name_check(name)
    kind = str(entry.get("transport") or entry.get("protocol") or entry.get("type") or "").lower()
    command = entry.get("command")
    if command:
        argv = [command, *(entry.get("args") or [])] if isinstance(command, str) else list(command)
        async_to_sync(mcp_server_check)(user=user, transport=STDIO, command=argv)
        return ServerSpec(name=name, transport=STDIO, command=tuple(str(part) for part in argv))
    url = str(entry.get("url") or entry.get("streamable_http_url") or entry.get("sse_url") or "")
    transport = SSE if kind == SSE or (not kind and (entry.get("sse_url") or url.rstrip("/").endswith("/sse"))) else STREAMABLE_HTTP
    async_to_sync(mcp_server_check)(user=user, transport=transport, url=url)
    headers = entry.get("headers") if isinstance(entry.get("headers"), dict) else {}
    key = str(entry.get("api_key") or entry.get("apiKey") or "")
    if not key and str(headers.get("Authorization", "")).startswith("Bearer "):
        key = str(headers["Authorization"])[len("Bearer "):]
    return ServerSpec(name=name, transport=transport, url=url, api_key=key)


# ------------------------------------------------------------------------------
# In a run
# ------------------------------------------------------------------------------
def stored_tool(raw: dict[str, Any]) -> RemoteTool:
    """A tool as a refresh (or a toolkit profile's discovery) stored it."""
    return RemoteTool(name=raw["name"], description=raw.get("description", ""),
                      input_schema=raw.get("input_schema") or {"type": "object", "properties": {}})


def remote_tool(pool: MCPSessionPool, spec: ServerSpec, remote: RemoteTool, *, type: str = "mcp") -> Tool:
    """``remote`` as a run's tool ``<server>__<tool>``, called through ``pool`` (one session per server)."""
    async def call(params: dict[str, Any], context: ToolContext) -> ToolResult:
        outcome = await pool.call_tool(spec, remote.name, params)
        return ToolResult(outcome.text, error=outcome.error)

    return Tool(
        name=tool_name_for(spec.name, remote.name),
        description=f"[MCP {spec.name}] {remote.description}".strip(),
        function=call,
        parameters=remote.input_schema,
        type=type,
    )


def mcp_provision(request: ToolsetRequest) -> Provision:
    """The user's active servers' tools (as last refreshed) and this request's servers (listed now)."""
    pool = MCPSessionPool()
    tools: list[Tool] = []
    notes: list[str] = []
    servers = shared(("run-mcp-servers", request.user.pk), lambda: list(
        mcp_server_list(user=request.user).filter(is_active=True, status=MCPServer.Status.CONNECTED)))
    for server in servers:
        spec = spec_of(server)
        tools.extend(remote_tool(pool, spec, stored_tool(raw)) for raw in server.tools or [])
    for name, entry in _request_entries(request.mcp_servers or {}).items():
        try:
            spec = request_spec(request.user, name, entry)
            listed = async_to_sync(list_tools)(spec)
        except (Invalid, Forbidden) as exc:
            notes.append(f"The MCP server {name} of this request was refused: {exc.message}")
            continue
        except MCPFailure as exc:
            notes.append(f"The MCP server {name} of this request is unavailable: {exc.message}")
            continue
        tools.extend(remote_tool(pool, spec, remote) for remote in listed)
    return Provision(tools=tools, instructions="\n".join(notes), closers=[pool.aclose])

