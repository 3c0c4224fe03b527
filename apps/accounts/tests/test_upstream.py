"""Upstream OAuth login through django-allauth (002 /api/auth/upstream/*, 003 /api/v1/admin/oauth2/*); no network."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db

PROVIDERS = {
    "github": {"APPS": [{"client_id": "gh-client", "secret": "gh-secret"}], "SCOPE": ["user:email"]},
    "google": {"APPS": [{"client_id": "g-client", "secret": "g-secret"}], "SCOPE": ["profile", "email"]},
}
configured = override_settings(SOCIALACCOUNT_PROVIDERS=PROVIDERS)


def _authorize_query(response, host: str) -> dict[str, list[str]]:
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert location.netloc == host
    return parse_qs(location.query)


@configured
def test_providers_are_listed(anon):
    data = anon.get("/api/auth/providers").json()["data"]
    assert {item["id"] for item in data} == {"github", "google"}
    github = next(item for item in data if item["id"] == "github")
    assert github["login_url"] == "/api/auth/upstream/login/github"


@configured
@pytest.mark.parametrize("path", ["/api/auth/upstream/login/github", "/api/user/oauth/login/github"])
def test_it_sends_the_browser_to_github_with_our_callback(anon, path):
    query = _authorize_query(anon.get(path, {"next": "/chat"}), "github.com")
    assert query["client_id"] == ["gh-client"]
    assert query["redirect_uri"] == ["http://testserver/api/auth/upstream/callback/github"]
    assert query["state"][0]


@configured
def test_the_default_login_picks_a_configured_provider(anon):
    response = anon.get("/api/auth/upstream/login")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).netloc in {"github.com", "accounts.google.com"}


@configured
def test_it_refuses_a_next_on_another_site(anon):
    for params in ({"next": "https://evil.example/"}, {"redirect_uri": "//evil.example/x"}):
        response = anon.get("/api/auth/upstream/login/github", params)
        assert response.status_code == 400
        assert response.json()["code"] == 400


@pytest.mark.parametrize(
    "path", ["/api/auth/upstream/login/github", "/api/auth/upstream/login", "/api/user/oauth/login/nope"]
)
def test_an_unconfigured_provider_is_a_clear_404(anon, path):
    response = anon.get(path)
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == 404
    assert "configured" in body["message"]


@configured
def test_the_callback_checks_allauths_state_and_reports_a_cancel(anon):
    query = _authorize_query(anon.get("/api/auth/upstream/login/github", {"next": "/chat"}), "github.com")
    response = anon.get(
        "/api/auth/upstream/callback/github", {"error": "access_denied", "state": query["state"][0]}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/3rdparty/login/cancelled/"
    assert "_auth_user_id" not in anon.session


@configured
def test_a_callback_with_a_forged_state_logs_nobody_in(anon):
    response = anon.get("/api/user/oauth/callback/github", {"code": "abc", "state": "forged"})
    assert response.status_code < 500
    assert "_auth_user_id" not in anon.session


def test_a_callback_for_an_unconfigured_provider_is_404(anon):
    assert anon.get("/api/auth/upstream/callback/github", {"code": "x", "state": "y"}).status_code == 404


# ------------------------------------------------------------------------------
# 003 plugin routes
# ------------------------------------------------------------------------------
@configured
@pytest.mark.parametrize(("provider", "host"), [("github", "github.com"), ("google", "accounts.google.com")])
def test_admin_oauth2_authorize_goes_through_allauth(anon, provider, host):
    query = _authorize_query(anon.get(f"/api/v1/admin/oauth2/{provider}/authorize"), host)
    assert query["redirect_uri"] == [f"http://testserver/api/auth/upstream/callback/{provider}"]


@pytest.mark.parametrize("step", ["authorize", "callback"])
def test_admin_oauth2_unconfigured_answers_detail_and_code(anon, step):
    response = anon.get(f"/api/v1/admin/oauth2/github/{step}")
    assert response.status_code == 404
    assert response.json() == {
        "detail": "Upstream login provider 'github' is not configured.",
        "code": "PROVIDER_NOT_CONFIGURED",
    }


@configured
def test_admin_oauth2_callback_hands_over_to_allauth(anon):
    query = _authorize_query(anon.get("/api/v1/admin/oauth2/google/authorize"), "accounts.google.com")
    response = anon.get("/api/v1/admin/oauth2/google/callback", {"error": "access_denied", "state": query["state"][0]})
    assert response.status_code == 302
    assert "cancelled" in response["Location"]


# ------------------------------------------------------------------------------
# who may sign up through a provider
# ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("settings_rows", "is_open"),
    [({}, True), ({"allow_registration": False}, False), ({"registration_invite_only": True}, False)],
)
def test_provider_signup_follows_the_registration_settings(rf, settings_rows, is_open):
    from apps.accounts.adapters import SocialAccountAdapter
    from apps.system.models import SystemSetting

    for key, value in settings_rows.items():
        SystemSetting.objects.create(key=key, value=value)
    assert SocialAccountAdapter().is_open_for_signup(rf.get("/"), None) is is_open


def test_provider_signup_keeps_the_full_name(rf):
    from allauth.socialaccount.models import SocialAccount, SocialLogin

    from apps.accounts.adapters import SocialAccountAdapter
    from apps.accounts.models import User

    login = SocialLogin(user=User(), account=SocialAccount(provider="github"))
    user = SocialAccountAdapter().populate_user(
        rf.get("/"), login, {"username": "octo", "email": "octo@example.com", "name": "Octo Cat"}
    )
    assert (user.username, user.email, user.name) == ("octo", "octo@example.com", "Octo Cat")


@override_settings(
    SOCIALACCOUNT_PROVIDERS={
        "openid_connect": {
            "APPS": [
                {
                    "provider_id": "corp",
                    "name": "Corp SSO",
                    "client_id": "c",
                    "secret": "s",
                    # Nothing listens on port 9 (discard): the discovery fetch fails at once.
                    "settings": {"server_url": "http://127.0.0.1:9"},
                }
            ]
        }
    }
)
def test_an_unreachable_oidc_provider_is_a_502_not_a_crash(anon):
    assert [item["id"] for item in anon.get("/api/auth/providers").json()["data"]] == ["corp"]
    response = anon.get("/api/auth/upstream/login/corp")
    assert response.status_code == 502
    assert response.json()["code"] == 502
