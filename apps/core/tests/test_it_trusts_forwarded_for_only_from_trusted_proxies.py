"""X-Forwarded-For is believed only from TRUSTED_PROXIES; the IPs in logs and throttles are real."""
from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from apps.accounts.models import LoginLog, OperationLog
from apps.core.client_ip import ClientIpMiddleware, resolve_client_ip, trusted_networks

pytestmark = pytest.mark.django_db


def _login(anon, password: str = "wrong-password", **headers):
    return anon.post("/login", {"email": "alice@example.com", "password": password}, format="json", **headers)


def test_it_ignores_forwarded_for_by_default(anon, alice):
    _login(anon, HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert LoginLog.objects.get().ip == "127.0.0.1"


@override_settings(LOGIN_THROTTLE_PER_IP="3/min", LOGIN_THROTTLE_PER_ACCOUNT="100/min")
def test_a_client_cannot_dodge_the_ip_throttle_with_forwarded_for(anon, alice):
    statuses = [_login(anon, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(4)]
    assert statuses[-1] == 429


@override_settings(TRUSTED_PROXIES=["127.0.0.1", "10.0.0.0/8"])
def test_it_takes_the_first_untrusted_hop_from_a_trusted_proxy(anon, alice):
    _login(anon, HTTP_X_FORWARDED_FOR="192.0.2.66, 203.0.113.9, 10.1.2.3")
    assert LoginLog.objects.get().ip == "203.0.113.9"


@override_settings(TRUSTED_PROXIES=["127.0.0.1"])
def test_a_forwarded_value_that_is_not_an_ip_is_not_a_500(anon, alice, password):
    response = _login(anon, password, HTTP_X_FORWARDED_FOR="<script>, not-an-ip")
    assert response.status_code == 200
    assert LoginLog.objects.get().ip == "127.0.0.1"
    assert OperationLog.objects.get(path="/login").ip == "127.0.0.1"


def test_the_walk_stops_at_the_first_untrusted_peer():
    networks = trusted_networks(("10.0.0.0/8",))
    assert resolve_client_ip("203.0.113.1", "1.2.3.4", networks) == "203.0.113.1"
    assert resolve_client_ip("10.0.0.5", "1.2.3.4, 10.9.9.9", networks) == "1.2.3.4"
    assert resolve_client_ip("10.0.0.5", "::1", networks) == "::1"
    assert resolve_client_ip("10.0.0.5", "", networks) == "10.0.0.5"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/33"])
def test_a_bad_trusted_proxies_value_fails_at_start():
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        ClientIpMiddleware(lambda request: None)


def test_a_failing_audit_write_does_not_turn_a_committed_action_into_a_500(anon, alice, password, monkeypatch):
    from django.db import DataError

    def broken(*args, **kwargs):
        raise DataError("invalid input syntax for type inet")

    monkeypatch.setattr(OperationLog.objects, "create", broken)
    monkeypatch.setattr(LoginLog.objects, "create", broken)
    response = anon.post("/register", {"email": "dora@example.com", "password": "a-long-passphrase",
                                       "username": "dora"}, format="json")
    assert response.status_code == 200
    assert _login(anon, password).status_code == 200


def test_a_peer_address_that_is_not_an_ip_is_logged_as_none_not_a_500(anon, alice, password):
    assert _login(anon, password, REMOTE_ADDR="garbage, 1.2.3.4").status_code == 200
    assert LoginLog.objects.get().ip is None


@pytest.mark.parametrize("script", ["scripts/run.sh", "scripts/docker-entrypoint.sh"])
def test_daphne_is_not_told_to_trust_every_forwarded_header(script):
    from django.conf import settings

    from codex.launcher import command

    # daphne's --proxy-headers believes any client's X-Forwarded-For; trust lives in ClientIpMiddleware.
    assert "--proxy-headers" not in command("web")
    assert "--proxy-headers" not in (settings.BASE_DIR / script).read_text()
