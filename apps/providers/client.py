"""One client for every OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, OpenRouter).

Streams ``/chat/completions`` over SSE with aiohttp: the token path of every run, where aiohttp
spends about a quarter of httpx's CPU per streamed answer (bench/README.md). A loop that lives as
long as its process (the run worker's, :func:`keep_session_on`) keeps one pooled session, whose
kept-alive upstream connections the stream relay depends on for a low time to first token; on
any other loop (a task's ``async_to_sync``, a request) each call opens and closes its own.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import urllib.request
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import aiohttp
import certifi
from django.conf import settings

from apps.core.fetch import FetchRefused, checked_address, pinned_url
from apps.providers.llm import (
    ModelChunk,
    ModelConfig,
    ProviderError,
    Source,
    ToolCall,
    ToolSpec,
    Usage,
    estimate_tokens,
    message_text,
)

logger = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
_POOL_WAIT_SECONDS = 30.0
_kept: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aiohttp.ClientSession | None] = weakref.WeakKeyDictionary()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~10 ms of CPU: once per process, not once per session.
    return ssl.create_default_context(cafile=certifi.where())


def _new_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1000, keepalive_timeout=60, ssl=_tls_context()),
        # Never a cookie: one session serves every user's providers.
        cookie_jar=aiohttp.DummyCookieJar(),
        # Not trust_env: it reads ~/.netrc (credentials for any host) and the proxy variables in
        # two thread hops on every request. The proxy variables are read once (_proxy_for).
    )


@functools.cache
def _env_proxies() -> dict[str, str]:
    return urllib.request.getproxies()


def _proxy_for(url: str) -> str | None:
    """The ``HTTP_PROXY``/``HTTPS_PROXY`` proxy for ``url`` unless ``NO_PROXY`` exempts its host."""
    proxies = _env_proxies()
    if not proxies:
        return None
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxies.get(parts.scheme)


def keep_session_on(loop: asyncio.AbstractEventLoop) -> None:
    """Pool one session on ``loop`` for every call made on it; for a loop that is never closed."""
    _kept.setdefault(loop, None)


def http_client() -> aiohttp.ClientSession | None:
    """The pooled session of the running loop, made on first use; ``None`` on a loop that keeps none."""
    loop = asyncio.get_running_loop()
    if loop not in _kept:
        return None
    session = _kept[loop]
    if session is None or session.closed:
        session = _kept[loop] = _new_session()
    return session


@asynccontextmanager
async def _session() -> AsyncIterator[aiohttp.ClientSession]:
    kept = http_client()
    if kept is not None:
        yield kept
        return
    # A loop that may close after this call: a session left open on it would be collected unclosed.
    async with _new_session() as session:
        yield session


def _timeout() -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None,
        sock_connect=settings.LLM_CONNECT_TIMEOUT,
        connect=settings.LLM_CONNECT_TIMEOUT + _POOL_WAIT_SECONDS,  # a free connection of the pool, then the connect
        sock_read=settings.LLM_READ_TIMEOUT,
    )


_STATUS_SUMMARIES = {
    400: "The provider refused the request (HTTP 400).",
    401: "The provider rejected the API key (HTTP 401).",
    402: "The provider asks for payment or credit (HTTP 402).",
    403: "The provider refused access (HTTP 403).",
    404: "The provider does not know this model or endpoint (HTTP 404).",
    413: "The request was too large for the provider (HTTP 413).",
    429: "The provider is rate limiting this key (HTTP 429).",
}


def _upstream_message(status: int, body: bytes) -> str:
    """A summary of an upstream error by its status. The body is logged, never echoed: the
    URL is the user's choice, and an echoed body would read any internal page back to them."""
    logger.info("provider error HTTP %s: %s", status, body[:500])
    if status in _STATUS_SUMMARIES:
        return _STATUS_SUMMARIES[status]
    if status >= 500:
        return f"The provider had an internal error (HTTP {status})."
    return f"The provider answered HTTP {status}."


