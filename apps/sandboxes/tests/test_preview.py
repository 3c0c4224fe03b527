"""Previews: a server inside the sandbox answers through /preview/... while the sandbox stays offline."""
from __future__ import annotations

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.core import signing

from apps.sandboxes import services
from apps.sandboxes.proxy import _PATH, PREVIEW_CSP, with_previews
from apps.sandboxes.tests.conftest import needs_bwrap

pytestmark = [pytest.mark.django_db(transaction=True), needs_bwrap]


async def not_django(scope, receive, send):
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b"django"})


async def get(path: str, **kwargs) -> httpx.Response:
    transport = httpx.ASGITransport(app=with_previews(not_django))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.request(kwargs.pop("method", "GET"), path, **kwargs)


async def wait_until_served(path: str) -> httpx.Response:
    # The server inside takes a moment to listen: retry on 502, a bounded number of times.
    for _ in range(200):
        response = await get(path)
        if response.status_code != 502:
            return response
        await sync_to_async(lambda: None)()
    raise AssertionError("the preview server never answered")


async def test_a_server_in_the_sandbox_is_previewed_and_the_sandbox_stays_offline(sandbox, host_port):
    probe = (
        "import socket\n"
        f"results = [str(socket.socket().connect_ex(('127.0.0.1', {host_port}))), str(socket.socket().connect_ex(('127.0.0.1', 6379)))]\n"
        "open('probe.txt', 'w').write(' '.join(results))\n"
    )
    await sync_to_async(services.file_write)(sandbox=sandbox, path="probe.py", data=probe.encode())
    await sync_to_async(services.file_write)(sandbox=sandbox, path="index.html", data=b"<h1>Hello from the sandbox</h1>")
    await sync_to_async(services.session_start)(
        sandbox=sandbox, name="web", command="python3 probe.py; python3 -m http.server 8000 --bind 127.0.0.1", port=8000
    )
    path = await sync_to_async(services.preview_path)(sandbox=sandbox, port=8000)
    response = await wait_until_served(path + "index.html?x=1")
    assert response.status_code == 200
    assert response.text == "<h1>Hello from the sandbox</h1>"
    assert response.headers["content-security-policy"] == PREVIEW_CSP.decode()
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "set-cookie" not in response.headers
    # The same session that serves the preview cannot reach the host: its own loopback only.
    probe_result = await sync_to_async(services.file_read)(sandbox=sandbox, path="probe.txt")
    assert probe_result.decode().split() == ["111", "111"]
    missing = await get(path + "nope.html")
    assert missing.status_code == 404  # the server's own 404, proxied


async def test_previews_need_a_valid_token_for_that_sandbox_and_port(alice, bob, sandbox):
    other = await sync_to_async(services.sandbox_create)(user=bob, template_id="python")
    good = await sync_to_async(services.preview_path)(sandbox=sandbox, port=8000)
    token = good.split("/")[4]
    assert (await get(f"/preview/{sandbox.public_id}/8000/forged:token/")).status_code == 404
    assert (await get(f"/preview/{sandbox.public_id}/8001/{token}/")).status_code == 404
    assert (await get(f"/preview/{other.public_id}/8000/{token}/")).status_code == 404
    assert (await get(f"/preview/{sandbox.public_id}/8000/")).status_code == 404
    assert (await get(good)).status_code == 502  # authorised, but nothing listens yet
    assert (await get("/api/anything")).status_code == 418  # everything else goes to Django


async def test_a_stopped_sandbox_has_no_preview(sandbox):
    path = await sync_to_async(services.preview_path)(sandbox=sandbox, port=8000)
    await sync_to_async(services.sandbox_delete)(sandbox=sandbox)
    assert (await get(path)).status_code == 404


async def test_an_oversize_request_body_is_413(sandbox, monkeypatch):
    from apps.sandboxes import proxy

    monkeypatch.setattr(proxy, "MAX_BODY", 10)
    path = await sync_to_async(services.preview_path)(sandbox=sandbox, port=8000)
    assert (await get(path, method="POST", content=b"x" * 100)).status_code == 413


async def test_control_characters_never_reach_the_upstream_request_line(sandbox):
    path = await sync_to_async(services.preview_path)(sandbox=sandbox, port=8000)
    transport = httpx.ASGITransport(app=with_previews(not_django))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get(path + "a%0d%0aX-Injected:%201")
    assert response.status_code == 502  # passed on still encoded (nothing listens), not split into a header


def test_a_compressed_token_is_accepted(sandbox):
    # signing.dumps(compress=True) starts a token with "." whenever compressing pays off,
    # which depends on the ids in it: such a token must open the preview like any other.
    token = signing.dumps({"s": sandbox.public_id, "u": str(sandbox.owner_id), "p": 8000, "pad": "x" * 200},
                          salt=services.PREVIEW_SALT, compress=True)
    assert token.startswith(".")
    assert services.preview_check(token=token, sandbox_id=sandbox.public_id, port=8000) == str(sandbox.owner_id)
    assert _PATH.match(f"/preview/{sandbox.public_id}/8000/{token}/index.html")["token"] == token
