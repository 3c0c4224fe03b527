"""003's per-user MCP settings: codex (an API key), claude-code (an OAuth code), custom servers.

Each is an :class:`~apps.tools.models.MCPServer` row of the user with ``source`` set to
its tool type; active ones whose tools were listed join the user's runs like any server.
"""
from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings
from django.db.models import QuerySet

from apps.core.errors import BadGateway, Invalid
from apps.tools.mcp.client import STDIO, STREAMABLE_HTTP
from apps.tools.mcp.servers import mcp_server_add, mcp_server_list
from apps.tools.models import MCPServer

CODEX = "codex"
CLAUDE_CODE = "claude-code"
CUSTOM = "custom"
SOURCES = (CODEX, CLAUDE_CODE, CUSTOM)
#: The Codex CLI serves MCP over stdio; the command is ours, not the user's.
CODEX_COMMAND = ["codex", "mcp-server"]


def user_mcp_settings(*, user: Any) -> QuerySet[MCPServer]:
    return mcp_server_list(user=user, sources=SOURCES)


def user_mcp_setting(*, user: Any, tool_type: str) -> MCPServer | None:
    return user_mcp_settings(user=user).filter(name=tool_type).first()


async def codex_configure(*, user: Any, apikey: str, model: str, model_reasoning_effort: str, search: bool) -> MCPServer:
    """Keep the Codex key (encrypted) and options; the key never comes back out."""
    server, _ = await MCPServer.objects.aupdate_or_create(
        owner=user, name=CODEX,
        defaults={
            "source": CODEX, "transport": STDIO, "command": CODEX_COMMAND, "api_key": apikey,
            "config": {"model": model, "model_reasoning_effort": model_reasoning_effort, "search": search},
        },
    )
    return server


async def claude_code_configure(*, user: Any, authorization_code: str) -> MCPServer:
    """Keep the ``code#verifier`` and exchange it at the configured token URL.

    The exchange needs the vendor's network: unset or unreachable, the code stays kept
    for a later try and the answer is a clear 502. A code the endpoint refuses (an OAuth2 error
    answer, 400 or 401) is a 400.
    """
    code, verifier = authorization_code.split("#", 1)
    server, _ = await MCPServer.objects.aupdate_or_create(
        owner=user, name=CLAUDE_CODE,
        defaults={"source": CLAUDE_CODE, "transport": STREAMABLE_HTTP, "api_key": authorization_code,
                  "config": {"state": "pending_exchange"}, "status": MCPServer.Status.NEW},
    )
    url = settings.MCP_CLAUDE_CODE_TOKEN_URL
    if not url:
        raise BadGateway("No token exchange URL is configured (MCP_CLAUDE_CODE_TOKEN_URL); the code is kept.")
    try:
        async with httpx.AsyncClient(timeout=settings.MCP_CONNECT_TIMEOUT, trust_env=False) as client:
            response = await client.post(
                url, data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
            )
    except httpx.HTTPError as exc:
        raise BadGateway(f"The token exchange URL could not be reached ({type(exc).__name__}); the code is kept.") from exc
    try:
        token = response.json() if response.status_code in (200, 400, 401) else {}
    except ValueError:
        token = {}
    if response.status_code in (400, 401) and isinstance(token, dict) and token.get("error"):
        # RFC 6749 §5.2: the endpoint answered and refused this code (invalid_grant, invalid_client...):
        # the client's input, not a gateway failure.
        raise Invalid(f"The token endpoint refused the code ({str(token['error'])[:100]}); the code is kept.",
                      field_errors={"authorization_code": ["Refused by the token endpoint."]})
    if not isinstance(token, dict) or not token.get("access_token"):
        raise BadGateway(f"The token exchange failed (HTTP {response.status_code}); the code is kept.")
    server.api_key = str(token["access_token"])
    server.config = {"state": "exchanged", "token_type": token.get("token_type", "Bearer"),
                     "expires_in": token.get("expires_in")}
    await server.asave(update_fields=["api_key", "config", "updated_at"])
    return server


async def custom_add(*, user: Any, name: str, transport: str, url: str, api_key: str = "",
                     command: list[str] | None = None, allow_private: bool = False) -> MCPServer:
    if name in (CODEX, CLAUDE_CODE):
        raise Invalid(f"{name} is a reserved setting name.", field_errors={"name": ["Reserved."]})
    return await mcp_server_add(user=user, name=name, transport=transport, url=url, api_key=api_key,
                                command=command, allow_private=allow_private, source=CUSTOM)
