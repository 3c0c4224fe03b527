"""WebSocket previews on daphne: a stdlib echo server inside a sandbox, a real client outside.

The server speaks RFC 6455 itself (the sandbox's python has only the standard library), so
what the test sees is what crossed the platform's bridge: the handshake it made, masked
frames, fragments joined, pings answered, close codes passed on. The session that serves the
WebSocket still reaches no host address.
"""
from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from apps.sandboxes import proxy, services
from apps.sandboxes.models import Sandbox
from apps.sandboxes.tests.conftest import needs_bwrap

pytestmark = [pytest.mark.django_db(transaction=True), needs_bwrap]

ECHO_SERVER = r'''
import base64, hashlib, json, os, socket, struct, sys, threading

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PORTS = [int(port) for port in sys.argv[1:]]


def exact(conn, size):
    data = b""
    while len(data) < size:
        more = conn.recv(size - len(data))
        if not more:
            raise EOFError
        data += more
    return data


def send(conn, opcode, payload, fin=True):
    head = bytes([(0x80 if fin else 0) | opcode])
    if len(payload) < 126:
        head += bytes([len(payload)])
    elif len(payload) < 65536:
        head += bytes([126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([127]) + struct.pack("!Q", len(payload))
    conn.sendall(head + payload)


def receive(conn):
    first, second = exact(conn, 2)
    size = second & 0x7F
    if size == 126:
        size = struct.unpack("!H", exact(conn, 2))[0]
    elif size == 127:
        size = struct.unpack("!Q", exact(conn, 8))[0]
    mask = exact(conn, 4) if second & 0x80 else b"\0\0\0\0"
    data = exact(conn, size)
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "big")
    data = (int.from_bytes(data, "big") ^ key).to_bytes(size, "big") if size else b""
    return first & 0x0F, data, bool(second & 0x80)


def probe():
    results = []
    for port in PORTS:
        with socket.socket() as client:
            results.append(client.connect_ex(("127.0.0.1", port)))
    return results


def serve(conn):
    head = b""
    while b"\r\n\r\n" not in head:
        head += conn.recv(4096)
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:] if line)}
    accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + GUID).digest()).decode()
    protocol = headers.get("sec-websocket-protocol", "").split(",")[0].strip()
    answer = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    answer += "Sec-WebSocket-Accept: " + accept + "\r\n" + ("Sec-WebSocket-Protocol: " + protocol + "\r\n" if protocol else "")
    conn.sendall((answer + "\r\n").encode())
    send(conn, 1, json.dumps({"request": lines[0], "headers": headers}).encode())
    while True:
        opcode, data, masked = receive(conn)
        if not masked:
            send(conn, 8, struct.pack("!H", 1002))
            return
        if opcode == 8:
            send(conn, 8, data[:2])
            return
        if data == b"probe":
            send(conn, 1, json.dumps(probe()).encode())
        elif data == b"fragments":
            send(conn, 1, b"frag", fin=False)
            send(conn, 0, b"mented")
        elif data == b"ping me":
            send(conn, 9, b"are you there")
            opcode, answer, _ = receive(conn)
            send(conn, 1, b"pong: " + answer if opcode == 10 else b"no pong")
        elif data == b"bye":
            send(conn, 8, struct.pack("!H", 4001) + b"see you")
            receive(conn)
            return
        else:
            send(conn, opcode, b"echo: " + data if opcode == 1 else data)


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 8765))
listener.listen(8)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
'''


def start_echo(sandbox, *ports: int) -> str:
    """The echo server in a session of ``sandbox``, probing ``ports``; its preview path."""
    services.file_write(sandbox=sandbox, path="echo.py", data=ECHO_SERVER.encode())
    services.session_start(sandbox=sandbox, name="ws", command=f"python3 echo.py {' '.join(map(str, ports))}", port=8765)
    return services.preview_path(sandbox=sandbox, port=8765)


@pytest.fixture
def echo(sandbox, host_port, daphne):
    # The ports it probes from inside: a listening host port, Redis, PostgreSQL, and the platform's
    # own (daphne, bridging this very server).
    return "ws" + daphne.url[4:] + start_echo(sandbox, host_port, 6379, 5432, int(daphne.url.rsplit(":", 1)[1]))


def open_socket(url: str, **kwargs):
    deadline = time.monotonic() + 60  # the server inside takes a moment to listen, longer on a loaded machine
    while True:
        try:
            return connect(url, open_timeout=10, **kwargs)
        except InvalidStatus:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_a_websocket_server_in_the_sandbox_is_bridged_message_by_message(echo, host_port):
    secret = {"Cookie": "sessionid=platform-secret", "Authorization": "Bearer platform-secret"}
    with open_socket(echo + "live?room=1", subprotocols=["chat.v1"], additional_headers=secret) as ws:
        assert ws.subprotocol == "chat.v1"
        seen = json.loads(ws.recv(timeout=10))
        assert seen["request"] == "GET /live?room=1 HTTP/1.1"
        assert seen["headers"]["host"] == "localhost:8765"
        # The platform's credentials and the browser's handshake never reach the sandbox.
        assert "cookie" not in seen["headers"] and "authorization" not in seen["headers"]
        assert "origin" not in seen["headers"] and "sec-websocket-extensions" not in seen["headers"]

        ws.send("héllo")
        assert ws.recv(timeout=10) == "echo: héllo"
        big = bytes(range(256)) * 800  # 200 KiB: a 64-bit length, both ways
        ws.send(big)
        assert ws.recv(timeout=10) == big
        ws.send("fragments")
        assert ws.recv(timeout=10) == "fragmented"
        ws.send("ping me")
        assert ws.recv(timeout=10) == "pong: are you there"
        # While bridged to the browser, the server still reaches nothing on the host.
        ws.send("probe")
        refused = json.loads(ws.recv(timeout=10))
        assert refused == [111, 111, 111, 111], refused  # ECONNREFUSED: its own loopback, where nothing listens


