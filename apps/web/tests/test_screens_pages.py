"""The agents, knowledge, tools, settings and studio pages as served: shells in the navigation,
with their assets, the strict CSP, no inline code, and first loads within the budget."""
from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.web.tests.test_budget import BUDGET_BYTES, first_load
from apps.web.views import asset_version

pytestmark = pytest.mark.django_db

SCREENS = {"agents": "/app/agents", "knowledge": "/app/knowledge", "tools": "/app/tools",
           "settings": "/app/settings", "studio": "/app/studio"}


@pytest.fixture
def browser() -> Client:
    return Client(HTTP_ACCEPT="text/html")


@pytest.mark.parametrize("page,path", SCREENS.items())
def test_it_serves_each_screen_in_the_shell_with_its_hashed_assets(browser, page, path):
    response = browser.get(path)

    assert response.status_code == 200
    body = response.content.decode()
    assert f'data-page="{page}"' in body
    assert f'href="{path}" aria-current="page"' in body
    for name in ("css/app.css", "css/screens.css", f"js/{page}.js"):
        assert f"/app/assets/{name}?v={asset_version(name)}" in body
    assert 'id="main"' in body


@pytest.mark.parametrize("path", SCREENS.values())
def test_its_screens_forbid_inline_code_and_framing(browser, path):
    response = browser.get(path)
    policy = response["Content-Security-Policy"]
    body = response.content.decode()

    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert not re.search(r"<script(?![^>]*\bsrc=)", body), "an inline script"
    assert "<style" not in body and " style=" not in body
    assert not re.search(r"\son[a-z]+=", body), "an inline event handler"


def test_only_the_studio_lets_media_play_from_blob_urls(browser):
    assert "media-src 'self' blob:" in browser.get("/app/studio")["Content-Security-Policy"]
    assert "media-src" not in browser.get("/app/agents")["Content-Security-Policy"]


@pytest.mark.parametrize("path", SCREENS.values())
def test_every_labelled_control_of_a_screen_points_at_a_real_id(browser, path):
    body = browser.get(path).content.decode()
    ids = set(re.findall(r'\sid="([^"]+)"', body))

    for target in re.findall(r'\sfor="([^"]+)"', body):
        assert target in ids, f"label for={target} has no control"
    for attribute in ("aria-labelledby", "aria-controls"):
        for value in re.findall(rf'\s{attribute}="([^"]+)"', body):
            assert all(part in ids for part in value.split()), f"{attribute}={value}"


@pytest.mark.parametrize("path", SCREENS.values())
def test_each_screens_first_load_is_under_200_kb_gzipped(path):
    sizes = first_load(path)

    assert sum(sizes.values()) < BUDGET_BYTES
    assert "js/kit.js" in sizes and "js/core.js" in sizes
