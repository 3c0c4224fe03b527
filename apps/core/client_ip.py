"""The client's IP address, taking ``X-Forwarded-For`` only from the proxies we were told to trust.

daphne is started without ``--proxy-headers``: it would believe any client's
``X-Forwarded-For``, and every per-IP throttle and logged IP would be the client's
choice. Instead :class:`ClientIpMiddleware` walks the header from the right, only
while the hop that added it is in ``TRUSTED_PROXIES``, and writes the first address
that is not a trusted proxy to ``REMOTE_ADDR``. Anything that is not an IP address
ends the walk. ``TRUSTED_PROXIES`` is empty by default: the header is then ignored.
"""
from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def trusted_networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES: {value!r} is not an IP address or network (e.g. 10.0.0.1 or 10.0.0.0/8)."
            ) from None
    return tuple(networks)


def valid_ip(value: str | None) -> str | None:
    """``value`` as a normalised IP address, or None when it is not one."""
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip.version == network.version and ip in network for network in networks)


def resolve_client_ip(remote_addr: str | None, forwarded_for: str | None, networks: tuple[Network, ...]) -> str | None:
    client = valid_ip(remote_addr)
    if client is None or not networks or not forwarded_for:
        return client
    for hop in reversed(forwarded_for.split(",")):
        if not _trusted(client, networks):
            break
        address = valid_ip(hop)
        if address is None:
            break
        client = address
    return client


def client_ip(request: HttpRequest) -> str | None:
    """The client address :class:`ClientIpMiddleware` settled on (always a valid IP, or None)."""
    return valid_ip(request.META.get("REMOTE_ADDR"))


class ClientIpMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response
        trusted_networks(tuple(settings.TRUSTED_PROXIES))  # a bad value fails at start, not per request
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _settle(self, request: HttpRequest) -> None:
        networks = trusted_networks(tuple(settings.TRUSTED_PROXIES))
        client = resolve_client_ip(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"), networks)
        request.META["REMOTE_ADDR"] = client or ""

    def __call__(self, request: HttpRequest) -> Any:
        # Async or not, get_response's answer (a response or a coroutine) is passed through.
        self._settle(request)
        return self.get_response(request)