async def _outbound(config: ModelConfig, url: str, headers: dict[str, str]) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL, headers and request options to call: unless the provider may reach private networks,
    every address the host resolves to is checked and the connection pinned to the checked one."""
    if config.allow_private_network:
        return url, headers, {}
    try:
        host, address, port = await checked_address(url)
    except FetchRefused as exc:
        raise ProviderError(
            "The provider's address is not allowed: only public addresses can be called "
            "(an administrator can allow a private one)."
        ) from exc
    pinned_headers = {**headers, "Host": host if port in (80, 443) else f"{host}:{port}"}
    # TLS to the pinned address still names, and verifies, the provider's host.
    options = {"server_hostname": host} if url.startswith("https") else {}
    return pinned_url(url, address, port), pinned_headers, options


class OpenAICompatibleModel:
    """A :class:`~apps.providers.llm.ChatModel` for one configured endpoint and model."""

    def __init__(self, config: ModelConfig):
        self.config = config
        self.model_name = config.model
        self.provider_id: UUID | None = config.provider_id

    @property
    def _url(self) -> str:
        return self.config.base_url.rstrip("/") + "/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream", "Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    def _body(self, messages: list[dict[str, Any]], *, stream: bool, max_tokens: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.config.model, "messages": messages, "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        for name in ("temperature", "top_p", "presence_penalty"):
            value = getattr(self.config, name)
            if value is not None:
                body[name] = value
        limit = max_tokens or self.config.max_tokens
        if limit:
            body["max_tokens"] = limit
        return body

    async def _backoff(self, attempt: int) -> None:
        await asyncio.sleep(min(0.2 * (2**attempt), 2.0))

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: Sequence[ToolSpec] = (),
        sources: Sequence[Source] = (),
    ) -> AsyncIterator[ModelChunk]:
        # ``sources`` are already in the messages as text; real models read them there.
        body = self._body(messages, stream=True)
        if tools:
            body["tools"] = [tool.as_openai() for tool in tools]
        retries = settings.LLM_MAX_RETRIES
        attempt = 0
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        while True:
            started = False
            try:
                url, headers, options = await _outbound(self.config, self._url, self._headers())
                async with _session() as session, session.post(
                    url, data=data, headers=headers, timeout=_timeout(), allow_redirects=False,
                    proxy=_proxy_for(url), **options,
                ) as response:
                    if response.status >= 400:
                        payload = await response.read()
                        if response.status in _RETRY_STATUSES and attempt < retries:
                            attempt += 1
                            await self._backoff(attempt)
                            continue
                        raise ProviderError(_upstream_message(response.status, payload), status=response.status)
                    async for chunk in self._parse(response, messages):
                        started = True
                        yield chunk
                    return
            except ProviderError:
                raise
            except aiohttp.ConnectionTimeoutError as exc:
                if attempt < retries:
                    attempt += 1
                    continue
                raise ProviderError("The provider did not answer in time.") from exc
            except TimeoutError as exc:  # aiohttp's read timeout is one too
                raise ProviderError("The provider did not answer in time.") from exc
            except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
                    aiohttp.ClientOSError) as exc:
                # Safe to retry only before the first byte reached the caller.
                if not started and attempt < retries:
                    attempt += 1
                    await self._backoff(attempt)
                    continue
                if isinstance(exc, aiohttp.ClientConnectorError):
                    raise ProviderError("Could not connect to the provider.") from exc
                raise ProviderError("The provider closed the connection mid-answer.") from exc
            except aiohttp.ClientError as exc:
                raise ProviderError(f"The provider request failed ({type(exc).__name__}).") from exc

    async def _parse(self, response: aiohttp.ClientResponse, messages: list[dict[str, Any]]) -> AsyncIterator[ModelChunk]:
        calls: dict[int, dict[str, str]] = {}
        usage: Usage | None = None
        output_chars = 0
        finished = False
        async for data in _sse_data(response):
            if data == b"[DONE]":
                finished = True
                break
            try:
                payload = json.loads(data)
            except ValueError:
                continue
            if not isinstance(payload, dict):
                continue
            if payload.get("error"):
                error = payload["error"]
                message = error.get("message") if isinstance(error, dict) else str(error)
                logger.info("provider error in stream: %s", str(message)[:500])
                raise ProviderError("The provider reported an error mid-answer.")
            if payload.get("usage"):
                usage = _usage(payload["usage"])
            for choice in payload.get("choices") or ():
                delta = choice.get("delta") or {}
                text = delta.get("content")
                if text:
                    output_chars += len(text)
                    yield ModelChunk("content", text=text)
                reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                if reasoning:
                    output_chars += len(reasoning)
                    yield ModelChunk("reasoning", text=reasoning)
                for part in delta.get("tool_calls") or ():
                    slot = calls.setdefault(int(part.get("index", len(calls))), {"id": "", "name": "", "arguments": ""})
                    if part.get("id"):
                        slot["id"] = part["id"]
                    function = part.get("function") or {}
                    if function.get("name"):
                        slot["name"] += function["name"]
                    if function.get("arguments"):
                        slot["arguments"] += function["arguments"]
                if choice.get("finish_reason"):
                    finished = True
        if not finished:
            raise ProviderError("The provider closed the connection mid-answer.")
        if calls:
            yield ModelChunk(
                "tool_calls",
                tool_calls=tuple(
                    ToolCall(id=slot["id"] or f"call_{index}", name=slot["name"], arguments=slot["arguments"] or "{}")
                    for index, slot in sorted(calls.items())
                ),
            )
        if usage is None:
            prompt = "".join(message_text(message) for message in messages)
            usage = Usage(input_tokens=estimate_tokens(prompt), output_tokens=max(1, output_chars // 4))
        yield ModelChunk("usage", usage=usage)

    async def complete(self, messages: list[dict[str, Any]], *, max_tokens: int | None = None) -> str:
        """One non-streaming completion: the answer text."""
        body = self._body(messages, stream=False, max_tokens=max_tokens)
        url, headers, options = await _outbound(self.config, self._url, self._headers())
        try:
            async with _session() as session, session.post(
                url, json=body, headers=headers, timeout=_timeout(), allow_redirects=False,
                proxy=_proxy_for(url), **options,
            ) as response:
                status, content = response.status, await response.read()
        except TimeoutError as exc:
            raise ProviderError("The provider did not answer in time.") from exc
        except aiohttp.ClientConnectorError as exc:
            raise ProviderError("Could not connect to the provider.") from exc
        except aiohttp.ClientError as exc:
            raise ProviderError(f"The provider request failed ({type(exc).__name__}).") from exc
        if status >= 400:
            raise ProviderError(_upstream_message(status, content), status=status)
        try:
            message = json.loads(content)["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProviderError("The provider answered something that is not a chat completion.") from exc
        return message.get("content") or ""


async def _sse_data(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The ``data:`` payloads of an SSE body, split on bytes: this is the token hot path,
    and text line decoding costs several times more CPU per token."""
    pending = b""
    async for piece in response.content.iter_any():
        pending += piece
        if b"\n" not in piece:
            continue
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.startswith(b"data:"):
                yield line[5:].strip()
    if pending.startswith(b"data:"):
        yield pending[5:].strip()


