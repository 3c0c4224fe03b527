"""Previews: ``/preview/<sandbox_id>/<port>/<token>/<path>`` proxied to a port inside a sandbox.

The sandbox has no network. Each of its sessions runs a relay (:mod:`apps.sandboxes.relay`)
holding a Unix socket the platform made outside the sandbox; we connect to it, name the port,
and the relay connects to that port on the sandbox's own loopback. The signed token in the
path (from ``preview-url``/``expose-port``) names the sandbox, the port and the owner, and
expires; relative links of the previewed page keep it, because it is part of the path.

Answers carry a sandboxing CSP: the previewed page runs in an opaque origin, so its scripts
cannot use the platform's cookies or call its APIs as the user.
"""
from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from apps.core.errors import NotFound
from apps.sandboxes import services
from apps.sandboxes.backends.bubblewrap import short_unix_path
from apps.sandboxes.models import Sandbox

PREFIX = "/preview/"
_PATH = re.compile(r"^/preview/(?P<sandbox>sbx_[0-9a-f]{1,32})/(?P<port>\d{1,5})/(?P<token>[A-Za-z0-9_:.\-]+)(?P<rest>/.*)?$")
MAX_BODY = 10 * 1024 * 1024
MAX_HEAD = 64 * 1024
CONNECT_TIMEOUT = 10.0
#: Hop-by-hop and credential headers never cross the proxy.
DROP_REQUEST = {b"connection", b"keep-alive", b"proxy-authorization", b"proxy-connection", b"te", b"trailer",
                b"transfer-encoding", b"upgrade", b"host", b"cookie", b"authorization", b"content-length"}
DROP_RESPONSE = {b"connection", b"keep-alive", b"transfer-encoding", b"set-cookie", b"content-security-policy",
                 b"x-frame-options", b"strict-transport-security"}
PREVIEW_CSP = b"sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads; frame-ancestors 'self'"


def _authorise(sandbox_id: str, port: int, token: str) -> Sandbox:
    try:
        owner_id = services.preview_check(token=token, sandbox_id=sandbox_id, port=port)
        sandbox = Sandbox.objects.filter(public_id=sandbox_id, owner_id=owner_id, status__in=Sandbox.ALIVE).first()
        if sandbox is None:
            raise NotFound("Preview not found.")
        services.sandbox_use(sandbox=sandbox)
        return sandbox
    finally:
        close_old_connections()


def _sockets(sandbox: Sandbox) -> list[str]:
    try:
        return services.preview_sockets(sandbox=sandbox)
    finally:
        close_old_connections()


async def _plain(send: Any, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"), (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})


async def _connect(sockets: list[str], port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    """A connection to ``port`` inside the sandbox through the first relay that reaches it."""
    for path in sockets:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            with short_unix_path(Path(path)) as short:
                await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, short), CONNECT_TIMEOUT)
            reader, writer = await asyncio.open_unix_connection(sock=sock)
        except (OSError, TimeoutError):
            sock.close()
            continue
        try:
            writer.write(f"{port}\n".encode())
            await writer.drain()
            answer = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT)
        except (OSError, TimeoutError):
            writer.close()
            continue
        if answer == b"OK\n":
            return reader, writer
        writer.close()
    return None


async def _read_body(receive: Any) -> bytes | None:
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body.extend(message.get("body", b""))
        if len(body) > MAX_BODY:
            return b"\x00too-large"
        if not message.get("more_body"):
            return bytes(body)


def _request_head(scope: dict, port: int, rest: str, body: bytes) -> bytes:
    target = rest or "/"
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    lines = [f"{scope['method']} {target} HTTP/1.0".encode("latin-1"), f"Host: localhost:{port}".encode()]
    for name, value in scope.get("headers", []):
        if name.lower() not in DROP_REQUEST and not name.lower().startswith(b"x-forwarded"):
            lines.append(name + b": " + value)
    lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    headers = []
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            if name.strip().lower() not in DROP_RESPONSE:
                headers.append((name.strip().lower(), value.strip()))
    headers += [(b"content-security-policy", PREVIEW_CSP), (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
    return int(parts[1]), headers


async def preview_app(scope: dict, receive: Any, send: Any) -> None:
    # The raw (still percent-encoded) path goes upstream as the client sent it; a decoded one
    # could carry CR/LF into the request line.
    raw = scope.get("raw_path") or scope["path"].encode()
    match = _PATH.match(raw.decode("latin-1"))
    if match is None or not 0 < int(match["port"]) < 65536 or any(ord(char) < 0x21 for char in match["rest"] or ""):
        await _plain(send, 404, "Preview not found.")
        return
    port = int(match["port"])
    try:
        sandbox = await sync_to_async(_authorise)(match["sandbox"], port, match["token"])
    except NotFound:
        await _plain(send, 404, "Preview not found (or its link expired: ask for a new preview URL).")
        return
    body = await _read_body(receive)
    if body is None:
        return
    if body == b"\x00too-large":
        await _plain(send, 413, "The request body is too large for a preview.")
        return
    connection = await _connect(await sync_to_async(_sockets)(sandbox), port)
    if connection is None:
        await _plain(send, 502, f"Nothing in the sandbox answers on port {port}. Start a server there first.")
        return
    reader, writer = connection
    try:
        writer.write(_request_head(scope, port, match["rest"] or "/", body) + body)
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            await _plain(send, 502, "The server in the sandbox sent no valid HTTP answer.")
            return
        parsed = _parse_head(head[:MAX_HEAD])
        if parsed is None:
            await _plain(send, 502, "The server in the sandbox sent no valid HTTP answer.")
            return
        status, headers = parsed
        await send({"type": "http.response.start", "status": status, "headers": headers})
        while chunk := await reader.read(65536):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        writer.close()


def with_previews(application: Any) -> Any:
    """The ASGI app, with ``/preview/`` answered by the preview proxy and the rest by ``application``."""

    async def router(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await preview_app(scope, receive, send)
        else:
            await application(scope, receive, send)

    return router
