"""Login throttles are per account *and* IP: a stranger's failures cannot lock the owner out."""
from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

ROUTES = [
    ("/login", lambda login, password: {"email": login, "password": password}),
    ("/auth/login", lambda login, password: {"username": login, "password": password}),
    ("/api/auth/login", lambda login, password: {"username_or_email": login, "password": password}),
]


def _login(client, route, body, login, password, ip):
    return client.post(route, body(login, password), format="json", REMOTE_ADDR=ip)


@pytest.mark.parametrize(("route", "body"), ROUTES)
@override_settings(LOGIN_THROTTLE_PER_ACCOUNT="3/min", LOGIN_THROTTLE_PER_IP="1000/min")
def test_failures_from_one_ip_do_not_lock_out_another(anon, alice, password, route, body):
    statuses = [_login(anon, route, body, "alice", "wrong-password", "203.0.113.66").status_code for _ in range(5)]
    assert statuses[-1] == 429
    assert _login(anon, route, body, "alice", password, "198.51.100.7").status_code == 200


@override_settings(LOGIN_THROTTLE_PER_ACCOUNT="100/min", LOGIN_THROTTLE_PER_IP="1000/min",
                   LOGIN_THROTTLE_PER_ACCOUNT_FAILURES="3/min")
def test_the_soft_account_limit_slows_guessers_but_lets_the_right_password_in(anon, alice, password):
    statuses = [_login(anon, "/login", ROUTES[0][1], "alice", "wrong-password", f"203.0.113.{n}").status_code
                for n in range(5)]
    assert statuses[:3] == [401, 401, 401] and statuses[-1] == 429
    assert _login(anon, "/login", ROUTES[0][1], "alice", password, "198.51.100.7").status_code == 200


@override_settings(LOGIN_THROTTLE_PER_ACCOUNT="2/min", LOGIN_THROTTLE_PER_IP="1000/min")
def test_one_ip_hammering_an_account_is_still_stopped(anon, alice, password):
    for _ in range(2):
        _login(anon, "/login", ROUTES[0][1], "alice", "wrong-password", "203.0.113.66")
    assert _login(anon, "/login", ROUTES[0][1], "alice", password, "203.0.113.66").status_code == 429
