"""An SSRF-safe HTTP fetcher for tools that read URLs a user or a model chose.

Every address a host name resolves to must be public; the connection is pinned
to the address that was checked (so a second DNS answer cannot swap in a private
one), and each redirect is checked again. Size and time are bounded.
"""
from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from django.conf import settings

from apps.core.errors import Invalid

MAX_REDIRECTS = 5
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(Invalid):
    code = "fetch_refused"


class HostUnresolved(FetchRefused):
    """The host has no address (now): nothing was reached, and nothing can be judged."""


@dataclass(frozen=True)
class FetchResult:
    url: str
    status: int
    content_type: str
    text: str
    truncated: bool


def address_allowed(address: IPAddress) -> bool:
    """Public unicast only: no private, loopback, link-local (cloud metadata), multicast or reserved."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return bool(settings.FETCH_ALLOW_LOOPBACK)
    return address.is_global and not (
        address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


async def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (tests patch this; no real internet here)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


async def checked_address(url: str, *, allow_private: bool = False) -> tuple[str, str, int]:
    """The URL's host, a checked address to connect to, and the port; refuses anything not public.

    ``allow_private`` (a staff member's choice for one MCP server) skips the address policy
    but still resolves once, so the caller can pin its connection to that answer too.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchRefused("Only http and https URLs with a host can be fetched.")
    host = parts.hostname
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchRefused("The URL has an invalid port.") from exc
    try:
        candidates = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            candidates = await resolve(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            raise HostUnresolved(f"The host {host} could not be resolved.") from exc
    if not candidates:
        raise HostUnresolved(f"The host {host} could not be resolved.")
    for candidate in [] if allow_private else candidates:
        # Strip an IPv6 zone id ("fe80::1%eth0") before parsing.
        if not address_allowed(ipaddress.ip_address(candidate.split("%")[0])):
            raise FetchRefused(f"Refusing to fetch {host}: it resolves to a non-public address.")
    return host, candidates[0], port


def pinned_url(url: str, address: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = f"[{address}]" if ":" in address else address
    return urlunsplit((parts.scheme, f"{netloc}:{port}", parts.path or "/", parts.query, ""))


async def fetch(url: str, *, max_bytes: int | None = None, timeout: float | None = None) -> FetchResult:
    """GET ``url`` safely and return its text, truncated at ``max_bytes``."""
    raw = await fetch_bytes(url, max_bytes=max_bytes, timeout=timeout)
    encoding = raw.encoding or "utf-8"
    try:
        text = raw.content.decode(encoding, "replace")
    except LookupError:
        text = raw.content.decode("utf-8", "replace")
    return FetchResult(url=raw.url, status=raw.status, content_type=raw.content_type, text=text, truncated=raw.truncated)


@dataclass(frozen=True)
class RawResult:
    url: str
    status: int
    content_type: str
    content: bytes
    truncated: bool
    encoding: str | None = None


async def fetch_bytes(url: str, *, max_bytes: int | None = None, timeout: float | None = None) -> RawResult:
    """GET ``url`` safely and return its bytes, truncated at ``max_bytes`` (``truncated`` says so)."""
    return await _bounded(_request("GET", url, max_bytes or settings.FETCH_MAX_BYTES), timeout)


async def put_bytes(url: str, data: bytes, *, content_type: str = "application/octet-stream", timeout: float | None = None) -> RawResult:
    """PUT ``data`` to ``url`` (a presigned upload URL) with the same address checks; no redirects."""
    return await _bounded(
        _request("PUT", url, 64 * 1024, content=data, headers={"Content-Type": content_type}, redirects=0), timeout
    )


async def _bounded(work, timeout: float | None) -> RawResult:
    try:
        async with asyncio.timeout(timeout or settings.FETCH_TIMEOUT):
            return await work
    except TimeoutError as exc:
        raise FetchRefused("The page took too long to answer.") from exc


async def _request(
    method: str, url: str, limit: int, *, content: bytes | None = None, headers: dict[str, str] | None = None,
    redirects: int = MAX_REDIRECTS,
) -> RawResult:
    # trust_env=False: a proxy from the environment would bypass the address checks.
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        for _ in range(redirects + 1):
            host, address, port = await checked_address(url)
            sent = {"Host": host if port in (80, 443) else f"{host}:{port}", "User-Agent": "CodexEngine-fetch/1.0", **(headers or {})}
            extensions = {"sni_hostname": host} if url.startswith("https") else {}
            try:
                async with client.stream(
                    method, pinned_url(url, address, port), headers=sent, extensions=extensions, content=content
                ) as response:
                    if response.is_redirect and (location := response.headers.get("location")) and redirects:
                        url = urljoin(url, location)
                        continue
                    body = bytearray()
                    truncated = False
                    async for piece in response.aiter_bytes():
                        body.extend(piece)
                        if len(body) > limit:
                            del body[limit:]
                            truncated = True
                            break
                    return RawResult(
                        url=url,
                        status=response.status_code,
                        content_type=response.headers.get("content-type", ""),
                        content=bytes(body),
                        truncated=truncated,
                        encoding=response.charset_encoding,
                    )
            except httpx.HTTPError as exc:
                raise FetchRefused(f"Could not fetch {host}: {type(exc).__name__}.") from exc
    raise FetchRefused(f"Too many redirects (more than {redirects}).")
