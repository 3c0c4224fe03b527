"""An MCP client on the official ``mcp`` SDK: connect, list tools, call a tool, with limits.

Reusable on its own (the toolkit profiles build on it): :func:`list_tools` opens a
short session, :class:`MCPSessionPool` keeps one session per server for the length
of a run. Remote URLs obey the fetcher's outbound rules (public addresses only)
unless a staff member allowed private ones for that server; stdio servers are host
commands, and only staff may register them (checked by the services).

Each connection resolves the server's host once, checks that address, and connects to
it only: the SDK's HTTP client gets a transport whose network backend dials the checked
address for that host and port and refuses any other, so a second DNS answer (DNS
rebinding) never reaches the socket. The URL, the ``Host`` header and TLS (SNI and the
certificate check) keep the server's name.

Every failure is an :class:`MCPFailure` with a message a user can act on, so a
tool call that fails is a tool error for the model, never a 500.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpcore2
import httpx2
from django.conf import settings

from apps.core.fetch import FetchRefused, checked_address

if TYPE_CHECKING:
    from mcp.client.session import ClientSession

logger = logging.getLogger(__name__)
T = TypeVar("T")

STREAMABLE_HTTP = "streamable_http"
SSE = "sse"
STDIO = "stdio"
TRANSPORTS = (STREAMABLE_HTTP, SSE, STDIO)


CLIENT_SDK = ("mcp.client.session", "mcp.client.sse", "mcp.client.stdio", "mcp.client.streamable_http")


async def load_sdk(modules: tuple[str, ...]) -> None:
    """Import the SDK's ``modules`` on a thread the first time, so the event loop's other streams go on.

    The SDK is not imported with the app: it weighs about 45 MiB in every process that loads
    Django (two daphnes, the workers, beat), most of which never speak MCP, and its import
    takes about half a second of the GIL.
    """
    if not all(name in sys.modules for name in modules):
        await asyncio.to_thread(lambda: [importlib.import_module(name) for name in modules])


class MCPFailure(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ServerSpec:
    """How to reach one MCP server."""

    name: str
    transport: str
    url: str = ""
    command: tuple[str, ...] = ()
    api_key: str = ""
    allow_private: bool = False
    #: Extra request headers (a toolkit profile's credentials); an ``api_key`` adds ``Authorization``.
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class RemoteTool:
    name: str
    description: str
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}


@dataclass(frozen=True)
class CallOutcome:
    text: str
    error: bool


async def check_url(url: str, *, allow_private: bool = False) -> None:
    """Refuse a URL the fetcher would refuse (FetchRefused, a 400), unless private addresses are allowed."""
    await pin(url, allow_private=allow_private)


def _headers(spec: ServerSpec) -> dict[str, str]:
    headers = dict(spec.headers)
    if spec.api_key:
        headers["Authorization"] = f"Bearer {spec.api_key}"
    return headers


@dataclass(frozen=True)
class PinnedTarget:
    """The one host and port a connection may dial, and the checked address it dials instead of resolving."""

    host: str
    address: str
    port: int


class _PinnedBackend(httpcore2.AsyncNetworkBackend):
    def __init__(self, target: PinnedTarget) -> None:
        self.target = target
        self._backend = httpcore2.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Any = None) -> httpcore2.AsyncNetworkStream:
        if host.strip("[]").lower() != self.target.host or port != self.target.port:
            # The SDK follows redirects within the origin only; anything else is not the server that was checked.
            raise httpcore2.ConnectError(f"Refusing to connect to {host}:{port}: not the checked MCP server.")
        return await self._backend.connect_tcp(self.target.address, port, timeout=timeout,
                                               local_address=local_address, socket_options=socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("MCP connections do not use Unix sockets.")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class PinnedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's transport on a connection pool whose every socket goes to ``target.address``."""

    def __init__(self, target: PinnedTarget) -> None:
        super().__init__(trust_env=False)
        # httpx2 takes no network backend, httpcore2's pool does: the pool is rebuilt with ours.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False), network_backend=_PinnedBackend(target)
        )


def pinned_client(target: PinnedTarget, *, headers: dict[str, str] | None = None, timeout: httpx2.Timeout | None = None,
                  auth: httpx2.Auth | None = None) -> httpx2.AsyncClient:
    # trust_env=False: an environment proxy would be mounted ahead of the transport and dial by name.
    return httpx2.AsyncClient(headers=headers, timeout=timeout, auth=auth, transport=PinnedTransport(target),
                              trust_env=False)


