"""001 — task agent: /auth/register, /auth/login, /users/me, /users/me/password."""
from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.accounts.tests.factories import InviteCodeFactory
from apps.system.models import SystemSetting

pytestmark = pytest.mark.django_db

NEW_USER = {"username": "dora.k", "name": "Dora", "email": "dora@example.com", "password": "a-long-passphrase"}


def _assert_task_error(response, status):
    body = response.json()
    assert response.status_code == status, body
    assert body["statusCode"] == status
    assert body["path"] == response.wsgi_request.path
    assert body["message"] and body["timestamp"]
    return body


def test_it_registers_and_returns_a_token(anon):
    response = anon.post("/auth/register", NEW_USER, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    user = User.objects.get(username="dora.k")
    assert body["user"] == {"id": str(user.pk), "username": "dora.k", "name": "Dora", "email": "dora@example.com"}
    assert anon.get("/users/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [("username", "ab"), ("username", "has space"), ("username", "x" * 51), ("name", "n" * 101),
     ("email", "not-an-email"), ("password", "short")],
)
def test_it_rejects_invalid_registration_fields(anon, field, value):
    body = _assert_task_error(anon.post("/auth/register", {**NEW_USER, field: value}, format="json"), 400)
    assert field in [error["field"] for error in body["validationErrors"]]


def test_it_answers_409_for_a_duplicate_user(anon, alice):
    _assert_task_error(anon.post("/auth/register", {**NEW_USER, "username": "ALICE"}, format="json"), 409)


def test_it_requires_an_invite_code_when_invite_only(anon):
    SystemSetting.objects.create(key="registration_invite_only", value=True)
    _assert_task_error(anon.post("/auth/register", NEW_USER, format="json"), 400)
    _assert_task_error(anon.post("/auth/register", {**NEW_USER, "inviteCode": "WRONG"}, format="json"), 400)
    assert not User.objects.filter(username="dora.k").exists()


def test_a_given_invite_code_must_be_valid_even_when_registration_is_open(anon):
    body = _assert_task_error(anon.post("/auth/register", {**NEW_USER, "inviteCode": "NOPE"}, format="json"), 400)
    assert "invite_code" in [error["field"] for error in body["validationErrors"]]
    assert not User.objects.filter(username="dora.k").exists()
    invite = InviteCodeFactory(code="WELCOME", max_uses=2)
    assert anon.post("/auth/register", {**NEW_USER, "inviteCode": "WELCOME"}, format="json").status_code == 200
    invite.refresh_from_db()
    assert invite.uses == 1
    assert anon.post("/auth/register", {**NEW_USER, "username": "eve", "email": "e@example.com", "inviteCode": ""},
                     format="json").status_code == 200


def test_it_spends_an_invite_code_once(anon):
    SystemSetting.objects.create(key="registration_invite_only", value=True)
    invite = InviteCodeFactory(code="WELCOME", max_uses=1)
    assert anon.post("/auth/register", {**NEW_USER, "inviteCode": "WELCOME"}, format="json").status_code == 200
    second = {**NEW_USER, "username": "eve", "email": "eve@example.com", "inviteCode": "WELCOME"}
    _assert_task_error(anon.post("/auth/register", second, format="json"), 400)
    invite.refresh_from_db()
    assert invite.uses == 1


def test_a_failed_registration_does_not_spend_the_invite(anon, alice):
    SystemSetting.objects.create(key="registration_invite_only", value=True)
    invite = InviteCodeFactory(code="WELCOME", max_uses=1)
    response = anon.post(
        "/auth/register", {**NEW_USER, "email": "alice@example.com", "inviteCode": "WELCOME"}, format="json"
    )
    _assert_task_error(response, 409)
    invite.refresh_from_db()
    assert invite.uses == 0


def test_it_refuses_registration_when_closed(anon):
    SystemSetting.objects.create(key="allow_registration", value=False)
    _assert_task_error(anon.post("/auth/register", NEW_USER, format="json"), 400)


def test_it_logs_in(anon, alice, password):
    response = anon.post("/auth/login", {"username": "alice", "password": password}, format="json")
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(alice.pk)


def test_bad_credentials_are_401(anon, alice):
    _assert_task_error(anon.post("/auth/login", {"username": "alice", "password": "nope-nope"}, format="json"), 401)


def test_login_validation_errors_name_the_fields(anon):
    body = _assert_task_error(anon.post("/auth/login", {"username": ""}, format="json"), 400)
    assert {error["field"] for error in body["validationErrors"]} == {"username", "password"}


def test_users_me_needs_a_token(anon):
    _assert_task_error(anon.get("/users/me"), 401)
    _assert_task_error(anon.patch("/users/me", {"name": "X"}, format="json"), 401)
    _assert_task_error(anon.put("/users/me/password", {}, format="json"), 401)


def test_it_updates_the_profile(alice_client, alice):
    response = alice_client.patch("/users/me", {"name": "Alice A.", "email": "a@example.org"}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Alice A."
    alice.refresh_from_db()
    assert alice.email == "a@example.org"


def test_it_rejects_a_long_name_and_a_taken_email(alice_client, bob):
    _assert_task_error(alice_client.patch("/users/me", {"name": "n" * 101}, format="json"), 400)
    _assert_task_error(alice_client.patch("/users/me", {"email": "BOB@example.com"}, format="json"), 409)


def test_a_profile_change_touches_only_the_caller(alice_client, bob):
    alice_client.patch("/users/me", {"name": "Changed"}, format="json")
    bob.refresh_from_db()
    assert bob.name == "Bob"


def test_it_changes_the_password(alice_client, alice, password):
    body = {"currentPassword": password, "newPassword": "another-long-passphrase"}
    assert alice_client.put("/users/me/password", body, format="json").status_code == 200
    alice.refresh_from_db()
    assert alice.check_password("another-long-passphrase")


def test_a_wrong_current_password_is_403(alice_client, alice):
    body = {"currentPassword": "not-it-at-all", "newPassword": "another-long-passphrase"}
    _assert_task_error(alice_client.put("/users/me/password", body, format="json"), 403)


def test_a_short_new_password_is_400(alice_client, password):
    body = _assert_task_error(
        alice_client.put("/users/me/password", {"currentPassword": password, "newPassword": "short"}, format="json"),
        400,
    )
    assert body["validationErrors"][0]["field"] == "newPassword"


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_cannot_overspend_an_invite():
    import threading

    from django.db import connection

    from apps.accounts.services.users import user_register
    from apps.core.errors import Invalid

    SystemSetting.objects.create(key="registration_invite_only", value=True)
    InviteCodeFactory(code="ONCE", max_uses=1)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def sign_up(n: int) -> None:
        try:
            barrier.wait()
            user_register(
                username=f"racer{n}", email=f"racer{n}@example.com", password="a-long-passphrase",
                ip=f"10.0.0.{n}", invite_code="ONCE",
            )
            outcomes.append("ok")
        except Invalid:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"]
    assert User.objects.filter(username__startswith="racer").count() == 1
