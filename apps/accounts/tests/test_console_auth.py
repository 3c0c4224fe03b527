"""003 console sign-in: captcha, login, logout, token refresh."""
from __future__ import annotations

import base64
import io

from django.core.cache import cache
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.captcha import cache_key
from apps.accounts.models import LoginLog

BASE = "/api/v1/admin/auth"


def new_captcha(client: APIClient) -> tuple[str, str]:
    """A captcha id and, read from the server-side cache, its code."""
    response = client.get(f"{BASE}/captcha")
    assert response.status_code == 200
    captcha_id = response.json()["captcha_id"]
    return captcha_id, cache.get(cache_key(captcha_id))


def login(client: APIClient, username: str, password: str, **extra: str):
    captcha_id, code = new_captcha(client)
    body = {"username": username, "password": password, "captcha_id": captcha_id, "captcha_code": code, **extra}
    return client.post(f"{BASE}/login", body, format="json")


def test_it_draws_a_real_png_captcha_and_keeps_the_code_server_side(db, anon):
    response = anon.get(f"{BASE}/captcha")

    assert response.status_code == 200
    body = response.json()
    prefix = "data:image/png;base64,"
    assert body["image"].startswith(prefix)
    png = base64.b64decode(body["image"][len(prefix):])
    assert png.startswith(b"\x89PNG")
    assert Image.open(io.BytesIO(png)).size == (160, 60)
    code = cache.get(cache_key(body["captcha_id"]))
    assert code and len(code) == 4
    assert code not in response.content.decode()


def test_it_logs_in_with_a_captcha(alice, anon, password):
    response = login(anon, "alice", password)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["user"] == {"id": str(alice.pk), "username": "alice", "nickname": ""}
    assert body["refresh_token"]
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.post(f"{BASE}/logout", {}, format="json").status_code == 200
    assert LoginLog.objects.filter(user=alice, succeeded=True, api="admin").exists()


def test_it_requires_the_captcha_when_enabled(alice, anon, password):
    response = anon.post(f"{BASE}/login", {"username": "alice", "password": password}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "CAPTCHA_REQUIRED"
    assert set(body) == {"detail", "code", "errors"}
    assert set(body["errors"]) == {"captcha_id", "captcha_code"}


def test_it_rejects_a_wrong_captcha_code_and_uses_the_captcha_up(alice, anon, password):
    captcha_id, code = new_captcha(anon)
    wrong = "2222" if code != "2222" else "3333"

    first = anon.post(
        f"{BASE}/login",
        {"username": "alice", "password": password, "captcha_id": captcha_id, "captcha_code": wrong},
        format="json",
    )
    second = anon.post(
        f"{BASE}/login",
        {"username": "alice", "password": password, "captcha_id": captcha_id, "captcha_code": code},
        format="json",
    )

    assert first.status_code == 400 and first.json()["code"] == "CAPTCHA_INVALID"
    assert second.status_code == 400 and second.json()["code"] == "CAPTCHA_EXPIRED"


def test_a_captcha_is_single_use(alice, anon, password):
    captcha_id, code = new_captcha(anon)
    body = {"username": "alice", "password": password, "captcha_id": captcha_id, "captcha_code": code.lower()}

    assert anon.post(f"{BASE}/login", body, format="json").status_code == 200
    again = anon.post(f"{BASE}/login", body, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "CAPTCHA_EXPIRED"


def test_an_expired_captcha_is_refused(alice, anon, password):
    captcha_id, code = new_captcha(anon)
    cache.delete(cache_key(captcha_id))  # what the TTL does when it runs out

    response = anon.post(
        f"{BASE}/login",
        {"username": "alice", "password": password, "captcha_id": captcha_id, "captcha_code": code},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "CAPTCHA_EXPIRED"


def test_the_captcha_can_be_switched_off(alice, anon, password, settings):
    settings.CAPTCHA_ENABLED = False

    response = anon.post(f"{BASE}/login", {"username": "alice", "password": password}, format="json")
    assert response.status_code == 200
    assert response.json()["access_token"]


def test_it_answers_401_with_the_same_message_for_a_wrong_password_and_an_unknown_user(alice, anon):
    wrong = login(anon, "alice", "not-the-password")
    unknown = login(anon, "nobody", "not-the-password")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert set(wrong.json()) == {"detail", "code"}


def test_it_rejects_a_login_without_a_password(db, anon):
    response = anon.post(f"{BASE}/login", {"username": "alice"}, format="json")

    assert response.status_code == 400
    assert "password" in response.json()["errors"]


def test_it_rotates_the_refresh_token(alice, anon, password):
    refresh = login(anon, "alice", password).json()["refresh_token"]

    rotated = anon.post(f"{BASE}/token/refresh", {"refresh_token": refresh}, format="json")
    reused = anon.post(f"{BASE}/token/refresh", {"refresh_token": refresh}, format="json")

    assert rotated.status_code == 200
    assert rotated.json()["refresh_token"] != refresh
    assert rotated.json()["token_type"] == "Bearer"
    assert reused.status_code == 401
    assert reused.json()["code"] == "TOKEN_NOT_VALID"


def test_it_rejects_a_refresh_without_a_token(db, anon):
    response = anon.post(f"{BASE}/token/refresh", {}, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"detail", "code", "errors"}


def test_logout_blacklists_the_refresh_token(alice, anon, alice_client, password):
    refresh = login(anon, "alice", password).json()["refresh_token"]

    assert alice_client.post(f"{BASE}/logout", {"refresh_token": refresh}, format="json").status_code == 200
    after = anon.post(f"{BASE}/token/refresh", {"refresh_token": refresh}, format="json")
    assert after.status_code == 401


def test_logout_needs_a_signed_in_user(db, anon):
    response = anon.post(f"{BASE}/logout", {}, format="json")

    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}


def test_logout_rejects_a_token_that_is_not_a_string(alice_client):
    response = alice_client.post(f"{BASE}/logout", {"refresh_token": ["a", "b"]}, format="json")

    assert response.status_code == 400
    assert "refresh_token" in response.json()["errors"]
