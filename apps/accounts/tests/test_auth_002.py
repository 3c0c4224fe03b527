"""002 — Sage: /api/auth/* and their /api/user/* compatibility aliases."""
from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from apps.accounts.models import LoginLog, User, VerificationCode
from apps.accounts.services.auth import tokens_refresh
from apps.core.errors import Unauthorized
from apps.system.models import SystemSetting

pytestmark = pytest.mark.django_db

NEW_USER = {"username": "dora", "password": "a-long-passphrase", "email": "dora@example.com", "phonenum": "13800000000"}


def _assert_envelope_error(response, status):
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == status
    assert body["data"] is None or "errors" in body["data"]
    assert isinstance(body["timestamp"], float)
    return body


def _sent_code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


# ------------------------------------------------------------------------------
# send-code and register
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/auth/register/send-code", "/api/user/register/send-code"])
def test_it_emails_a_code_and_stores_only_its_hash(anon, path):
    response = anon.post(path, {"email": "dora@example.com"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == 200
    assert body["data"] == {"expires_in": 600, "retry_after": 60}
    code = _sent_code()
    row = VerificationCode.objects.get(email="dora@example.com")
    assert code not in row.code_hash


def test_it_refuses_a_second_code_inside_the_retry_window(anon):
    anon.post("/api/auth/register/send-code", {"email": "dora@example.com"}, format="json")
    response = anon.post("/api/auth/register/send-code", {"email": "dora@example.com"}, format="json")
    _assert_envelope_error(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert len(mail.outbox) == 1


@override_settings(EMAIL_CODE_THROTTLE="2/hour", EMAIL_CODE_RETRY_SECONDS=0)
def test_it_rate_limits_codes(anon):
    for _ in range(2):
        assert anon.post("/api/auth/register/send-code", {"email": "d@example.com"}, format="json").status_code == 200
    _assert_envelope_error(anon.post("/api/auth/register/send-code", {"email": "d@example.com"}, format="json"), 429)


def test_send_code_rejects_a_bad_email(anon):
    body = _assert_envelope_error(anon.post("/api/auth/register/send-code", {"email": "x"}, format="json"), 400)
    assert "email" in body["data"]["errors"]


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/user/register"])
def test_it_registers(anon, path):
    response = anon.post(path, NEW_USER, format="json")
    assert response.status_code == 200, response.content
    user = User.objects.get(pk=response.json()["data"]["user_id"])
    assert user.phone == "13800000000"


def test_register_validation_errors_are_enveloped(anon):
    body = _assert_envelope_error(anon.post("/api/auth/register", {"username": "d"}, format="json"), 400)
    assert {"username", "password"} <= set(body["data"]["errors"])


@override_settings(REGISTRATION_REQUIRES_EMAIL_CODE=True)
def test_it_registers_with_the_emailed_code(anon):
    anon.post("/api/auth/register/send-code", {"email": "dora@example.com"}, format="json")
    missing = anon.post("/api/auth/register", NEW_USER, format="json")
    _assert_envelope_error(missing, 400)
    wrong = anon.post("/api/auth/register", {**NEW_USER, "verification_code": "000000"}, format="json")
    if _sent_code() != "000000":
        _assert_envelope_error(wrong, 400)
    response = anon.post("/api/auth/register", {**NEW_USER, "verification_code": _sent_code()}, format="json")
    assert response.status_code == 200, response.content
    assert VerificationCode.objects.get(email="dora@example.com").used_at is not None
    again = anon.post(
        "/api/auth/register", {**NEW_USER, "username": "dora2", "verification_code": _sent_code()}, format="json"
    )
    _assert_envelope_error(again, 400)


@pytest.mark.parametrize("send_first", [True, False])
def test_a_wrong_code_is_refused_once_one_was_sent_or_given_even_when_codes_are_optional(anon, send_first):
    if send_first:
        anon.post("/api/auth/register/send-code", {"email": "dora@example.com"}, format="json")
        wrong = "111111" if _sent_code() != "111111" else "222222"
        _assert_envelope_error(anon.post("/api/auth/register", NEW_USER, format="json"), 400)
    else:
        wrong = "123456"
    body = _assert_envelope_error(
        anon.post("/api/auth/register", {**NEW_USER, "verification_code": wrong}, format="json"), 400
    )
    assert "verification_code" in body["data"]["errors"]
    assert not User.objects.filter(username="dora").exists()
    if send_first:
        response = anon.post("/api/auth/register", {**NEW_USER, "verification_code": _sent_code()}, format="json")
        assert response.status_code == 200, response.content


@override_settings(REGISTRATION_REQUIRES_EMAIL_CODE=True)
def test_a_code_dies_after_five_wrong_guesses(anon):
    anon.post("/api/auth/register/send-code", {"email": "dora@example.com"}, format="json")
    code = _sent_code()
    wrong = "111111" if code != "111111" else "222222"
    for _ in range(5):
        anon.post("/api/auth/register", {**NEW_USER, "verification_code": wrong}, format="json")
    response = anon.post("/api/auth/register", {**NEW_USER, "verification_code": code}, format="json")
    _assert_envelope_error(response, 400)


def test_registration_closed_answers_the_documented_message(anon):
    SystemSetting.objects.create(key="allow_registration", value=False)
    for path in ("/api/auth/register", "/api/auth/register/send-code"):
        body = _assert_envelope_error(anon.post(path, NEW_USER, format="json"), 400)
        assert body["message"] == "当前服务未启用本地账号注册"


@override_settings(LOCAL_LOGIN_ENABLED=False)
def test_local_login_off_answers_the_documented_message(anon, alice, password):
    body = _assert_envelope_error(
        anon.post("/api/auth/login", {"username_or_email": "alice", "password": password}, format="json"), 400
    )
    assert body["message"] == "当前服务未启用本地账号密码登录"
    body = _assert_envelope_error(anon.post("/api/auth/register", NEW_USER, format="json"), 400)
    assert body["message"] == "当前服务未启用本地账号注册"


# ------------------------------------------------------------------------------
# login, session, logout
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/auth/login", "/api/user/login"])
@pytest.mark.parametrize("login", ["alice", "ALICE@example.com"])
def test_it_logs_in_and_sets_a_session(path, login, alice, password):
    client = APIClient()
    response = client.post(path, {"username_or_email": login, "password": password}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert set(data) == {"access_token", "refresh_token", "expires_in"}
    assert "sessionid" in response.cookies
    session = client.get("/api/auth/session")
    assert session.status_code == 200
    assert session.json()["data"]["user_id"] == str(alice.pk)
    assert LoginLog.objects.filter(user=alice, succeeded=True, api="002").exists()


def test_bad_credentials_are_401_with_one_message(anon, alice):
    wrong = _assert_envelope_error(
        anon.post("/api/auth/login", {"username_or_email": "alice", "password": "wrong-one"}, format="json"), 401
    )
    unknown = _assert_envelope_error(
        anon.post("/api/auth/login", {"username_or_email": "zed", "password": "wrong-one"}, format="json"), 401
    )
    assert wrong["message"] == unknown["message"]
    assert "sessionid" not in anon.cookies


def test_login_validation_errors_are_enveloped(anon):
    body = _assert_envelope_error(anon.post("/api/auth/login", {"password": "x"}, format="json"), 400)
    assert "username_or_email" in body["data"]["errors"]


def test_login_accepts_json_only(anon, alice, password):
    response = anon.post("/api/auth/login", {"username_or_email": "alice", "password": password})
    _assert_envelope_error(response, 415)


@override_settings(LOGIN_THROTTLE_PER_IP="3/min")
def test_login_is_throttled_per_ip(anon, alice):
    for n in range(3):
        anon.post("/api/auth/login", {"username_or_email": f"u{n}", "password": "x"}, format="json")
    response = anon.post("/api/auth/login", {"username_or_email": "alice", "password": "x"}, format="json")
    _assert_envelope_error(response, 429)
    assert "Retry-After" in response


@pytest.mark.parametrize("path", ["/api/auth/session", "/api/user/check_login"])
def test_session_shows_roles_and_onboarding(path, alice_client, alice):
    from apps.accounts.tests.factories import RoleFactory

    alice.roles.add(RoleFactory(code="user"))
    data = alice_client.get(path).json()["data"]
    assert data["username"] == "alice"
    assert data["roles"] == ["user"]
    assert data["is_admin"] is False
    assert data["need_onboarding"] is True


def test_session_marks_admins(admin_client):
    assert admin_client.get("/api/auth/session").json()["data"]["is_admin"] is True


@pytest.mark.parametrize("path", ["/api/auth/session", "/api/user/check_login"])
def test_session_is_401_when_signed_out(anon, path):
    _assert_envelope_error(anon.get(path), 401)


@pytest.mark.parametrize("path", ["/api/auth/logout", "/api/user/logout"])
def test_logout_blacklists_the_refresh_token_and_ends_the_session(path, alice, password):
    client = APIClient(enforce_csrf_checks=True)
    tokens = client.post(
        "/api/auth/login", {"username_or_email": "alice", "password": password}, format="json"
    ).json()["data"]
    csrf = client.cookies["csrftoken"].value
    response = client.post(path, {"refresh_token": tokens["refresh_token"]}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200, response.content
    assert response.json()["data"] == {}
    assert BlacklistedToken.objects.filter(token__user=alice).exists()
    _assert_envelope_error(client.get("/api/auth/session"), 401)
    with pytest.raises(Unauthorized):
        tokens_refresh(refresh=tokens["refresh_token"])


def test_a_cross_site_session_logout_is_refused(alice, password):
    client = APIClient(enforce_csrf_checks=True)
    client.post("/api/auth/login", {"username_or_email": "alice", "password": password}, format="json")
    forged = client.post("/api/auth/logout", {}, format="json", HTTP_ORIGIN="https://evil.example")
    _assert_envelope_error(forged, 403)
    assert client.get("/api/auth/session").status_code == 200


def test_logout_without_anything_is_harmless(anon):
    assert anon.post("/api/auth/logout", {}, format="json").status_code == 200
    assert anon.post("/api/auth/logout", {"refresh_token": "garbage"}, format="json").status_code == 200


# ------------------------------------------------------------------------------
# providers
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/auth/providers", "/api/user/auth-providers"])
def test_no_configured_provider_lists_nothing(anon, path):
    response = anon.get(path)
    assert response.status_code == 200
    assert response.json()["data"] == []
