"""Our objects as MCP servers: streamable HTTP on the official ``mcp`` SDK's server side.

``/mcp/agents/{id}`` (:mod:`apps.conversations.mcp`) and ``/mcp/sandboxes/{id}``
(:mod:`apps.sandboxes.mcp`) are each an :class:`McpEndpoint`: the path names one object,
the caller signs in with ``Authorization: Bearer`` (an access JWT or a ``ce-`` API key,
checked by the SDK's bearer middleware with our :class:`BearerTokenVerifier`), the endpoint
resolves the object for that user, and the SDK's low-level ``Server`` lists and calls its
tools. Those are ordinary :class:`~apps.tools.registry.Tool` objects dispatched by a
:class:`~apps.tools.toolset.Toolset`, so their parameters are checked against the same
JSON schemas and their failures come back as tool errors, as in a run.

No credentials → 401 with ``WWW-Authenticate: Bearer`` (the SDK's own answer); an unknown
or foreign object → 404 with a JSON-RPC error body, which the SDK's client surfaces as an
``MCPError``. Every HTTP request is served on its own (the SDK's stateless mode): no
session lives in this process, so any daphne behind a load balancer answers any request.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.db import connection

from apps.accounts.authentication import bearer_user
from apps.core.errors import NotFound, ServiceError
from apps.tools.mcp.client import load_sdk
from apps.tools.registry import Tool, ToolContext
from apps.tools.toolset import Provision, Toolset

if TYPE_CHECKING:
    import mcp_types as types
    from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
    from mcp.server.auth.provider import AccessToken
    from mcp.server.lowlevel.server import Server

#: The SDK's server side, imported by the first MCP request (on a thread), not with the ASGI app.
SERVER_SDK = ("mcp_types", "mcp.server.auth.middleware.bearer_auth", "mcp.server.auth.provider",
              "mcp.server.lowlevel.server", "mcp.server.streamable_http_manager", "starlette.middleware.authentication")

logger = logging.getLogger(__name__)

#: JSON-RPC's "invalid request": what the SDK answers for a request it cannot serve.
INVALID_REQUEST = -32600
MAX_REQUEST_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class McpTarget:
    """The object one endpoint serves, resolved for the signed-in user."""

    name: str
    instructions: str
    tools: list[Tool]
    context: ToolContext


#: ``(user, object_id) -> McpTarget``; database reads, run on a thread. A foreign id raises NotFound.
Resolver = Callable[[Any, str], McpTarget]


class BearerTokenVerifier:
    """The SDK's ``TokenVerifier`` over our sign-in: the token's subject is the user's id."""

    async def verify_token(self, token: str) -> AccessToken | None:
        from mcp.server.auth.provider import AccessToken

        user = await in_thread(bearer_user, token)
        if user is None:
            return None
        return AccessToken(token=token, client_id=f"user:{user.pk}", subject=str(user.pk), scopes=[])


def _closing_connection(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    finally:
        connection.close()  # a thread of the loop's pool: it keeps no connection between calls


async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn`` (database work) on a thread of its own, so a slow call holds neither the loop nor Django's one shared thread."""
    return await sync_to_async(_closing_connection, thread_sensitive=False)(fn, *args, **kwargs)


def _user_by_id(user_id: str) -> Any | None:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


async def _error(send: Any, status: int, message: str) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": message}}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})


def _listed(tool: Tool) -> types.Tool:
    import mcp_types as types

    return types.Tool(name=tool.name, description=tool.description, input_schema=tool.parameters)


def _server(target: McpTarget) -> Server:
    import mcp_types as types
    from mcp.server.lowlevel.server import Server

    toolset = Toolset([Provision(tools=target.tools)])

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[_listed(tool) for tool in toolset.tools])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        steps = 0

        async def emit(type: str, data: dict[str, Any]) -> None:
            # A tool's progress events reach a client that asked for progress (a no-op otherwise).
            nonlocal steps
            if type == "progress":
                steps += 1
                await ctx.session.report_progress(steps, None, str(data.get("content") or "")[:500] or None)

        context = dataclasses.replace(target.context, emit=emit)
        result = await toolset.call(params.name, params.arguments or {}, context)
        structured = {"artifacts": result.artifacts} if result.artifacts else None
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=result.text)],
            structured_content=structured,
            is_error=result.error,
        )

    return Server(target.name, instructions=target.instructions, on_list_tools=list_tools, on_call_tool=call_tool)


class McpEndpoint:
    """An ASGI app answering ``<prefix><object_id>`` (a trailing slash too) over MCP streamable HTTP."""

    def __init__(
        self, *, prefix: str, resolve: Resolver, id_name: str = "object_id", id_pattern: str = r"[A-Za-z0-9_-]{1,64}"
    ) -> None:
        self.prefix = prefix
        #: The route in the URLconf's spelling (``mcp/agents/<agent_id>``), for the authorization matrix.
        self.route = f"{prefix.lstrip('/')}<{id_name}>"
        self.resolve = resolve
        self._path = re.compile(rf"^{re.escape(prefix)}(?P<id>{id_pattern})/?$")

    @cached_property
    def _authenticated(self) -> Any:
        from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
        from starlette.middleware.authentication import AuthenticationMiddleware

        return AuthenticationMiddleware(
            RequireAuthMiddleware(self._serve, required_scopes=[]),
            backend=BearerAuthBackend(BearerTokenVerifier()),
        )

    def handles(self, path: str) -> bool:
        return path.startswith(self.prefix)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if self._path.match(scope["path"]) is None:
            await _error(send, 404, "No MCP server at this path.")
            return
        await load_sdk(SERVER_SDK)
        await self._authenticated(scope, receive, send)

    def _target(self, user_id: str, object_id: str) -> McpTarget:
        user = _user_by_id(user_id)
        if user is None:
            raise NotFound("Not found.")
        return self.resolve(user, object_id)

    async def _serve(self, scope: dict, receive: Any, send: Any) -> None:
        principal: AuthenticatedUser = scope["user"]  # RequireAuthMiddleware lets only these through
        object_id = self._path.match(scope["path"])["id"]
        try:
            target = await in_thread(self._target, principal.access_token.subject, object_id)
        except ServiceError as exc:
            await _error(send, exc.status, exc.message)
            return
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        manager = StreamableHTTPSessionManager(
            app=_server(target), stateless=True, max_request_body_size=MAX_REQUEST_BYTES
        )
        async with manager.run():
            await manager.handle_request(scope, receive, send)


def with_mcp(application: Any, endpoints: list[McpEndpoint]) -> Any:
    """The ASGI app, with each endpoint's paths answered by it and the rest by ``application``."""

    async def router(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for endpoint in endpoints:
                if endpoint.handles(scope["path"]):
                    await endpoint(scope, receive, send)
                    return
        await application(scope, receive, send)

    return router