def test_the_servers_close_code_reaches_the_browser(echo):
    with open_socket(echo) as ws:
        ws.recv(timeout=10)
        ws.send("bye")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd.code == 4001


def test_websocket_previews_need_a_valid_token_for_that_sandbox_and_port(alice, bob, sandbox, echo, daphne):
    with open_socket(echo) as ws:  # the server listens: only the token decides below
        ws.recv(timeout=10)
    good = echo.split("/preview/")[1]
    sandbox_id, port, token = good.split("/")[:3]
    other = services.sandbox_create(user=bob, template_id="python")
    base = "ws" + daphne.url[4:]
    refused = [
        f"{base}/preview/{sandbox_id}/{port}/forged:token/",
        f"{base}/preview/{sandbox_id}/8000/{token}/",
        f"{base}/preview/{other.public_id}/{port}/{token}/",
        f"{base}/preview/{sandbox_id}/{port}/",
        f"{base}/api/anything",  # no other WebSocket route exists
    ]
    for url in refused:
        with pytest.raises(InvalidStatus) as rejected:
            connect(url, open_timeout=10)
        assert rejected.value.response.status_code == 403, url
    services.sandbox_delete(sandbox=sandbox)
    with pytest.raises(InvalidStatus):
        connect(echo, open_timeout=10)


def test_a_server_that_does_not_complete_the_handshake_is_refused(sandbox, daphne):
    services.session_start(sandbox=sandbox, name="web", command="python3 -m http.server 8000 --bind 127.0.0.1", port=8000)
    path = services.preview_path(sandbox=sandbox, port=8000)
    with daphne.client() as http:
        for _ in range(200):
            if http.get(path).status_code == 200:  # it listens, and answers plain HTTP
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the preview server never answered")
    with pytest.raises(InvalidStatus) as rejected:
        connect("ws" + daphne.url[4:] + path, open_timeout=10)
    assert rejected.value.response.status_code == 403  # its answer is no 101 with our key's accept


async def test_an_open_websocket_keeps_its_sandbox_in_use_and_closes_when_it_ends(sandbox, monkeypatch):
    monkeypatch.setattr(proxy, "WS_USE_INTERVAL", 0.1)
    path = await sync_to_async(start_echo)(sandbox, 6379)
    sent: asyncio.Queue = asyncio.Queue()
    deadline = time.monotonic() + 60  # a loaded machine can take many seconds to start python in the sandbox
    while True:  # straight on the ASGI app, until the server inside listens
        received: asyncio.Queue = asyncio.Queue()
        received.put_nowait({"type": "websocket.connect"})
        scope = {"type": "websocket", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": [],
                 "subprotocols": []}
        app = asyncio.ensure_future(proxy.with_previews(None)(scope, received.get, sent.put))
        first = await asyncio.wait_for(sent.get(), 10)
        if first["type"] == "websocket.accept":
            break
        await app
        if time.monotonic() > deadline:
            session = await sync_to_async(sandbox.sessions.get)(name="ws")
            log = await sync_to_async(services.session_log)(session=session)
            raise AssertionError(f"the WebSocket preview never opened: {first}; the server printed {log[-2000:]!r}")
        await asyncio.sleep(0.1)
    assert json.loads((await asyncio.wait_for(sent.get(), 10))["text"])["request"].startswith("GET / HTTP/1.1")
    long_ago = timezone.now() - timedelta(hours=5)
    await sync_to_async(Sandbox.objects.filter(pk=sandbox.pk).update)(last_used_at=long_ago)
    for _ in range(100):
        await asyncio.sleep(0.1)
        if (await sync_to_async(Sandbox.objects.get)(pk=sandbox.pk)).last_used_at > long_ago:
            break
    else:
        raise AssertionError("an open WebSocket did not count as use")
    # The sandbox ends (as an expiry marks it): the browser's socket closes with 1001, going away.
    await sync_to_async(Sandbox.objects.filter(pk=sandbox.pk).update)(status=Sandbox.Status.EXPIRED)
    try:
        assert await asyncio.wait_for(sent.get(), 10) == {"type": "websocket.close", "code": 1001}
        await asyncio.wait_for(app, 10)
    finally:
        await sync_to_async(services.sandbox_stop)(sandbox=sandbox, status=Sandbox.Status.STOPPED, keep_files=False)
