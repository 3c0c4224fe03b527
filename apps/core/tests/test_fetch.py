"""The SSRF-safe fetcher: only public addresses, checked on every hop, connection pinned."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.core import fetch as fetch_module
from apps.core.fetch import FetchRefused, checked_address, fetch


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
    seen_hosts: list[str] = []

    def do_GET(self) -> None:
        self.seen_hosts.append(self.headers.get("Host", ""))
        status, headers, body = self.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def local_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.routes = {}
    _Handler.seen_hosts = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def resolver(monkeypatch):
    """DNS answers chosen by the test (there is no real internet here)."""
    answers: dict[str, list[str]] = {}

    async def resolve(host: str, port: int) -> list[str]:
        return answers[host]

    monkeypatch.setattr(fetch_module, "resolve", resolve)
    return answers


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://127.1.2.3:8080/x", "http://10.0.0.5/", "http://172.16.0.1/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/",
    "http://224.0.0.1/", "http://100.64.0.1/", "http://[fe80::1]/", "http://[fd00:ec2::254]/", "http://240.0.0.1/",
])
async def test_it_refuses_non_public_addresses(url):
    with pytest.raises(FetchRefused):
        await fetch(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://example.com/", "ftp://example.com/", "http:///x",
                                 "http://example.com:99999/"])
async def test_it_refuses_other_schemes_and_bad_urls(url):
    with pytest.raises(FetchRefused):
        await fetch(url)


async def test_it_refuses_a_name_with_any_private_address(resolver):
    resolver["mixed.example"] = ["93.184.216.34", "10.0.0.7"]
    with pytest.raises(FetchRefused, match="non-public"):
        await checked_address("http://mixed.example/")


async def test_it_refuses_a_name_that_resolves_to_metadata(resolver):
    resolver["metadata.example"] = ["169.254.169.254"]
    with pytest.raises(FetchRefused):
        await fetch("http://metadata.example/latest/")


async def test_it_allows_a_public_address(resolver):
    resolver["example.com"] = ["93.184.216.34"]
    assert await checked_address("https://example.com/page") == ("example.com", "93.184.216.34", 443)


async def test_it_refuses_loopback_by_default(local_server):
    _, base = local_server
    with pytest.raises(FetchRefused):
        await fetch(f"{base}/")


async def test_it_fetches_loopback_only_when_allowed(local_server, settings):
    settings.FETCH_ALLOW_LOOPBACK = True
    _, base = local_server
    _Handler.routes["/hello"] = (200, {"Content-Type": "text/plain; charset=utf-8"}, "héllo".encode())
    result = await fetch(f"{base}/hello")
    assert (result.status, result.text, result.truncated) == (200, "héllo", False)


async def test_it_pins_the_connection_to_the_checked_address(local_server, settings, resolver):
    settings.FETCH_ALLOW_LOOPBACK = True
    server, _ = local_server
    port = server.server_address[1]
    resolver["pinned.example"] = ["127.0.0.1"]
    _Handler.routes["/"] = (200, {}, b"ok")
    result = await fetch(f"http://pinned.example:{port}/")
    assert result.text == "ok"
    assert _Handler.seen_hosts == [f"pinned.example:{port}"]


@pytest.mark.parametrize("target", ["http://10.0.0.1/admin", "http://169.254.169.254/latest/", "http://[fd00::1]/"])
async def test_it_refuses_a_redirect_to_a_private_address(local_server, settings, target):
    # Loopback is allowed here only to reach the test server; private targets never are.
    settings.FETCH_ALLOW_LOOPBACK = True
    _, base = local_server
    _Handler.routes["/go"] = (302, {"Location": target}, b"")
    with pytest.raises(FetchRefused, match="non-public"):
        await fetch(f"{base}/go")


async def test_it_refuses_a_redirect_to_a_name_resolving_privately(local_server, settings, resolver):
    settings.FETCH_ALLOW_LOOPBACK = True
    _, base = local_server
    resolver["internal.example"] = ["192.168.0.10"]
    _Handler.routes["/go"] = (301, {"Location": "http://internal.example/secret"}, b"")
    with pytest.raises(FetchRefused):
        await fetch(f"{base}/go")


async def test_it_follows_safe_redirects_and_stops_loops(local_server, settings):
    settings.FETCH_ALLOW_LOOPBACK = True
    _, base = local_server
    _Handler.routes["/a"] = (302, {"Location": "/b"}, b"")
    _Handler.routes["/b"] = (200, {}, b"arrived")
    assert (await fetch(f"{base}/a")).text == "arrived"
    _Handler.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(FetchRefused, match="Too many redirects"):
        await fetch(f"{base}/loop")


async def test_it_truncates_large_bodies(local_server, settings):
    settings.FETCH_ALLOW_LOOPBACK = True
    _, base = local_server
    _Handler.routes["/big"] = (200, {}, b"x" * 10_000)
    result = await fetch(f"{base}/big", max_bytes=1000)
    assert (len(result.text), result.truncated) == (1000, True)
