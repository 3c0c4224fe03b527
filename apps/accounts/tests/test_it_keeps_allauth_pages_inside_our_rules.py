"""allauth's own pages cannot get around registration and login switches."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client, override_settings

from apps.accounts.adapters import AccountAdapter
from apps.accounts.models import User
from apps.accounts.tests.test_console_auth import login as console_login

pytestmark = pytest.mark.django_db

SIGNUP = {"email": "eve@example.com", "username": "eve", "password1": "a-long-passphrase",
          "password2": "a-long-passphrase"}


def test_allauth_signup_makes_no_account():
    client = Client()
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code in (301, 302)
    assert response["Location"].startswith("/app/login")
    assert not User.objects.filter(username="eve").exists()


@pytest.mark.parametrize("path", ["/accounts/password/reset/", "/accounts/email/", "/accounts/password/change/",
                                  "/accounts/3rdparty/", "/accounts/github/login/"])
def test_allauth_pages_we_do_not_use_are_not_mounted(path):
    assert Client().get(path).status_code == 404


def test_allauth_login_does_not_sign_in(alice, password):
    client = Client()
    response = client.post("/accounts/login/", {"login": "alice", "password": password})
    assert response.status_code in (301, 302) and response["Location"].startswith("/app/login")
    assert "_auth_user_id" not in client.session


@override_settings(LOCAL_LOGIN_ENABLED=False)
def test_the_admin_login_obeys_local_login_enabled(admin_user, password):
    client = Client()
    client.post("/admin/login/", {"username": admin_user.username, "password": password, "next": "/admin/"})
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_the_admin_login_works_when_local_login_is_on(admin_user, password):
    client = Client()
    client.post("/admin/login/", {"username": admin_user.username, "password": password, "next": "/admin/"})
    assert client.session.get("_auth_user_id") == str(admin_user.pk)


@override_settings(LOCAL_LOGIN_ENABLED=False, CAPTCHA_ENABLED=False)
def test_the_console_login_obeys_local_login_enabled(anon, admin_user, password):
    response = console_login(anon, admin_user.username, password)
    assert response.status_code == 400
    assert "not enabled" in response.json()["detail"]


def test_the_account_adapter_is_closed_and_applies_the_username_rule(rf):
    adapter = AccountAdapter()
    assert adapter.is_open_for_signup(rf.get("/")) is False
    with pytest.raises(ValidationError):
        adapter.clean_username("no spaces allowed")
    with pytest.raises(ValidationError):
        adapter.clean_username("ab")
    assert adapter.clean_username("dora.k") == "dora.k"


@override_settings(REGISTRATION_REQUIRES_EMAIL_CODE=True)
def test_an_upstream_signup_needs_a_verified_email_when_codes_are_required(rf):
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount, SocialLogin

    from apps.accounts.adapters import SocialAccountAdapter

    login = SocialLogin(account=SocialAccount(provider="github", uid="1"), user=User(username="gh"))
    login.email_addresses = [EmailAddress(email="gh@example.com", verified=False)]
    assert SocialAccountAdapter().is_open_for_signup(rf.get("/"), login) is False
    login.email_addresses = [EmailAddress(email="gh@example.com", verified=True)]
    assert SocialAccountAdapter().is_open_for_signup(rf.get("/"), login) is True