async def pin(url: str, *, allow_private: bool = False) -> PinnedTarget:
    """Resolve ``url``'s host once and check the answer (FetchRefused, a 400, when the policy refuses it)."""
    if not url.startswith(("http://", "https://")):
        raise FetchRefused("Only http and https URLs can be used.")
    host, address, port = await checked_address(url, allow_private=allow_private)
    return PinnedTarget(host=host.lower(), address=address.split("%")[0], port=port)


def _failure(exc: BaseException) -> MCPFailure:
    """The first meaningful reason inside an SDK error (anyio wraps them in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, MCPFailure):
        return exc
    if isinstance(exc, FetchRefused):
        return MCPFailure(exc.message)
    if isinstance(exc, (httpx2.ConnectError, ConnectionError, OSError)):
        return MCPFailure("The MCP server could not be reached.")
    if isinstance(exc, httpx2.HTTPStatusError):
        return MCPFailure(f"The MCP server answered HTTP {exc.response.status_code}.")
    if isinstance(exc, TimeoutError):
        return MCPFailure("The MCP server did not answer in time.")
    return MCPFailure(f"The MCP server failed: {type(exc).__name__}: {str(exc)[:200]}")


@asynccontextmanager
async def connect(spec: ServerSpec) -> AsyncIterator[ClientSession]:
    """An initialized session to ``spec``; raises :class:`MCPFailure` when it cannot be opened."""
    await load_sdk(CLIENT_SDK)
    from mcp.client.session import ClientSession
    from mcp.client.sse import sse_client
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    timeout = settings.MCP_CONNECT_TIMEOUT
    async with AsyncExitStack() as stack:
        if spec.transport in (STREAMABLE_HTTP, SSE):
            target = await pin(spec.url, allow_private=spec.allow_private)
        if spec.transport == STREAMABLE_HTTP:
            # Reads stay the SDK's (a stream may idle for minutes); each call has its own timeout here.
            # The SDK leaves a client it was given open: it is closed here, after the session.
            client = await stack.enter_async_context(
                pinned_client(target, headers=_headers(spec), timeout=httpx2.Timeout(timeout, read=300))
            )
            transport = streamable_http_client(spec.url, http_client=client)
        elif spec.transport == SSE:
            transport = sse_client(spec.url, headers=_headers(spec), timeout=timeout,
                                   httpx_client_factory=lambda **kwargs: pinned_client(target, **kwargs))
        elif spec.transport == STDIO and spec.command:
            transport = stdio_client(StdioServerParameters(command=spec.command[0], args=list(spec.command[1:])))
        else:
            raise MCPFailure(f"Unknown MCP transport: {spec.transport}.")
        streams = await stack.enter_async_context(transport)
        session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
        async with asyncio.timeout(timeout):
            await session.initialize()
        yield session


def _tool_of(raw: Any) -> RemoteTool:
    schema = getattr(raw, "input_schema", None) or getattr(raw, "inputSchema", None) or {}
    if not isinstance(schema, dict) or schema.get("type") != "object":
        schema = {"type": "object", "properties": {}}
    return RemoteTool(name=str(raw.name), description=str(raw.description or "")[:2000], input_schema=schema)


def _text_of(result: Any) -> CallOutcome:
    parts = []
    for item in getattr(result, "content", None) or []:
        kind = getattr(item, "type", "")
        if kind == "text":
            parts.append(item.text)
        elif kind == "resource" and getattr(item.resource, "text", None):
            parts.append(item.resource.text)
        else:
            parts.append(f"[{kind or 'content'}: {getattr(item, 'mime_type', None) or getattr(item, 'mimeType', '')}]")
    text = "\n".join(parts)
    if not text and getattr(result, "structured_content", None) is not None:
        text = str(result.structured_content)
    limit = settings.MCP_MAX_RESULT_CHARS
    if len(text) > limit:
        text = text[:limit] + f"\n… (truncated at {limit} characters)"
    return CallOutcome(text=text, error=bool(getattr(result, "is_error", False)))


async def list_tools(spec: ServerSpec) -> list[RemoteTool]:
    """Connect, list the server's tools and disconnect."""
    try:
        async with asyncio.timeout(settings.MCP_CONNECT_TIMEOUT + settings.MCP_CALL_TIMEOUT):
            async with connect(spec) as session:
                listed = await session.list_tools()
    except Exception as exc:  # every SDK or network error becomes a message (and a status) for the user
        raise _failure(exc) from exc
    return [_tool_of(raw) for raw in listed.tools]


