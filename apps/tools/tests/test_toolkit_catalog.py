"""The toolkit catalog behind 004's /api/composio health, categories, toolkits, icon and details."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from apps.tools.models import Toolkit
from apps.tools.toolkits.catalog import catalog_install, shipped_entries
from apps.tools.toolkits.checks import svg_check, toolkit_check

pytestmark = pytest.mark.django_db
SHIPPED = {"github", "linear", "notion", "stripe", "hugging-face", "deepwiki", "custom-mcp"}


@pytest.fixture(autouse=True)
def catalog():
    # A transactional test elsewhere may have flushed the migration's rows; the loader is idempotent.
    catalog_install()


def test_the_shipped_catalog_is_loaded_and_valid():
    assert set(Toolkit.objects.values_list("slug", flat=True)) >= SHIPPED
    for entry in shipped_entries():
        toolkit_check(Toolkit(**{key: value for key, value in entry.items()}))
    assert {outcome for _, outcome in catalog_install()} == {"unchanged"}


def test_health_says_the_catalog_is_loaded(alice_client, settings):
    settings.COMPOSIO_API_KEY = ""
    body = alice_client.get("/api/composio/health").json()
    assert body == {"status": "healthy", "catalog_loaded": True, "toolkits": len(SHIPPED), "source": "local",
                    "api_key_configured": False}
    settings.COMPOSIO_API_KEY = "ck-123"
    assert alice_client.get("/api/composio/health").json()["api_key_configured"] is True
    Toolkit.objects.update(is_enabled=False)
    body = alice_client.get("/api/composio/health").json()
    assert body["status"] == "unhealthy" and body["catalog_loaded"] is False and "load_toolkits" in body["error"]


def test_categories_and_toolkits(alice_client):
    categories = alice_client.get("/api/composio/categories").json()
    assert categories["success"] is True and "developer-tools" in categories["categories"]
    assert categories["categories"] == sorted(categories["categories"])

    body = alice_client.get("/api/composio/toolkits").json()
    assert body["total"] == len(SHIPPED) and body["next_cursor"] is None and body["has_more"] is False
    github = next(toolkit for toolkit in body["toolkits"] if toolkit["slug"] == "github")
    assert github["icon_url"].endswith("/api/composio/toolkits/github/icon")
    assert github["auth_schemes"] == ["API_KEY"] and github["categories"] == ["developer-tools"]
    assert github["initiation_fields"][0]["name"] == "personal_access_token"
    assert github["initiation_fields"][0]["field_type"] == "secret"

    first = alice_client.get("/api/composio/toolkits", {"limit": 3}).json()
    second = alice_client.get("/api/composio/toolkits", {"limit": 3, "cursor": first["next_cursor"]}).json()
    slugs = [toolkit["slug"] for toolkit in first["toolkits"] + second["toolkits"]]
    assert len(slugs) == 6 and len(set(slugs)) == 6 and slugs == sorted(slugs) and first["has_more"]

    assert [t["slug"] for t in alice_client.get("/api/composio/toolkits", {"category": "payments"}).json()["toolkits"]] == [
        "stripe"]
    assert [t["slug"] for t in alice_client.get("/api/composio/toolkits", {"search": "wiki"}).json()["toolkits"]] == [
        "deepwiki"]


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 101}, {"limit": "x"}, {"category": "not a slug"}])
def test_toolkits_validate_their_query(alice_client, query):
    response = alice_client.get("/api/composio/toolkits", query)
    assert response.status_code == 400 and "detail" in response.json()


def test_the_icon_is_an_svg_that_cannot_run_anything(alice_client):
    response = alice_client.get("/api/composio/toolkits/github/icon", HTTP_ACCEPT="image/avif,image/webp,*/*")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response["Content-Security-Policy"] and "sandbox" in response["Content-Security-Policy"]
    assert response.content.startswith(b"<svg")
    as_json = alice_client.get("/api/composio/toolkits/github/icon", HTTP_ACCEPT="application/json").json()
    assert as_json["success"] is True and as_json["icon_url"].endswith("/api/composio/toolkits/github/icon")
    assert alice_client.get("/api/composio/toolkits/nope/icon").status_code == 404


def test_the_icon_takes_the_web_sessions_cookie(client, alice):
    # What an <img> in the web UI sends: the session cookie, no bearer token.
    assert client.get("/api/composio/toolkits/github/icon").status_code == 401
    client.force_login(alice)
    assert client.get("/api/composio/toolkits/github/icon", HTTP_ACCEPT="image/*").status_code == 200


def test_details(alice_client):
    body = alice_client.get("/api/composio/toolkits/custom-mcp/details").json()
    toolkit = body["toolkit"]
    assert body["success"] is True and toolkit["transport"] == "auto" and toolkit["headers"] == ["Authorization"]
    assert toolkit["mcp_url_template"] == "{server_url}"
    missing = alice_client.get("/api/composio/toolkits/nope/details")
    assert missing.status_code == 404 and missing.json() == {"detail": "Toolkit 'nope' not found."}
    Toolkit.objects.filter(slug="github").update(is_enabled=False)
    assert alice_client.get("/api/composio/toolkits/github/details").status_code == 404


@pytest.mark.parametrize(
    "svg",
    [
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><use href="https://evil.example/x.svg#a"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://evil.example/a)"/></svg>',
        '<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
        '<html><body/></html>',
        '<svg xmlns="http://www.w3.org/2000/svg"',
    ],
)
def test_unsafe_icons_are_refused(svg):
    with pytest.raises(ValidationError):
        svg_check(svg)


def test_a_toolkit_cannot_put_a_secret_in_its_url_or_name_unknown_fields():
    toolkit = Toolkit(slug="x", name="X", category="custom", mcp_url_template="https://x.example/{token}/mcp",
                      header_templates={"Host": "evil", "X-Key": "{nope}"},
                      fields=[{"name": "token", "field_type": "secret"}])
    with pytest.raises(ValidationError) as error:
        toolkit_check(toolkit)
    assert set(error.value.message_dict) == {"mcp_url_template", "header_templates"}


def test_the_loader_keeps_what_staff_edited(admin_client, admin_user):
    github = Toolkit.objects.get(slug="github")
    form = {field: getattr(github, field) for field in ("slug", "name", "category", "description", "icon_svg",
                                                         "docs_url", "mcp_url_template", "transport")}
    form.update(name="GitHub (ours)", header_templates='{"Authorization": "Bearer {personal_access_token}"}',
                fields='[{"name": "personal_access_token", "field_type": "secret", "required": true}]', tools="[]",
                is_enabled="on")
    admin_client.force_login(admin_user)
    response = admin_client.post(f"/admin/tools/toolkit/{github.pk}/change/", form)
    assert response.status_code == 302, response.content[:500]
    github.refresh_from_db()
    assert github.name == "GitHub (ours)" and github.source == "staff"
    assert dict(catalog_install())["github"] == "kept (edited by staff)"
    assert Toolkit.objects.get(slug="github").name == "GitHub (ours)"


def test_the_admin_refuses_an_unsafe_icon(admin_client, admin_user):
    admin_client.force_login(admin_user)
    form = {"slug": "evil", "name": "Evil", "category": "custom", "mcp_url_template": "https://evil.example/mcp",
            "transport": "streamable_http", "header_templates": "{}", "fields": "[]", "tools": "[]",
            "icon_svg": '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'}
    response = admin_client.post("/admin/tools/toolkit/add/", form)
    assert response.status_code == 200 and b"event handlers" in response.content
    assert not Toolkit.objects.filter(slug="evil").exists()
