"""A fake OpenAI-compatible server for tests (and benchmarks), on 127.0.0.1 with real HTTP and real SSE.

Scripted per test: text answers split in tokens, tool calls streamed in deltas,
usage in the last chunk, HTTP errors, slow tokens and dropped connections. It
records every request it gets. Import it from any app's tests, or use the
``fake_llm`` fixture of the root conftest::

    fake_llm.script(Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "2+2"}}]),
                    Reply(text="It is 4."))
    provider = fake_llm.make_provider(owner=alice)
"""
from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

FAKE_MODEL = "fake-model"


@dataclass
class Reply:
    """One scripted answer of the fake server."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "arguments": dict|str, "id"?}]
    reasoning: str = ""
    status: int = 200  # an HTTP error status answers an OpenAI-style error body instead
    error_message: str = "fake upstream error"
    delay: float = 0.0  # seconds before each streamed chunk
    first_byte_delay: float = 0.0  # seconds before the response headers
    drop_after: int | None = None  # close the connection after this many chunks, mid-answer
    usage: dict[str, int] | None = None  # prompt/completion/cached/reasoning tokens; computed when None
    tokens: list[str] | None = None  # an explicit token split of ``text``

    def split(self) -> list[str]:
        return self.tokens if self.tokens is not None else re.findall(r"\s*\S+", self.text)

    def usage_body(self, request: dict[str, Any]) -> dict[str, Any]:
        usage = self.usage or {}
        prompt = usage.get("prompt_tokens", max(1, len(json.dumps(request.get("messages", []))) // 4))
        completion = usage.get("completion_tokens", max(1, len(self.split()) + len(self.tool_calls)))
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": usage.get("cached_tokens", 0)},
            "completion_tokens_details": {"reasoning_tokens": usage.get("reasoning_tokens", 0)},
        }


class FakeLLMServer:
    """A threaded HTTP/1.1 server speaking enough of the OpenAI API for the runtime."""

    def __init__(self, *, api_key: str | None = None, default: Reply | None = None, port: int = 0,
                 record: bool = True):
        self.api_key = api_key
        self.default = default or Reply(text="Hello from the fake model.")
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.recording = record
        # What GET /models lists; tests may add OpenRouter-style entries with ``pricing``.
        self.models: list[dict[str, Any]] = [{"id": FAKE_MODEL, "object": "model", "owned_by": "fake"}]
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self), bind_and_activate=False)
        self._server.daemon_threads = True
        self._server.request_queue_size = 1024
        self._server.server_bind()
        self._server.server_activate()
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-llm", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command line); tests use :meth:`start`."""
        self._server.serve_forever()

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def script(self, *replies: Reply | str) -> None:
        """Queue replies, one per chat request; a string is a text reply. When empty, ``default`` answers."""
        with self._lock:
            self._replies.extend(Reply(text=reply) if isinstance(reply, str) else reply for reply in replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else self.default

    def record(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        if not self.recording:
            return
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [body for body in self.requests if "messages" in body]

    def make_provider(self, *, owner: Any = None, is_default: bool = True, **fields: Any) -> Any:
        """An LLMProvider row pointing at this server (on loopback, so as staff would set it up)."""
        from apps.providers.models import LLMProvider

        values = {"name": "Fake upstream", "base_url": self.base_url, "api_key": self.api_key or "sk-fake-key",
                  "model": FAKE_MODEL, "allow_private_network": True, **fields}
        return LLMProvider.objects.create(owner=owner, is_default=is_default, **values)


def _chunk(reply_id: str, delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": reply_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": FAKE_MODEL,
            "choices": choices, **extra}


def _stream_chunks(reply: Reply, request: dict[str, Any]) -> list[dict[str, Any]]:
    reply_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
    chunks = [_chunk(reply_id, {"role": "assistant", "content": ""})]
    for piece in re.findall(r"\s*\S+", reply.reasoning):
        chunks.append(_chunk(reply_id, {"reasoning_content": piece}))
    for token in reply.split():
        chunks.append(_chunk(reply_id, {"content": token}))
    for index, call in enumerate(reply.tool_calls):
        arguments = call.get("arguments", {})
        arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
        call_id = call.get("id") or f"call_{uuid.uuid4().hex[:8]}"
        chunks.append(_chunk(reply_id, {"tool_calls": [
            {"index": index, "id": call_id, "type": "function", "function": {"name": call["name"], "arguments": ""}}
        ]}))
        middle = max(1, len(arguments) // 2)
        for piece in (arguments[:middle], arguments[middle:]):
            if piece:
                chunks.append(_chunk(reply_id, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}))
    chunks.append(_chunk(reply_id, {}, finish="tool_calls" if reply.tool_calls else "stop"))
    if (request.get("stream_options") or {}).get("include_usage"):
        chunks.append(_chunk(reply_id, None, usage=reply.usage_body(request)))
    return chunks


def _completion(reply: Reply, request: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": call.get("id") or f"call_{index}", "type": "function",
             "function": {"name": call["name"], "arguments": call["arguments"] if isinstance(call["arguments"], str)
                          else json.dumps(call["arguments"])}}
            for index, call in enumerate(reply.tool_calls)
        ]
    return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": FAKE_MODEL, "choices": [{"index": 0, "message": message,
                                              "finish_reason": "tool_calls" if reply.tool_calls else "stop"}],
            "usage": reply.usage_body(request)}


def _handler_for(server: FakeLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # Small SSE writes must leave at once, not wait for Nagle's algorithm.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except OSError:
                # The client went away mid-answer (a stopped run, a timeout test): nothing to report.
                self.close_connection = True

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorised(self) -> bool:
            if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                self._json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                           "code": "invalid_api_key"}})
                return False
            return True

        def do_GET(self) -> None:
            if not self._authorised():
                return
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": server.models})
            else:
                self._json(404, {"error": {"message": "Not found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"raw": raw.decode("utf-8", "replace")}
            server.record(body, dict(self.headers))
            if not self._authorised():
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._json(404, {"error": {"message": "Not found"}})
                return
            reply = server.next_reply()
            if reply.first_byte_delay:
                time.sleep(reply.first_byte_delay)
            if reply.status >= 400:
                self._json(reply.status, {"error": {"message": reply.error_message, "type": "server_error"}})
                return
            if not body.get("stream"):
                self._json(200, _completion(reply, body))
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for sent, chunk in enumerate(_stream_chunks(reply, body)):
                if reply.drop_after is not None and sent >= reply.drop_after:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if reply.delay:
                    time.sleep(reply.delay)
                self._send(f"data: {json.dumps(chunk)}\n\n")
            self._send("data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

        def _send(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    return Handler


def main() -> None:
    """Serve the fake upstream on its own (benchmarks run it in a separate process, away from the GIL
    of the load client): ``python -m apps.providers.testing --port 8999 --tokens 100 --delay 0.01``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--tokens", type=int, default=50, help="words in every answer")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each chunk")
    args = parser.parse_args()
    reply = Reply(text=" ".join(f"token{i}" for i in range(args.tokens)), delay=args.delay)
    server = FakeLLMServer(default=reply, port=args.port, record=False)
    print(f"fake OpenAI-compatible upstream on {server.base_url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
