"""The OpenAI-compatible client against the fake upstream: real HTTP, real SSE."""
from __future__ import annotations

import asyncio
import functools

import aiohttp
import pytest

from apps.providers.client import OpenAICompatibleModel
from apps.providers.llm import ModelConfig, ProviderError, ToolSpec
from apps.providers.testing import FakeLLMServer, Reply

CALCULATOR = ToolSpec("calculator", "Arithmetic", {"type": "object", "properties": {"expression": {"type": "string"}}})


def model_for(server: FakeLLMServer, **config) -> OpenAICompatibleModel:
    return OpenAICompatibleModel(ModelConfig(base_url=server.base_url, api_key="sk-fake", model="fake-model", **config))


async def collect(model: OpenAICompatibleModel, **kwargs) -> list:
    return [chunk async for chunk in model.stream([{"role": "user", "content": "hi"}], **kwargs)]


async def test_it_streams_content_token_by_token(fake_llm):
    fake_llm.script(Reply(text="Hello there, world."))
    chunks = await collect(model_for(fake_llm))
    contents = [chunk.text for chunk in chunks if chunk.kind == "content"]
    assert contents == ["Hello", " there,", " world."]


async def test_it_sends_the_key_model_and_usage_option(fake_llm):
    await collect(model_for(fake_llm, temperature=0.3, max_tokens=50))
    body = fake_llm.chat_requests[-1]
    assert body["model"] == "fake-model"
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.3 and body["max_tokens"] == 50
    assert fake_llm.headers[-1]["Authorization"] == "Bearer sk-fake"


async def test_it_reports_usage_from_the_last_chunk(fake_llm):
    fake_llm.script(Reply(text="ok", usage={"prompt_tokens": 11, "completion_tokens": 3, "cached_tokens": 2,
                                            "reasoning_tokens": 1}))
    usage = [chunk.usage for chunk in await collect(model_for(fake_llm)) if chunk.kind == "usage"]
    assert len(usage) == 1
    assert (usage[0].input_tokens, usage[0].output_tokens, usage[0].cached_tokens, usage[0].reasoning_tokens) == (
        11, 3, 2, 1)


async def test_it_accumulates_tool_call_deltas(fake_llm):
    fake_llm.script(Reply(tool_calls=[
        {"name": "calculator", "arguments": {"expression": "6*7"}, "id": "call_a"},
        {"name": "calculator", "arguments": {"expression": "1+1"}, "id": "call_b"},
    ]))
    chunks = await collect(model_for(fake_llm), tools=[CALCULATOR])
    calls = [chunk for chunk in chunks if chunk.kind == "tool_calls"]
    assert len(calls) == 1
    assert [(c.id, c.name, c.parsed_arguments()) for c in calls[0].tool_calls] == [
        ("call_a", "calculator", {"expression": "6*7"}),
        ("call_b", "calculator", {"expression": "1+1"}),
    ]
    assert fake_llm.chat_requests[-1]["tools"][0]["function"]["name"] == "calculator"


async def test_it_streams_reasoning_separately(fake_llm):
    fake_llm.script(Reply(reasoning="thinking hard", text="done"))
    chunks = await collect(model_for(fake_llm))
    assert "".join(c.text for c in chunks if c.kind == "reasoning") == "thinking hard"
    assert "".join(c.text for c in chunks if c.kind == "content") == "done"


async def test_it_retries_a_500_before_the_first_byte(fake_llm):
    fake_llm.script(Reply(status=500), Reply(text="second try"))
    chunks = await collect(model_for(fake_llm))
    assert "".join(c.text for c in chunks if c.kind == "content") == "second try"
    assert len(fake_llm.chat_requests) == 2


async def test_it_gives_up_after_the_retries(fake_llm, settings):
    settings.LLM_MAX_RETRIES = 1
    fake_llm.script(Reply(status=503), Reply(status=503), Reply(text="never"))
    with pytest.raises(ProviderError, match="HTTP 503"):
        await collect(model_for(fake_llm))
    assert len(fake_llm.chat_requests) == 2


async def test_it_does_not_retry_a_401(fake_llm):
    fake_llm.script(Reply(status=401), Reply(text="never"))
    with pytest.raises(ProviderError, match="rejected the API key"):
        await collect(model_for(fake_llm))
    assert len(fake_llm.chat_requests) == 1


async def test_it_times_out_on_a_silent_upstream(fake_llm, settings):
    settings.LLM_READ_TIMEOUT = 0.2
    fake_llm.script(Reply(text="too slow", delay=1.0))
    with pytest.raises(ProviderError, match="did not answer in time"):
        await collect(model_for(fake_llm))


async def test_it_reports_a_dropped_connection(fake_llm, settings):
    settings.LLM_MAX_RETRIES = 0
    fake_llm.script(Reply(text="one two three four", drop_after=3))
    with pytest.raises(ProviderError, match="closed the connection"):
        await collect(model_for(fake_llm))


async def test_it_reports_an_unreachable_provider():
    server = FakeLLMServer()  # bound but never served: nothing answers once closed
    base_url = server.base_url
    server.stop()
    model = OpenAICompatibleModel(ModelConfig(base_url=base_url, api_key="k", model="m", allow_private_network=True))
    with pytest.raises(ProviderError, match="Could not connect"):
        await collect(model)


