"""A real MCP server for the tests: the SDK's MCPServer (FastMCP in mcp 1.x) on 127.0.0.1.

It serves streamable HTTP at ``/mcp`` and SSE at ``/sse`` with four tools: ``echo``,
``fail`` (raises), ``slow`` (sleeps for a minute) and ``vanish`` (shuts the server down
while answering, as a server that goes away mid-run). It keeps the ``Host``,
``Authorization`` and ``Mcp-Session-Id`` headers of every request it gets (``requests``), and accepts the host
names of :data:`PINNED_HOSTS` besides 127.0.0.1, for the tests that resolve a name to it.
"""
from __future__ import annotations

import threading
import time

import anyio
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.routing import Mount

from conftest import _free_port

#: Names the DNS-pinning tests resolve to 127.0.0.1 (the system resolver knows none of them).
PINNED_HOSTS = ("mcp.pinned.test",)


class TestMCPServer:
    __test__ = False

    def __init__(self) -> None:
        self.port = _free_port()
        self.calls: list[str] = []
        self.requests: list[dict[str, str]] = []
        mcp = MCPServer("test-tools")

        @mcp.tool()
        def echo(text: str) -> str:
            """Echo the given text back, prefixed with 'echo:'."""
            self.calls.append(text)
            return f"echo: {text}"

        @mcp.tool()
        def fail(reason: str = "") -> str:
            """A tool that always fails."""
            raise ValueError(reason or "it always fails")

        @mcp.tool()
        async def slow(seconds: float = 60) -> str:
            """A tool that takes a long time to answer."""
            await anyio.sleep(seconds)
            return "finally"

        @mcp.tool()
        async def vanish() -> str:
            """Shut the server down while answering."""
            self.stop_soon()
            await anyio.sleep(30)
            return "still here"

        hosts = ["127.0.0.1:*", "localhost:*", *(f"{host}:*" for host in PINNED_HOSTS)]
        security = TransportSecuritySettings(allowed_hosts=hosts, allowed_origins=[f"http://{host}" for host in hosts])
        http = mcp.streamable_http_app(transport_security=security)
        sse = mcp.sse_app(transport_security=security)
        app = Starlette(routes=[Mount("/sse-server", app=sse), Mount("/", app=http)],
                        lifespan=http.router.lifespan_context)

        async def recording(scope, receive, send):
            if scope["type"] == "http":
                headers = {key.decode().lower(): value.decode() for key, value in scope["headers"]}
                self.requests.append({"host": headers.get("host", ""), "authorization": headers.get("authorization", ""),
                                      "session": headers.get("mcp-session-id", ""), "path": scope["path"]})
            await app(scope, receive, send)

        self.server = uvicorn.Server(uvicorn.Config(recording, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread: threading.Thread | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def sse_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sse-server/sse"

    def start(self) -> TestMCPServer:
        self.thread = threading.Thread(target=self.server.run, name="test-mcp", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test MCP server did not start")
            time.sleep(0.02)
        return self

    def stop_soon(self) -> None:
        self.server.should_exit = True
        self.server.force_exit = True

    def stop(self) -> None:
        self.stop_soon()
        if self.thread is not None:
            self.thread.join(10)