def _usage(raw: dict[str, Any]) -> Usage:
    prompt_details = raw.get("prompt_tokens_details") or {}
    completion_details = raw.get("completion_tokens_details") or {}
    return Usage(
        input_tokens=int(raw.get("prompt_tokens") or 0),
        output_tokens=int(raw.get("completion_tokens") or 0),
        cached_tokens=int(prompt_details.get("cached_tokens") or 0),
        reasoning_tokens=int(completion_details.get("reasoning_tokens") or 0),
    )


_WARM_ANSWER = b'data: {"choices":[{"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'


async def _warm_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(_WARM_ANSWER), _WARM_ANSWER))
        await writer.drain()
    finally:
        writer.close()


async def warm_stream() -> None:
    """Stream one completion from a throwaway server on this loop's loopback, through the pooled
    session and :meth:`OpenAICompatibleModel.stream`: the first request on a loop pays for
    first-use paths (the session, its connector, the parser), which the first run would otherwise
    pay. No provider is called."""
    server = await asyncio.start_server(_warm_server, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        model = OpenAICompatibleModel(ModelConfig(base_url=f"http://127.0.0.1:{port}/v1", api_key="",
                                                  model="warm-up", allow_private_network=True))
        async for _ in model.stream([{"role": "user", "content": "warm-up"}]):
            pass
    finally:
        server.close()
        await server.wait_closed()


async def aclose_http_client() -> None:
    """Close the running loop's pooled session (a new one is made on the next call)."""
    loop = asyncio.get_running_loop()
    session = _kept.get(loop)
    if session is not None:
        _kept[loop] = None
        await session.close()