class _Connection:
    """One live session, owned by a task of its own: the SDK's cancel scopes must open and close in one task.

    Calls run concurrently on the session, each in a task the owner starts, so a call that
    times out is cancelled alone. A call that fails marks the connection broken: the next
    call opens a new one (a server that restarted comes back; one that is gone fails fast).
    """

    def __init__(self, spec: ServerSpec) -> None:
        self.spec = spec
        self.requests: asyncio.Queue[tuple[Callable[[ClientSession], Awaitable[Any]], asyncio.Future] | None] = (
            asyncio.Queue()
        )
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.broken = False
        self.task = asyncio.create_task(self._serve(), name=f"mcp:{spec.name}")

    @property
    def usable(self) -> bool:
        return not self.broken and not self.task.done()

    async def _call(self, session: ClientSession, work: Callable[[ClientSession], Awaitable[Any]],
                    answer: asyncio.Future) -> None:
        try:
            result = await work(session)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.broken = True
            if not answer.done():
                answer.set_exception(_failure(exc))
            return
        if not answer.done():
            answer.set_result(result)

    async def _serve(self) -> None:
        calls: set[asyncio.Task] = set()
        try:
            async with connect(self.spec) as session:
                self.ready.set_result(None)
                while (item := await self.requests.get()) is not None:
                    work, answer = item
                    call = asyncio.create_task(self._call(session, work, answer))
                    calls.add(call)
                    call.add_done_callback(calls.discard)
                    # The caller cancels its answer on timeout; that cancels the call.
                    answer.add_done_callback(lambda done, call=call: call.cancel() if done.cancelled() else None)
                for call in list(calls):
                    call.cancel()
        except BaseException as exc:
            self.broken = True
            failure = _failure(exc)
            if not self.ready.done():
                self.ready.set_exception(failure)
            while not self.requests.empty():
                item = self.requests.get_nowait()
                if item is not None and not item[1].done():
                    item[1].set_exception(failure)
            if isinstance(exc, asyncio.CancelledError):
                raise

    async def run(self, work: Callable[[ClientSession], Awaitable[T]], timeout: float) -> T:
        await asyncio.wait_for(asyncio.shield(self.ready), settings.MCP_CONNECT_TIMEOUT)
        if not self.usable:
            raise MCPFailure("The connection to the MCP server was lost.")
        answer: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.requests.put_nowait((work, answer))
        done, _ = await asyncio.wait({answer, self.task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if answer in done:
            return answer.result()
        answer.cancel()
        if self.task in done:
            raise MCPFailure("The connection to the MCP server was lost.")
        raise MCPFailure(f"The MCP server did not answer within {timeout:g} seconds.")

    async def close(self) -> None:
        if not self.task.done():
            self.requests.put_nowait(None)
            try:
                await asyncio.wait_for(self.task, 5)
            except (TimeoutError, asyncio.CancelledError, Exception):
                self.task.cancel()
                with suppress(asyncio.CancelledError, Exception):
                    await self.task
        if self.ready.done() and not self.ready.cancelled():
            self.ready.exception()  # retrieved, so asyncio does not log it as lost


class MCPSessionPool:
    """One session per server for the length of a run; a lost session is reopened on the next call."""

    def __init__(self) -> None:
        self._connections: dict[str, _Connection] = {}
        self._closing: list[_Connection] = []

    def _connection(self, spec: ServerSpec) -> _Connection:
        connection = self._connections.get(spec.name)
        if connection is None or not connection.usable:
            if connection is not None:
                self._closing.append(connection)
            connection = self._connections[spec.name] = _Connection(spec)
        return connection

    async def call_tool(self, spec: ServerSpec, tool: str, arguments: dict[str, Any]) -> CallOutcome:
        """Call ``tool``; an unreachable, failing or slow server is an error outcome, never an exception."""
        timeout = settings.MCP_CALL_TIMEOUT

        async def work(session: ClientSession) -> Any:
            return await session.call_tool(tool, arguments)

        try:
            result = await self._connection(spec).run(work, timeout)
        except MCPFailure as exc:
            return CallOutcome(text=exc.message, error=True)
        except Exception as exc:
            return CallOutcome(text=_failure(exc).message, error=True)
        return _text_of(result)

    async def aclose(self) -> None:
        connections, self._connections = [*self._closing, *self._connections.values()], {}
        self._closing = []
        for connection in connections:
            await connection.close()
