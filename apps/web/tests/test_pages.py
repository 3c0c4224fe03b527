"""The web app's pages and assets: static shells that render no user data."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.web.views import asset_version

pytestmark = pytest.mark.django_db

PAGES = ["/app/", "/app/t/some-thread", "/app/login"]


@pytest.fixture
def browser() -> Client:
    return Client(HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")


def test_it_serves_the_chat_page_in_the_shell_with_its_hashed_assets(browser):
    response = browser.get("/app/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert 'data-page="chat"' in body
    for name in ("css/app.css", "css/chat.css", "js/theme.js", "js/chat.js"):
        assert f"/app/assets/{name}?v={asset_version(name)}" in body
    assert '<script type="module" src="/app/assets/js/chat.js?v=' in body
    assert 'id="main"' in body and 'href="#main"' in body
    for screen in ("/app/agents", "/app/knowledge", "/app/tools", "/app/studio", "/app/settings"):
        assert f'href="{screen}"' in body
    assert 'href="/app/" aria-current="page"' in body


def test_it_serves_a_thread_url_with_the_chat_page(browser):
    body = browser.get("/app/t/0b7c3c1e-1111-4a4a-9a9a-123456789abc").content.decode()

    assert 'data-page="chat"' in body


def test_it_serves_the_sign_in_page(browser):
    response = browser.get("/app/login")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-page="login"' in body
    for field in ("login-email", "login-password", "register-username", "register-email", "register-password"):
        assert f'for="{field}"' in body and f'id="{field}"' in body
    assert f"/app/assets/js/login.js?v={asset_version('js/login.js')}" in body


@pytest.mark.parametrize("path", PAGES)
def test_its_pages_forbid_inline_scripts_and_framing(browser, path):
    policy = browser.get(path)["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert "frame-ancestors 'none'" in policy
    # The sandbox preview is framed from our own origin only.
    assert "frame-src 'self';" in policy


@pytest.mark.parametrize("path", PAGES)
def test_its_pages_hold_no_inline_script_or_style(browser, path):
    body = browser.get(path).content.decode()

    assert not re.search(r"<script(?![^>]*\bsrc=)", body)
    assert "<style" not in body and " style=" not in body
    assert not re.search(r"\son[a-z]+=", body)


def test_it_renders_the_same_page_for_a_signed_in_session_and_a_stranger(alice, browser):
    # The pages carry no user data: the JWT lives in the browser's sessionStorage.
    stranger = browser.get("/app/").content
    browser.force_login(alice)

    assert browser.get("/app/").content == stranger


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("js/core.js", "text/javascript"),
        ("css/app.css", "text/css"),
        ("vendor/dompurify-3.4.18/purify.es.mjs", "text/javascript"),
        ("vendor/highlight.js-11.11.1/languages/python.min.js", "text/javascript"),
    ],
)
def test_it_serves_its_assets_cached_for_a_year_when_the_version_matches(browser, name, content_type):
    response = browser.get(f"/app/assets/{name}?v={asset_version(name)}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content


def test_it_revalidates_an_asset_asked_for_with_a_stale_version(browser):
    response = browser.get("/app/assets/js/core.js?v=stale")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-cache"
    again = browser.get("/app/assets/js/core.js?v=stale", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_it_writes_the_versions_of_a_modules_imports_into_it(browser):
    body = browser.get("/app/assets/js/markdown.js").content.decode()

    assert f'from "./core.js?v={asset_version("js/core.js")}"' in body
    dompurify = "vendor/dompurify-3.4.18/purify.es.mjs"
    assert f'from "../{dompurify}?v={asset_version(dompurify)}"' in body
    # A module's version covers its imports' versions: a changed import changes the importer's URL.
    assert asset_version("js/markdown.js") != asset_version("js/core.js")


@pytest.mark.parametrize(
    "name",
    [
        "secret_key", "..%2Fviews.py", "../views.py", "js/../../views.py", "js/core.js.map",
        "%2Fetc%2Fpasswd", "vendor/README.md", "vendor/dompurify-3.4.18/LICENSE", ".hidden.js",
        "js/.hidden.js", "js\\core.js", "js/missing.js", "js",
    ],
)
def test_it_serves_no_other_file_as_an_asset(browser, name):
    response = browser.get(f"/app/assets/{name}")

    assert response.status_code == 404


def test_it_answers_a_post_to_an_asset_with_405(browser):
    assert browser.post("/app/assets/js/core.js").status_code == 405