async def test_it_completes_without_streaming(fake_llm):
    fake_llm.script(Reply(text="plain answer"))
    assert await model_for(fake_llm).complete([{"role": "user", "content": "hi"}]) == "plain answer"
    assert fake_llm.chat_requests[-1]["stream"] is False


async def test_a_loop_that_keeps_a_session_reuses_it_and_any_other_loop_closes_its_own(fake_llm, monkeypatch):
    from apps.providers import client

    made = []
    real = aiohttp.ClientSession.__init__

    def init(self, *args, **kwargs):
        made.append(self)
        real(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", init)
    # A loop that may end after the call (a task's async_to_sync): a session per call, closed after it.
    assert client.http_client() is None
    await collect(model_for(fake_llm))
    await model_for(fake_llm).complete([{"role": "user", "content": "hi"}])
    assert len(made) == 2 and all(session.closed for session in made)

    # The run worker's loop: one session for every call, connections kept alive between them.
    client.keep_session_on(asyncio.get_running_loop())
    first = client.http_client()
    await collect(model_for(fake_llm))
    await collect(model_for(fake_llm))
    assert client.http_client() is first and not first.closed and len(made) == 3
    # The upstream connection stays open for the next call.
    assert sum(len(kept) for kept in first.connector._conns.values()) == 1
    await client.aclose_http_client()
    assert first.closed and client.http_client() is not first
    await client.aclose_http_client()


async def test_the_warm_up_streams_through_the_pooled_client_from_a_loopback_answer(monkeypatch):
    from apps.providers import client

    seen = []
    real = OpenAICompatibleModel.stream

    async def stream(self, messages, **kwargs):
        async for chunk in real(self, messages, **kwargs):
            seen.append(chunk)
            yield chunk

    monkeypatch.setattr(OpenAICompatibleModel, "stream", stream)
    client.keep_session_on(asyncio.get_running_loop())
    await client.warm_stream()
    # The whole path ran: the HTTP request, the SSE parse, the end of the answer.
    assert [chunk.kind for chunk in seen] == ["content", "usage"] and seen[0].text == "ok"
    # The loopback server said ``Connection: close``: the pool keeps nothing pointing at it.
    assert not client.http_client().connector._conns
    await client.aclose_http_client()


async def test_it_goes_through_the_environments_proxy_unless_no_proxy_exempts_the_host(fake_llm, monkeypatch):
    from apps.providers import client

    # The fake answers a proxied request too: an HTTP proxy is sent the whole URL as the path.
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{fake_llm.port}")
    monkeypatch.setenv("NO_PROXY", "exempt.invalid")
    monkeypatch.setattr(client, "_env_proxies", functools.cache(client._env_proxies.__wrapped__))
    model = OpenAICompatibleModel(ModelConfig(base_url="http://llm.invalid/v1", api_key="k", model="m",
                                              allow_private_network=True))
    fake_llm.script(Reply(text="proxied"))
    assert "".join(c.text for c in await collect(model) if c.kind == "content") == "proxied"
    assert fake_llm.headers[-1]["Host"] == "llm.invalid"

    exempt = OpenAICompatibleModel(ModelConfig(base_url="http://exempt.invalid/v1", api_key="k", model="m",
                                               allow_private_network=True))
    with pytest.raises(ProviderError, match="Could not connect"):
        await collect(exempt)  # straight to a host that does not exist


def _tls_files(directory, host: str) -> tuple[str, str, str]:
    """A CA, and a certificate it signed for ``host``: (CA file, certificate file, key file)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
          .public_key(ca_key.public_key()).serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name(host)).issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(2).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False).sign(ca_key, hashes.SHA256()))
    paths = [str(directory / f) for f in ("ca.pem", "cert.pem", "key.pem")]
    for path, data in zip(paths, (ca.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.PEM),
                                  key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption())), strict=True):
        with open(path, "wb") as file:
            file.write(data)
    return paths[0], paths[1], paths[2]


@pytest.mark.parametrize("certified", ["llm.test", "other.test"])
async def test_tls_to_the_pinned_address_names_and_verifies_the_providers_host(tmp_path, settings, monkeypatch, certified):
    import ssl

    from aiohttp import web

    from apps.core import fetch
    from apps.providers import client

    settings.FETCH_ALLOW_LOOPBACK, settings.LLM_MAX_RETRIES = True, 0
    ca_file, cert_file, key_file = _tls_files(tmp_path, certified)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    names = []
    server_tls.sni_callback = lambda sock, server_name, context: names.append(server_name)
    hosts = []

    async def answer(request: web.Request) -> web.StreamResponse:
        hosts.append(request.headers["Host"])
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b'data: {"choices":[{"delta":{"content":"secure"},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n')
        return response

    app = web.Application()
    app.router.add_post("/v1/chat/completions", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]

    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"] if host == "llm.test" else []

    monkeypatch.setattr(fetch, "resolve", resolve)
    monkeypatch.setattr(client, "_tls_context", lambda: ssl.create_default_context(cafile=ca_file))
    model = OpenAICompatibleModel(ModelConfig(base_url=f"https://llm.test:{port}/v1", api_key="k", model="m"))
    try:
        if certified == "llm.test":
            assert "".join(c.text for c in await collect(model) if c.kind == "content") == "secure"
            assert hosts == [f"llm.test:{port}"]
        else:  # a certificate for another host is refused, though the address is the pinned one
            with pytest.raises(ProviderError, match="Could not connect"):
                await collect(model)
            assert hosts == []
        assert names == ["llm.test"]
    finally:
        await runner.cleanup()
