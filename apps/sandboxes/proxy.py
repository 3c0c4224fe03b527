"""Previews: ``/preview/<sandbox_id>/<port>/<token>/<path>`` proxied to a port inside a sandbox.

The sandbox has no network. Each of its sessions runs a relay (:mod:`apps.sandboxes.relay`)
holding a Unix socket the platform made outside the sandbox; we connect to it, name the port,
and the relay connects to that port on the sandbox's own loopback. The signed token in the
path (from ``preview-url``/``expose-port``) names the sandbox, the port and the owner, and
expires; relative links of the previewed page keep it, because it is part of the path.

Answers carry a sandboxing CSP: the previewed page runs in an opaque origin, so its scripts
cannot use the platform's cookies or call its APIs as the user.

WebSockets to the same URLs are authorised the same way, then bridged: the platform accepts
the browser's connection, opens its own to the sandbox's server through the relay (it is that
server's client: its own key, masked frames, no extensions) and passes each message, ping and
close across (:mod:`apps.sandboxes.wsframes`).
"""
from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone

from apps.core.errors import NotFound
from apps.sandboxes import services, wsframes
from apps.sandboxes.backends.bubblewrap import short_unix_path
from apps.sandboxes.models import Sandbox

PREFIX = "/preview/"
_PATH = re.compile(r"^/preview/(?P<sandbox>sbx_[0-9a-f]{1,32})/(?P<port>\d{1,5})/(?P<token>[A-Za-z0-9_:.\-]+)(?P<rest>/.*)?$")
MAX_BODY = 10 * 1024 * 1024
MAX_HEAD = 64 * 1024
CONNECT_TIMEOUT = 10.0
MAX_WS_MESSAGE = 16 * 1024 * 1024
WS_USE_INTERVAL = 60.0  # how often an open WebSocket marks its sandbox used (and checks it is still alive)
#: Hop-by-hop and credential headers never cross the proxy.
DROP_REQUEST = {b"connection", b"keep-alive", b"proxy-authorization", b"proxy-connection", b"te", b"trailer",
                b"transfer-encoding", b"upgrade", b"host", b"cookie", b"authorization", b"content-length"}
DROP_RESPONSE = {b"connection", b"keep-alive", b"transfer-encoding", b"set-cookie", b"content-security-policy",
                 b"x-frame-options", b"strict-transport-security"}
#: The browser's handshake headers are its own; the platform makes the sandbox-side handshake itself.
DROP_WEBSOCKET = {b"origin", b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions",
                  b"sec-websocket-accept", b"sec-websocket-protocol"}
#: Close codes a peer may send on (the rest, 1005/1006/1015 and unassigned ones, become 1000).
_SENDABLE_CLOSE = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, *range(3000, 5000)}
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


def _head(method: str, scope: dict, port: int, rest: str, *, version: str, drop: set[bytes]) -> list[bytes]:
    """A request line and the headers passed on: Host is the sandbox's, credentials never cross."""
    target = rest or "/"
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    lines = [f"{method} {target} HTTP/{version}".encode("latin-1"), f"Host: localhost:{port}".encode()]
    for name, value in scope.get("headers", []):
        if name.lower() not in drop and not name.lower().startswith(b"x-forwarded"):
            lines.append(name + b": " + value)
    return lines


def _request_head(scope: dict, port: int, rest: str, body: bytes) -> bytes:
    lines = _head(scope["method"], scope, port, rest, version="1.0", drop=DROP_REQUEST)
    lines.append(f"Content-Length: {len(body)}".encode())
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _upgrade_head(scope: dict, port: int, rest: str, key: str) -> bytes:
    lines = _head("GET", scope, port, rest, version="1.1", drop=DROP_REQUEST | DROP_WEBSOCKET)
    lines += [b"Upgrade: websocket", b"Connection: Upgrade", f"Sec-WebSocket-Key: {key}".encode(),
              b"Sec-WebSocket-Version: 13"]
    if scope.get("subprotocols"):
        lines.append(("Sec-WebSocket-Protocol: " + ", ".join(scope["subprotocols"])).encode("latin-1"))
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _head_fields(head: bytes) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    fields = []
    for line in lines[1:]:
        if b":" in line:
            name, value = line.split(b":", 1)
            fields.append((name.strip().lower(), value.strip()))
    return int(parts[1]), fields


