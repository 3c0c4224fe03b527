"""002's tracing gate: login sets a short-lived signed cookie, auth answers a proxy, the rest redirects."""
from __future__ import annotations

import time

import pytest
from django.core import signing
from rest_framework.test import APIClient

from apps.system import observability

BASE = "/api/observability/jaeger"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _jaeger(settings):
    settings.JAEGER_UI_URL = "http://127.0.0.1:16686/jaeger"


def test_login_sets_the_cookie_and_auth_accepts_it(admin_client):
    response = admin_client.get(f"{BASE}/login", {"next": "/api/observability/jaeger/search?service=codex"})
    assert response.status_code == 302
    assert response["Location"] == "/api/observability/jaeger/search?service=codex"
    cookie = response.cookies[observability.COOKIE_NAME]
    assert cookie["httponly"] and int(cookie["max-age"]) == 900
    proxy = APIClient()
    proxy.cookies[observability.COOKIE_NAME] = cookie.value
    check = proxy.get(f"{BASE}/auth")
    assert check.status_code == 204 and check["X-Auth-User"] == "admin"


def test_login_refuses_users_without_the_permission(alice_client, anon):
    response = alice_client.get(f"{BASE}/login")
    assert response.status_code == 403 and response.json()["code"] == 403
    assert anon.get(f"{BASE}/login").status_code == 401


def test_login_never_redirects_to_another_site(admin_client):
    assert admin_client.get(f"{BASE}/login", {"next": "https://evil.example/"})["Location"] == f"{BASE}/"
    assert admin_client.get(f"{BASE}/login", {"next": "//evil.example/"})["Location"] == f"{BASE}/"
    ui = "http://127.0.0.1:16686/jaeger/trace/1"
    assert admin_client.get(f"{BASE}/login", {"next": ui})["Location"] == ui


def test_auth_is_401_without_or_with_a_bad_or_expired_cookie(admin_user, settings):
    proxy = APIClient()
    assert proxy.get(f"{BASE}/auth").status_code == 401
    proxy.cookies[observability.COOKIE_NAME] = "forged"
    assert proxy.get(f"{BASE}/auth").status_code == 401
    old = signing.dumps({"uid": str(admin_user.pk)}, salt=observability._SALT, compress=True)
    settings.JAEGER_COOKIE_SECONDS = 1
    time.sleep(1.1)
    proxy.cookies[observability.COOKIE_NAME] = old
    assert proxy.get(f"{BASE}/auth").status_code == 401


def test_auth_is_403_once_the_permission_is_gone(admin_user, admin_client):
    value = admin_client.get(f"{BASE}/login").cookies[observability.COOKIE_NAME].value
    admin_user.is_superuser = False
    admin_user.save()
    proxy = APIClient()
    proxy.cookies[observability.COOKIE_NAME] = value
    assert proxy.get(f"{BASE}/auth").status_code == 403


def test_every_other_path_redirects_to_the_ui_keeping_path_and_query(anon):
    bare = anon.get(BASE)
    assert bare.status_code == 307 and bare["Location"] == "http://127.0.0.1:16686/jaeger/"
    deep = anon.post(f"{BASE}/api/traces/abc?limit=20&service=codex")
    assert deep.status_code == 307
    assert deep["Location"] == "http://127.0.0.1:16686/jaeger/api/traces/abc?limit=20&service=codex"


def test_without_a_jaeger_url_the_routes_are_404(settings, anon, admin_client):
    settings.JAEGER_UI_URL = ""
    for response in (anon.get(BASE), anon.get(f"{BASE}/search"), admin_client.get(f"{BASE}/login")):
        assert response.status_code == 404
        assert "JAEGER_UI_URL" in response.json()["message"]
