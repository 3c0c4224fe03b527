"""The web app's pages and assets: static shells that render no user data."""
from __future__ import annotations

import pytest
from django.test import Client

from apps.web.views import asset_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser() -> Client:
    return Client(HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")


def test_it_serves_the_chat_page_with_its_hashed_assets(browser):
    response = browser.get("/app/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert 'data-page="chat"' in body
    assert f'/app/assets/app.js?v={asset_version("app.js")}' in body
    assert f'/app/assets/app.css?v={asset_version("app.css")}' in body
    assert 'id="message-input"' in body and 'for="message-input"' in body


def test_it_serves_the_sign_in_page(browser):
    response = browser.get("/app/login")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-page="login"' in body
    for field in ("login-email", "login-password", "register-username", "register-email", "register-password"):
        assert f'for="{field}"' in body and f'id="{field}"' in body


@pytest.mark.parametrize("path", ["/app/", "/app/login"])
def test_its_pages_forbid_inline_scripts_and_framing(browser, path):
    policy = browser.get(path)["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy


@pytest.mark.parametrize("path", ["/app/", "/app/login"])
def test_its_pages_hold_no_inline_script_or_style(browser, path):
    body = browser.get(path).content.decode()

    assert "<script>" not in body and "<style" not in body and " style=" not in body
    assert " onclick=" not in body


def test_it_renders_the_same_page_for_a_signed_in_session_and_a_stranger(alice, browser):
    # The pages carry no user data: the JWT lives in the browser's sessionStorage.
    stranger = browser.get("/app/").content
    browser.force_login(alice)

    assert browser.get("/app/").content == stranger


@pytest.mark.parametrize(("name", "content_type"), [("app.js", "text/javascript"), ("app.css", "text/css")])
def test_it_serves_its_assets_cached_for_a_year_when_the_version_matches(browser, name, content_type):
    response = browser.get(f"/app/assets/{name}?v={asset_version(name)}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert b"".join(response.streaming_content)


def test_it_revalidates_an_asset_asked_for_with_a_stale_version(browser):
    response = browser.get("/app/assets/app.js?v=stale")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("name", ["secret_key", "..%2Fviews.py", "app.js.map", "%2Fetc%2Fpasswd"])
def test_it_serves_no_other_file_as_an_asset(browser, name):
    response = browser.get(f"/app/assets/{name}")

    assert response.status_code == 404


def test_it_answers_a_post_to_an_asset_with_405(browser):
    assert browser.post("/app/assets/app.js").status_code == 405