def _parse_head(head: bytes) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    parsed = _head_fields(head)
    if parsed is None:
        return None
    status, fields = parsed
    headers = [(name, value) for name, value in fields if name not in DROP_RESPONSE]
    headers += [(b"content-security-policy", PREVIEW_CSP), (b"x-content-type-options", b"nosniff"),
                (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-store")]
    return status, headers


def _target(scope: dict) -> re.Match[str] | None:
    """The sandbox, port, token and path a preview URL names, or None."""
    # The raw (still percent-encoded) path goes upstream as the client sent it; a decoded one
    # could carry CR/LF into the request line.
    raw = scope.get("raw_path") or scope["path"].encode()
    match = _PATH.match(raw.decode("latin-1"))
    if match is None or not 0 < int(match["port"]) < 65536 or any(ord(char) < 0x21 for char in match["rest"] or ""):
        return None
    return match


def _still_used(sandbox_pk: int) -> bool:
    """Mark an alive sandbox used now (an open WebSocket is use); whether it is still alive."""
    try:
        return Sandbox.objects.filter(pk=sandbox_pk, status__in=Sandbox.ALIVE).update(last_used_at=timezone.now()) > 0
    finally:
        close_old_connections()


async def _while_alive(sandbox_pk: int) -> None:
    """Returns once the sandbox is no longer alive (deleted, expired); until then keeps it from idling out."""
    while True:
        await asyncio.sleep(WS_USE_INTERVAL)
        if not await sync_to_async(_still_used)(sandbox_pk):
            return


async def preview_app(scope: dict, receive: Any, send: Any) -> None:
    match = _target(scope)
    if match is None:
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


async def _sandbox_to_browser(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, send: Any) -> int:
    """Pass the sandbox server's messages on until it closes; the close code for the browser."""
    parts: list[bytes] = []
    kind: int | None = None
    size = 0
    try:
        while True:
            frame = await wsframes.read_frame(reader, max_size=MAX_WS_MESSAGE)
            if frame.opcode == wsframes.PING:
                writer.write(wsframes.encode(wsframes.PONG, frame.payload))
                await writer.drain()
                continue
            if frame.opcode == wsframes.PONG:
                continue
            if frame.opcode == wsframes.CLOSE:
                code = int.from_bytes(frame.payload[:2], "big") if len(frame.payload) >= 2 else 1000
                writer.write(wsframes.encode(wsframes.CLOSE, frame.payload[:2]))
                await writer.drain()
                return code if code in _SENDABLE_CLOSE else 1000
            if (frame.opcode == wsframes.CONTINUATION) == (kind is None):
                raise wsframes.ProtocolError(1002, "a fragment out of place")
            kind = frame.opcode if kind is None else kind
            parts.append(frame.payload)
            size += len(frame.payload)
            if size > MAX_WS_MESSAGE:
                raise wsframes.ProtocolError(1009, "message too big")
            if not frame.fin:
                continue
            data, parts, size = b"".join(parts), [], 0
            if kind == wsframes.TEXT:
                try:
                    await send({"type": "websocket.send", "text": data.decode("utf-8")})
                except UnicodeDecodeError as exc:
                    raise wsframes.ProtocolError(1007, "text that is not UTF-8") from exc
            else:
                await send({"type": "websocket.send", "bytes": data})
            kind = None
    except wsframes.ProtocolError as exc:
        writer.write(wsframes.encode(wsframes.CLOSE, wsframes.close_payload(exc.code, str(exc))))
        return exc.code
    except (asyncio.IncompleteReadError, ConnectionError):
        return 1011  # the server went away without a close frame


async def _browser_to_sandbox(receive: Any, writer: asyncio.StreamWriter) -> None:
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            code = message.get("code", 1000)
            writer.write(wsframes.encode(wsframes.CLOSE, wsframes.close_payload(code if code in _SENDABLE_CLOSE else 1000)))
            await writer.drain()
            return
        if message["type"] == "websocket.receive":
            if message.get("bytes") is not None:
                writer.write(wsframes.encode(wsframes.BINARY, message["bytes"]))
            else:
                writer.write(wsframes.encode(wsframes.TEXT, (message.get("text") or "").encode()))
            await writer.drain()


def _upgraded(head: bytes, key: str, offered: list[str]) -> tuple[bool, str | None]:
    """Whether the sandbox's answer completes the handshake we started, and the subprotocol it chose."""
    parsed = _head_fields(head[:MAX_HEAD])
    if parsed is None or parsed[0] != 101:
        return False, None
    fields = dict(parsed[1])
    if fields.get(b"upgrade", b"").lower() != b"websocket" or fields.get(b"sec-websocket-accept") != wsframes.accept_for(key).encode():
        return False, None
    chosen = fields.get(b"sec-websocket-protocol", b"").decode("latin-1") or None
    return chosen is None or chosen in offered, chosen


async def preview_websocket(scope: dict, receive: Any, send: Any) -> None:
    """A WebSocket preview: refused (403 to the browser) unless the URL's token opens the sandbox's port."""
    if (await receive())["type"] != "websocket.connect":
        return
    match = _target(scope)
    connection = sandbox = None
    if match is not None:
        try:
            sandbox = await sync_to_async(_authorise)(match["sandbox"], int(match["port"]), match["token"])
            connection = await _connect(await sync_to_async(_sockets)(sandbox), int(match["port"]))
        except NotFound:
            connection = None
    if connection is None or sandbox is None:
        await send({"type": "websocket.close", "code": 1008})  # before accepting: the browser gets a 403
        return
    reader, writer = connection
    try:
        key = wsframes.new_key()
        writer.write(_upgrade_head(scope, int(match["port"]), match["rest"] or "/", key))
        await writer.drain()
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            head = b""
        accepted, subprotocol = _upgraded(head, key, list(scope.get("subprotocols") or ()))
        if not accepted:
            await send({"type": "websocket.close", "code": 1011})
            return
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        upstream = asyncio.ensure_future(_sandbox_to_browser(reader, writer, send))
        browser = asyncio.ensure_future(_browser_to_sandbox(receive, writer))
        alive = asyncio.ensure_future(_while_alive(sandbox.pk))
        done, _ = await asyncio.wait({upstream, browser, alive}, return_when=asyncio.FIRST_COMPLETED)
        for task in (upstream, browser, alive):
            task.cancel()
        # Collected, so no side's error (a browser gone mid-send) is left unretrieved.
        code, _, _ = await asyncio.gather(upstream, browser, alive, return_exceptions=True)
        if browser not in done and (alive in done or isinstance(code, int)):
            # The server closed (its code goes on), or the sandbox is gone (1001: going away).
            await send({"type": "websocket.close", "code": code if upstream in done else 1001})
    finally:
        writer.close()


async def _no_websocket(scope: dict, receive: Any, send: Any) -> None:
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 1008})


def with_previews(application: Any) -> Any:
    """The ASGI app, with ``/preview/`` (HTTP and WebSocket) answered by the preview proxy and the
    rest of HTTP by ``application``; no other WebSocket route exists, so any other is refused."""

    async def router(scope: dict, receive: Any, send: Any) -> None:
        previewed = scope["type"] in ("http", "websocket") and scope["path"].startswith(PREFIX)
        if scope["type"] == "websocket":
            await (preview_websocket if previewed else _no_websocket)(scope, receive, send)
        elif previewed:
            await preview_app(scope, receive, send)
        else:
            await application(scope, receive, send)

    return router
