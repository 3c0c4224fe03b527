"""002's OAuth2 authorization server: metadata, authorization code + PKCE, token, userinfo."""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import pytest
from oauth2_provider.models import get_application_model
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

REDIRECT_URI = "https://client.example.com/callback"


@pytest.fixture
def application(admin_user):
    return get_application_model().objects.create(
        name="Client",
        user=admin_user,
        client_type="public",
        authorization_grant_type="authorization-code",
        redirect_uris=REDIRECT_URI,
        skip_authorization=True,
        algorithm="",
    )


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize_params(application, challenge: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": application.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "profile email",
        "state": "st-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def _code_from(response) -> str:
    assert response.status_code == 302, response.content
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    query = parse_qs(location.query)
    assert query["state"] == ["st-123"]
    return query["code"][0]


def _exchange(application, code: str, verifier: str, path: str = "/oauth2/token"):
    return APIClient().post(
        path,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": application.client_id,
            "code_verifier": verifier,
        },
    )


@pytest.mark.parametrize("path", ["/.well-known/oauth-authorization-server", "/api/oauth2/metadata", "/oauth2/metadata"])
def test_metadata_is_plain_rfc8414(anon, path):
    body = anon.get(path).json()
    assert "code" not in body
    assert body["issuer"] == "http://testserver"
    assert body["authorization_endpoint"] == "http://testserver/oauth2/authorize"
    assert body["token_endpoint"] == "http://testserver/oauth2/token"
    assert body["code_challenge_methods_supported"] == ["S256"]


@pytest.mark.parametrize(
    ("authorize_path", "token_path", "userinfo_path"),
    [("/oauth2/authorize", "/oauth2/token", "/oauth2/userinfo"),
     ("/api/oauth2/authorize", "/api/oauth2/token", "/api/oauth2/userinfo")],
)
def test_the_authorization_code_flow_with_pkce(alice, application, authorize_path, token_path, userinfo_path):
    browser = APIClient()
    browser.force_login(alice)
    verifier, challenge = _pkce()
    code = _code_from(browser.get(authorize_path, _authorize_params(application, challenge)))
    token = _exchange(application, code, verifier, token_path)
    assert token.status_code == 200, token.content
    tokens = token.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["refresh_token"]
    for method in ("get", "post"):
        info = getattr(APIClient(), method)(userinfo_path, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        assert info.status_code == 200, info.content
        assert info.json() == {
            "sub": str(alice.pk), "preferred_username": "alice", "name": "Alice", "email": "alice@example.com"
        }


def test_the_consent_page_needs_a_csrf_token_to_approve(alice, application):
    application.skip_authorization = False
    application.save()
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(alice)
    verifier, challenge = _pkce()
    params = _authorize_params(application, challenge)
    page = browser.get("/oauth2/authorize", params)
    assert page.status_code == 200
    assert b"authorizationForm" in page.content
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1).decode()
    form = {**params, "allow": "Authorize"}
    assert browser.post("/oauth2/authorize", form).status_code == 403
    code = _code_from(browser.post("/oauth2/authorize", {**form, "csrfmiddlewaretoken": csrf}))
    assert _exchange(application, code, verifier).status_code == 200


def test_a_wrong_verifier_gets_no_token(alice, application):
    browser = APIClient()
    browser.force_login(alice)
    _, challenge = _pkce()
    code = _code_from(browser.get("/oauth2/authorize", _authorize_params(application, challenge)))
    response = _exchange(application, code, "x" * 50)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_authorize_without_pkce_is_refused(alice, application):
    browser = APIClient()
    browser.force_login(alice)
    params = _authorize_params(application, "c")
    del params["code_challenge"], params["code_challenge_method"]
    response = browser.get("/oauth2/authorize", params)
    assert "code=" not in response.get("Location", "")


def test_authorize_sends_strangers_to_log_in(anon, application):
    _, challenge = _pkce()
    response = anon.get("/oauth2/authorize", _authorize_params(application, challenge))
    assert response.status_code == 302
    assert "login" in response["Location"]


@pytest.mark.parametrize("header", [None, "Bearer not-a-token"])
def test_userinfo_needs_a_valid_oauth2_token(anon, header, alice_client):
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    assert anon.get("/oauth2/userinfo", **kwargs).status_code == 401


def test_userinfo_does_not_take_our_own_jwt(alice_client):
    assert alice_client.get("/oauth2/userinfo").status_code == 401
