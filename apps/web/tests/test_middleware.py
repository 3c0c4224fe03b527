"""``GET /`` sends browsers to the web app; every other client keeps the 000 banner JSON."""
from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def test_it_redirects_a_browser_from_the_root_to_the_app():
    response = Client().get("/", HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code == 302
    assert response["Location"] == "/app/"
    assert "Accept" in response["Vary"]


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "text/html, application/json"])
def test_it_keeps_the_banner_json_for_curl_like_and_api_clients(accept):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}

    response = Client().get("/", **headers)

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "app": settings.APP_NAME, "version": settings.APP_VERSION}
    assert "Accept" in response["Vary"]


def test_it_leaves_a_post_to_the_root_to_the_api():
    response = Client().post("/", HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code != 302


def test_it_leaves_other_paths_alone_for_a_browser():
    response = Client().get("/api/health", HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code == 200


async def test_it_redirects_a_browser_under_asgi_too(async_client):
    response = await async_client.get("/", headers={"Accept": BROWSER_ACCEPT})

    assert response.status_code == 302
    assert response["Location"] == "/app/"
