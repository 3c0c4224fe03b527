"""002 — the documented cookie flow (``curl -c`` to log in, ``curl -b`` to POST) works; cross-site POSTs do not."""
from __future__ import annotations

import os

import httpx
import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.agents.models import Agent
from conftest import _test_database_url, start_daphne, stop_daphne

LOGIN = "/api/auth/login"


def _logged_in(alice, password) -> APIClient:
    # enforce_csrf_checks: the test client must not get around the check a browser meets.
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(LOGIN, {"username_or_email": "alice", "password": password}, format="json")
    assert response.status_code == 200, response.content
    cookie = response.cookies["sessionid"]
    assert cookie["samesite"] == "Lax" and cookie["httponly"]
    return client


@pytest.mark.django_db
def test_a_cookie_session_posts_without_a_csrf_token(alice, password):
    client = _logged_in(alice, password)
    response = client.post("/api/agent/create", {"name": "Research Agent", "systemPrefix": "Be careful."}, format="json")
    assert response.status_code == 200, response.content
    assert Agent.objects.filter(owner=alice, name="Research Agent").exists()
    assert client.post("/api/auth/logout", {}, format="json").status_code == 200
    assert client.get("/api/auth/session").status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "same-origin", "HTTP_ORIGIN": "http://testserver"},
        {"HTTP_SEC_FETCH_SITE": "none"},
        {"HTTP_ORIGIN": "http://testserver"},
    ],
)
def test_same_site_browser_requests_pass(alice, password, headers):
    client = _logged_in(alice, password)
    response = client.post("/api/agent/create", {"name": "Mine"}, format="json", **headers)
    assert response.status_code == 200, response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "cross-site", "HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_SEC_FETCH_SITE": "same-site"},
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "null"},
    ],
)
def test_cross_site_cookie_posts_are_refused(alice, password, headers):
    client = _logged_in(alice, password)
    response = client.post("/api/agent/create", {"name": "Forged"}, format="json", **headers)
    assert response.status_code == 403
    assert response.json()["code"] == 403
    assert "Cross-site" in response.json()["message"]
    assert not Agent.objects.filter(name="Forged").exists()
    # A logout forged from another site does not end the session either.
    assert client.post("/api/auth/logout", {}, format="json", **headers).status_code == 403
    assert client.get("/api/auth/session").status_code == 200


@pytest.mark.django_db
def test_a_trusted_origin_may_post(alice, password, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example"]
    client = _logged_in(alice, password)
    response = client.post("/api/agent/create", {"name": "Trusted"}, format="json",
                           HTTP_ORIGIN="https://app.example", HTTP_SEC_FETCH_SITE="cross-site")
    assert response.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_documented_curl_cookie_flow_against_a_live_server(password):
    """``curl -c cookies.txt`` then ``curl -b cookies.txt -X POST``: a cookie jar over real HTTP."""
    from apps.accounts.tests.factories import UserFactory

    UserFactory(username="alice", email="alice@example.com")
    server = start_daphne({**os.environ, "DATABASE_URL": _test_database_url(), "CODEX_TESTING": "1"})
    try:
        with httpx.Client(base_url=server.url, timeout=30) as curl:
            login = curl.post(LOGIN, json={"username_or_email": "alice", "password": password})
            assert login.status_code == 200, login.text
            assert "samesite=lax" in login.headers["set-cookie"].lower()
            assert curl.get("/api/auth/session").json()["data"]["username"] == "alice"
            created = curl.post("/api/agent/create", json={"name": "Research Agent", "maxLoopCount": 10})
            assert created.status_code == 200, created.text
            forged = curl.post("/api/agent/create", json={"name": "Forged"}, headers={"Origin": "https://evil.example"})
            assert forged.status_code == 403
            assert curl.post("/api/auth/logout", json={}).status_code == 200
            assert curl.get("/api/auth/session").status_code == 401
        assert User.objects.get(username="alice").agents.filter(name="Research Agent").exists()
    finally:
        stop_daphne(server)
