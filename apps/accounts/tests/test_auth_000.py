"""000 — CodexEngine: /register, /login, /user/me."""
from __future__ import annotations

import pytest
from django.test import override_settings

from apps.accounts.models import LoginLog, User

pytestmark = pytest.mark.django_db

NEW_USER = {"email": "dora@example.com", "password": "a-long-passphrase", "username": "dora"}


def test_it_registers_a_user(anon):
    response = anon.post("/register", NEW_USER, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["message"] == "User registered successfully"
    user = User.objects.get(pk=body["user_id"])
    assert user.username == "dora"
    assert user.check_password("a-long-passphrase")


def test_it_rejects_a_bad_email_in_the_detail_shape(anon):
    response = anon.post("/register", {**NEW_USER, "email": "nope"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "email" in body["detail"]
    assert "email" in body["errors"]


def test_it_rejects_a_weak_password(anon):
    response = anon.post("/register", {**NEW_USER, "password": "12345678"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert not User.objects.filter(username="dora").exists()


def test_it_answers_409_for_a_taken_email(anon, alice):
    response = anon.post("/register", {**NEW_USER, "email": "ALICE@example.com"}, format="json")
    assert response.status_code == 409
    assert "detail" in response.json()


@override_settings(REGISTER_THROTTLE="2/min")
def test_it_rate_limits_registration_per_client(anon):
    for n in range(2):
        anon.post("/register", {**NEW_USER, "username": f"u{n}x", "email": f"u{n}@example.com"}, format="json")
    response = anon.post("/register", NEW_USER, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1


def test_it_logs_in_with_email(anon, alice, password):
    response = anon.post("/login", {"email": "alice@example.com", "password": password}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["username"] == "alice"
    me = anon.get("/user/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.json() == {"id": str(alice.pk), "email": "alice@example.com", "username": "alice"}
    assert LoginLog.objects.filter(user=alice, succeeded=True, api="000").exists()


def test_it_gives_the_same_answer_for_unknown_account_and_wrong_password(anon, alice):
    wrong = anon.post("/login", {"email": "alice@example.com", "password": "wrong-password"}, format="json")
    unknown = anon.post("/login", {"email": "nobody@example.com", "password": "wrong-password"}, format="json")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert LoginLog.objects.filter(succeeded=False).count() == 2


def test_it_rejects_an_empty_login(anon):
    response = anon.post("/login", {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "password"}


@override_settings(LOGIN_THROTTLE_PER_ACCOUNT="2/min")
def test_it_throttles_login_per_account(anon, alice):
    for _ in range(2):
        anon.post("/login", {"email": "alice@example.com", "password": "wrong"}, format="json")
    response = anon.post("/login", {"email": "alice@example.com", "password": "wrong"}, format="json")
    assert response.status_code == 429
    assert "Retry-After" in response
    assert LoginLog.objects.filter(succeeded=False).count() == 3


def test_user_me_needs_a_token(anon):
    response = anon.get("/user/me")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_user_me_shows_only_the_token_holder(alice_client, bob_client, alice, bob):
    assert alice_client.get("/user/me").json()["id"] == str(alice.pk)
    assert bob_client.get("/user/me").json()["id"] == str(bob.pk)


def test_it_rejects_a_forged_token(anon):
    response = anon.get("/user/me", HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert response.status_code == 401
