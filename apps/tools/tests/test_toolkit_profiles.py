"""Toolkit profiles over 004's /api/composio/* and /api/composio-secure/*, against a real MCP server on 127.0.0.1."""
from __future__ import annotations

import uuid

import pytest
from django.db import connection

from apps.tools.models import ToolkitProfile
from apps.tools.toolkits.catalog import catalog_install

pytestmark = pytest.mark.django_db
SECRET = "sk-profile-secret-123"


@pytest.fixture(autouse=True)
def catalog():
    catalog_install()


def create(client, *, name="Work", toolkit="custom-mcp", **params):
    body = {"toolkit_slug": toolkit, "profile_name": name, "initiation_params": params}
    return client.post("/api/composio/profiles", body, format="json")


@pytest.fixture
def profile(alice_client, mcp_server) -> dict:
    response = create(alice_client, server_url=mcp_server.http_url, api_key=SECRET)
    assert response.status_code == 201, response.content
    return response.json()


def test_a_profile_is_created_with_encrypted_credentials_that_never_come_back(alice, alice_client, profile):
    assert profile["success"] is True and profile["redirect_url"] is None
    saved = profile["profile"]
    assert saved["toolkit_slug"] == "custom-mcp" and saved["mcp_qualified_name"] == "composio:custom-mcp"
    assert saved["server_name"] == "custom-mcp-work" and saved["connected_account_id"] == profile["connection_id"]
    assert saved["is_default"] and saved["is_default_for_dashboard"], "a toolkit's first profile is both defaults"
    assert saved["connection_status"] == "INITIATED" and saved["is_connected"] is False
    assert {field["name"]: field["is_set"] for field in saved["fields"]} == {"server_url": True, "api_key": True}
    assert "value" not in next(field for field in saved["fields"] if field["name"] == "api_key")
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM tools_toolkitprofile WHERE id = %s", [profile["profile_id"]])
        stored = cursor.fetchone()[0]
    assert stored and SECRET not in stored
    for path in ("/api/composio/profiles", f"/api/composio/profiles/{profile['profile_id']}",
                 "/api/composio-secure/composio-profiles", "/api/composio-secure/dashboard-profiles",
                 f"/api/composio/profiles/{profile['profile_id']}/mcp-config", "/api/composio-secure/dashboard-mcp-urls"):
        response = alice_client.get(path)
        assert response.status_code == 200 and SECRET not in response.content.decode(), path


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"profile_name": "x"}, "toolkit_slug"),
        ({"toolkit_slug": "custom-mcp"}, "profile_name"),
        ({"toolkit_slug": "custom-mcp", "profile_name": "x", "initiation_params": {}}, "server_url"),
        ({"toolkit_slug": "custom-mcp", "profile_name": "x", "initiation_params": {"server_url": "ftp://x"}},
         "server_url"),
        ({"toolkit_slug": "custom-mcp", "profile_name": "x",
          "initiation_params": {"server_url": "https://example.com/mcp", "colour": "red"}}, "initiation_params"),
        ({"toolkit_slug": "github", "profile_name": "x"}, "personal_access_token"),
        ({"toolkit_slug": "github", "profile_name": "x", "initiation_params": {"personal_access_token": "a\r\nX: y"}},
         "personal_access_token"),
        ({"toolkit_slug": "custom-mcp", "profile_name": "x", "mcp_server_name": "a__b",
          "initiation_params": {"server_url": "https://example.com/mcp"}}, "mcp_server_name"),
    ],
)
def test_creating_validates_the_body_and_the_toolkit_fields(alice_client, body, field):
    response = alice_client.post("/api/composio/profiles", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"] and "detail" in response.json()
    assert not ToolkitProfile.objects.exists()


def test_an_unknown_toolkit_is_404_and_a_duplicate_name_409(alice_client, profile, mcp_server):
    response = create(alice_client, toolkit="nope", server_url=mcp_server.http_url)
    assert response.status_code == 404 and response.json() == {"detail": "Toolkit 'nope' not found."}
    assert create(alice_client, name="work", server_url=mcp_server.http_url).status_code == 409


def test_private_addresses_are_refused_unless_staff_allow_them(alice_client, admin_client, settings):
    settings.FETCH_ALLOW_LOOPBACK = False
    for url in ("http://127.0.0.1:9/mcp", "http://10.0.0.8/mcp", "http://169.254.169.254/latest"):
        response = create(alice_client, server_url=url)
        assert response.status_code == 400 and "non-public" in response.json()["detail"], url
    body = {"toolkit_slug": "custom-mcp", "profile_name": "x", "allow_private": True,
            "initiation_params": {"server_url": "http://10.0.0.8/mcp"}}
    assert alice_client.post("/api/composio/profiles", body, format="json").status_code == 403
    assert not ToolkitProfile.objects.exists()
    assert admin_client.post("/api/composio/profiles", body, format="json").status_code == 201


def test_check_name_availability(alice_client, profile):
    check = "/api/composio/profiles/check-name-availability"
    assert alice_client.get(check, {"toolkit_slug": "custom-mcp", "profile_name": "WORK"}).json()["available"] is False
    assert alice_client.get(check, {"toolkit_slug": "custom-mcp", "profile_name": "Home"}).json()["available"] is True
    assert alice_client.get(check, {"toolkit_slug": "github", "profile_name": "Work"}).json()["available"] is True
    assert alice_client.get(check, {"toolkit_slug": "custom-mcp"}).status_code == 400
    assert alice_client.get(check, {"toolkit_slug": "nope", "profile_name": "x"}).status_code == 404


def test_discover_tools_lists_the_servers_tools_and_sends_the_credentials(alice_client, profile, mcp_server):
    profile_id = profile["profile_id"]
    response = alice_client.post(f"/api/composio/discover-tools/{profile_id}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {tool["name"] for tool in body["tools"]} == {"echo", "fail", "slow", "vanish"}
    assert body["count"] == 4 and all(tool["enabled"] for tool in body["tools"]) and body["mcp_url"] == mcp_server.http_url
    assert {request["authorization"] for request in mcp_server.requests} == {f"Bearer {SECRET}"}
    got = alice_client.get(f"/api/composio/profiles/{profile_id}").json()["profile"]
    assert got["is_connected"] is True and got["connection_status"] == "ACTIVE" and got["tools_count"] == 4

    tools = alice_client.put(f"/api/composio/profiles/{profile_id}/tools", ["echo"], format="json")
    assert tools.status_code == 200 and tools.json() == {"success": True, "enabled_tools": ["echo"]}
    also = alice_client.put(f"/api/composio/profiles/{profile_id}/tools", {"enabled_tools": ["echo", "fail"]},
                            format="json")
    assert also.json()["enabled_tools"] == ["echo", "fail"]
    unknown = alice_client.put(f"/api/composio/profiles/{profile_id}/tools", ["echo", "rm_rf"], format="json")
    assert unknown.status_code == 400 and "rm_rf" in unknown.json()["detail"]
    assert alice_client.put(f"/api/composio/profiles/{profile_id}/tools", "echo", format="json").status_code == 400

    listed = alice_client.get("/api/composio/tools/list", {"toolkit_slug": "custom-mcp"}).json()
    assert {tool["name"] for tool in listed["tools"]} == {"echo", "fail", "slow", "vanish"} and listed["count"] == 4
    assert alice_client.get("/api/composio/tools/list").status_code == 400
    assert alice_client.get("/api/composio/tools/list", {"toolkit_slug": "nope"}).status_code == 404

    config = alice_client.get(f"/api/composio/profiles/{profile_id}/mcp-config").json()
    assert config == {"success": True, "profile_id": profile_id, "mcp_url": mcp_server.http_url,
                      "app_name": "custom-mcp", "server_name": "custom-mcp-work", "transport": "streamable_http",
                      "enabled_tools": ["echo", "fail"]}
    assert ToolkitProfile.objects.get(pk=profile_id).last_used_at is not None


def test_discover_tools_over_sse(alice_client, mcp_server):
    created = create(alice_client, server_url=mcp_server.sse_url).json()
    body = alice_client.post(f"/api/composio/discover-tools/{created['profile_id']}").json()
    assert body["count"] == 4
    assert alice_client.get(f"/api/composio/profiles/{created['profile_id']}/mcp-config").json()["transport"] == "sse"


def test_discovery_refuses_a_rebound_private_address_and_reports_an_unreachable_server(alice_client, profile,
                                                                                       mcp_server, settings):
    profile_id = profile["profile_id"]
    settings.FETCH_ALLOW_LOOPBACK = False
    refused = alice_client.post(f"/api/composio/discover-tools/{profile_id}")
    assert refused.status_code == 400 and "non-public" in refused.json()["detail"]
    assert mcp_server.requests == []
    settings.FETCH_ALLOW_LOOPBACK = True
    mcp_server.stop()
    gone = alice_client.post(f"/api/composio/discover-tools/{profile_id}")
    assert gone.status_code == 502 and "could not be reached" in gone.json()["detail"]
    status = alice_client.get(f"/api/composio/connections/status/{profile['connection_id']}").json()
    assert status["status"] == "FAILED" and "could not be reached" in status["error"]


def test_updating_a_profile(alice_client, profile, mcp_server):
    profile_id = profile["profile_id"]
    alice_client.post(f"/api/composio/discover-tools/{profile_id}")
    renamed = alice_client.put(f"/api/composio/profiles/{profile_id}", {"profile_name": "Office", "is_active": False},
                               format="json").json()["profile"]
    assert renamed["profile_name"] == "Office" and renamed["is_active"] is False and renamed["tools_count"] == 4
    rotated = alice_client.put(f"/api/composio/profiles/{profile_id}", {"initiation_params": {"api_key": "sk-new"}},
                               format="json").json()["profile"]
    assert rotated["connected_account_id"] != profile["connection_id"] and rotated["connection_status"] == "INITIATED"
    assert rotated["tools_count"] == 0
    alice_client.post(f"/api/composio/discover-tools/{profile_id}")
    assert mcp_server.requests[-1]["authorization"] == "Bearer sk-new"
    for body in ({"is_active": "maybe"}, {"profile_name": ""}, {"enabled_tools": ["nope"]},
                 {"initiation_params": {"server_url": "gopher://x"}}):
        assert alice_client.put(f"/api/composio/profiles/{profile_id}", body, format="json").status_code == 400, body


def test_defaults_are_one_per_toolkit(alice_client, profile, mcp_server):
    second = create(alice_client, name="Home", server_url=mcp_server.http_url).json()["profile"]
    assert not second["is_default"] and not second["is_default_for_dashboard"]
    secure = "/api/composio-secure/credential-profiles/"
    assert alice_client.put(secure + second["profile_id"] + "/set-default").json() == {
        "success": True, "message": "Default profile updated"}
    assert alice_client.put(secure + second["profile_id"] + "/set-dashboard-default").json()["success"] is True
    flags = {p.profile_name: (p.is_default, p.is_default_for_dashboard) for p in ToolkitProfile.objects.all()}
    assert flags == {"Work": (False, False), "Home": (True, True)}
    dashboard = alice_client.get("/api/composio-secure/dashboard-profiles").json()
    assert dashboard["count"] == 1 and dashboard["profiles"][0]["profile_name"] == "Home"
    urls = alice_client.get("/api/composio-secure/dashboard-mcp-urls").json()
    assert urls["count"] == 1 and urls["mcp_configs"][0]["mcp_url"] == mcp_server.http_url
    updated = alice_client.put(f"/api/composio/profiles/{profile['profile_id']}", {"is_default": True},
                               format="json").json()["profile"]
    assert updated["is_default"] is True and ToolkitProfile.objects.filter(is_default=True).count() == 1


def test_toggle_active(alice_client, profile):
    path = f"/api/composio-secure/credential-profiles/{profile['profile_id']}/toggle-active"
    assert alice_client.put(path + "?is_active=false").json() == {"success": True, "profile_id": profile["profile_id"],
                                                                  "is_active": False}
    assert alice_client.put(path).json()["is_active"] is True
    assert alice_client.put(path + "?is_active=true").json()["is_active"] is True
    assert alice_client.put(path + "?is_active=maybe").status_code == 400
    assert alice_client.get("/api/composio-secure/dashboard-profiles").json()["count"] == 1
    alice_client.put(path + "?is_active=false")
    assert alice_client.get("/api/composio-secure/dashboard-profiles").json()["count"] == 0


def test_secure_listing_groups_by_toolkit_and_gives_the_mcp_url(alice_client, profile, mcp_server, monkeypatch):
    async def public(host, port):
        # No DNS here: GitHub's MCP host answers a public address, as it would.
        return ["140.82.112.21"]

    monkeypatch.setattr("apps.core.fetch.resolve", public)
    assert create(alice_client, name="Mine", toolkit="github", personal_access_token="ghp_x").status_code == 201
    body = alice_client.get("/api/composio-secure/composio-profiles").json()
    assert body["total_profiles"] == 2
    assert [(group["toolkit_slug"], group["profile_count"]) for group in body["toolkits"]] == [
        ("custom-mcp", 1), ("github", 1)]
    url = alice_client.get(f"/api/composio-secure/composio-profiles/{profile['profile_id']}/mcp-url").json()
    assert url == {"success": True, "mcp_url": mcp_server.http_url, "profile_id": profile["profile_id"],
                   "profile_name": "Work", "toolkit_slug": "custom-mcp"}


def test_connections(alice_client, profile, mcp_server):
    listed = alice_client.get("/api/composio/connections").json()
    assert listed["count"] == 1 and listed["connections"][0] == {
        "id": profile["connection_id"], "app_name": "custom-mcp", "profile_id": profile["profile_id"],
        "status": "INITIATED", "created_at": listed["connections"][0]["created_at"]}
    assert alice_client.get("/api/composio/connections", {"app_name": "github"}).json()["count"] == 0
    assert alice_client.get("/api/composio/connections", {"app_name": "not a slug"}).status_code == 400
    alice_client.post(f"/api/composio/discover-tools/{profile['profile_id']}")
    status = alice_client.get(f"/api/composio/connections/status/{profile['connection_id']}").json()
    assert status["status"] == "ACTIVE" and status["error"] is None

    assert alice_client.delete(f"/api/composio/connections/{profile['connection_id']}").json() == {
        "success": True, "message": "Connection deleted"}
    assert alice_client.get(f"/api/composio/connections/status/{profile['connection_id']}").status_code == 404
    left = alice_client.get(f"/api/composio/profiles/{profile['profile_id']}").json()["profile"]
    assert left["connected_account_id"] is None and left["tools_count"] == 0 and not any(f["is_set"] for f in left["fields"])
    gone = alice_client.get(f"/api/composio/profiles/{profile['profile_id']}/mcp-config")
    assert gone.status_code == 409 and "no connection" in gone.json()["detail"]
    assert alice_client.post(f"/api/composio/discover-tools/{profile['profile_id']}").status_code == 409
    back = alice_client.put(f"/api/composio/profiles/{profile['profile_id']}",
                            {"initiation_params": {"server_url": mcp_server.http_url}}, format="json").json()["profile"]
    assert back["connected_account_id"] and back["connection_status"] == "INITIATED"


def test_deleting_profiles(alice_client, bob, client_for, profile, mcp_server):
    second = create(alice_client, name="Two", server_url=mcp_server.http_url).json()
    third = create(alice_client, name="Three", server_url=mcp_server.http_url).json()
    bobs = create(client_for(bob), name="Bob's", server_url=mcp_server.http_url).json()
    bulk = "/api/composio-secure/credential-profiles/bulk-delete"
    response = alice_client.post(bulk, {"profile_ids": [second["profile_id"], bobs["profile_id"], str(uuid.uuid4())]},
                                 format="json")
    assert response.json() == {"success": True, "deleted_count": 1, "requested_count": 3}
    assert ToolkitProfile.objects.filter(pk=bobs["profile_id"]).exists()
    for body in ({}, {"profile_ids": []}, {"profile_ids": ["not-a-uuid"]}, {"profile_ids": "x"}):
        assert alice_client.post(bulk, body, format="json").status_code == 400, body
    assert alice_client.delete(f"/api/composio-secure/credential-profiles/{third['profile_id']}").json() == {
        "success": True, "message": "Profile deleted"}
    assert alice_client.delete(f"/api/composio/profiles/{profile['profile_id']}").json()["success"] is True
    assert alice_client.get(f"/api/composio/profiles/{profile['profile_id']}").status_code == 404
    assert ToolkitProfile.objects.filter(owner__username="alice").count() == 0


PROFILE_ROUTES = [
    ("get", "/api/composio/profiles/{profile_id}"),
    ("put", "/api/composio/profiles/{profile_id}"),
    ("delete", "/api/composio/profiles/{profile_id}"),
    ("get", "/api/composio/profiles/{profile_id}/mcp-config"),
    ("post", "/api/composio/discover-tools/{profile_id}"),
    ("put", "/api/composio/profiles/{profile_id}/tools"),
    ("get", "/api/composio/connections/status/{connection_id}"),
    ("delete", "/api/composio/connections/{connection_id}"),
    ("get", "/api/composio-secure/composio-profiles/{profile_id}/mcp-url"),
    ("delete", "/api/composio-secure/credential-profiles/{profile_id}"),
    ("put", "/api/composio-secure/credential-profiles/{profile_id}/set-default"),
    ("put", "/api/composio-secure/credential-profiles/{profile_id}/set-dashboard-default"),
    ("put", "/api/composio-secure/credential-profiles/{profile_id}/toggle-active"),
]


@pytest.mark.parametrize(("method", "path"), PROFILE_ROUTES)
def test_another_users_profile_is_not_found(bob, client_for, profile, method, path, mcp_server):
    url = path.format(profile_id=profile["profile_id"], connection_id=profile["connection_id"])
    body = {"enabled_tools": []} if method == "put" else None
    response = getattr(client_for(bob), method)(url, body, format="json")
    assert response.status_code == 404 and "detail" in response.json()
    assert ToolkitProfile.objects.get(pk=profile["profile_id"]).connection_id is not None
    assert mcp_server.requests == []
    malformed = getattr(client_for(bob), method)(url.replace(profile["profile_id"], "x").replace(
        profile["connection_id"], "x"), body, format="json")
    assert malformed.status_code == 404


def test_another_users_profiles_are_not_listed(bob, client_for, profile):
    bob_client = client_for(bob)
    assert bob_client.get("/api/composio/profiles").json() == {"success": True, "profiles": [], "count": 0}
    assert bob_client.get("/api/composio/connections").json()["count"] == 0
    assert bob_client.get("/api/composio-secure/composio-profiles").json()["total_profiles"] == 0
    assert bob_client.get("/api/composio-secure/dashboard-profiles").json()["count"] == 0
    assert bob_client.get("/api/composio-secure/dashboard-mcp-urls").json()["count"] == 0
    assert bob_client.get("/api/composio/profiles/check-name-availability",
                          {"toolkit_slug": "custom-mcp", "profile_name": "Work"}).json()["available"] is True


ALL_ROUTES = [
    ("get", "/api/composio/health"), ("get", "/api/composio/categories"), ("get", "/api/composio/toolkits"),
    ("get", "/api/composio/toolkits/github/icon"), ("get", "/api/composio/toolkits/github/details"),
    ("get", "/api/composio/profiles"), ("post", "/api/composio/profiles"),
    ("get", "/api/composio/profiles/check-name-availability"), ("get", "/api/composio/tools/list"),
    ("get", "/api/composio/connections"), ("get", "/api/composio-secure/composio-profiles"),
    ("post", "/api/composio-secure/credential-profiles/bulk-delete"), ("get", "/api/composio-secure/dashboard-profiles"),
    ("get", "/api/composio-secure/dashboard-mcp-urls"), *PROFILE_ROUTES,
]


@pytest.mark.parametrize(("method", "path"), ALL_ROUTES)
def test_every_route_requires_sign_in(anon, method, path):
    url = path.format(profile_id=uuid.uuid4(), connection_id=uuid.uuid4())
    response = getattr(anon, method)(url)
    assert response.status_code == 401 and "detail" in response.json()


def test_the_admin_keeps_credentials_write_only(admin_client, admin_user, profile):
    admin_client.force_login(admin_user)
    page = admin_client.get(f"/admin/tools/toolkitprofile/{profile['profile_id']}/change/")
    assert page.status_code == 200 and SECRET not in page.content.decode()
    saved = ToolkitProfile.objects.get(pk=profile["profile_id"])
    form = {"owner": saved.owner_id, "toolkit": saved.toolkit_id, "profile_name": "Renamed", "display_name": "",
            "server_name": saved.server_name, "credentials": "", "connection_id": str(saved.connection_id),
            "is_active": "on", "tools": "[]", "enabled_tools": "null"}
    response = admin_client.post(f"/admin/tools/toolkitprofile/{saved.pk}/change/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    saved.refresh_from_db()
    assert saved.profile_name == "Renamed" and SECRET in saved.credentials
    form["credentials"] = "not json"
    assert b"Enter a JSON object" in admin_client.post(f"/admin/tools/toolkitprofile/{saved.pk}/change/", form).content


def test_a_staff_profile_allowed_private_addresses_discovers_a_loopback_server(admin_client, mcp_server, settings):
    settings.FETCH_ALLOW_LOOPBACK = False
    body = {"toolkit_slug": "custom-mcp", "profile_name": "Internal", "allow_private": True,
            "initiation_params": {"server_url": mcp_server.http_url}}
    created = admin_client.post("/api/composio/profiles", body, format="json").json()
    assert created["profile"]["allow_private"] is True
    assert admin_client.post(f"/api/composio/discover-tools/{created['profile_id']}").json()["count"] == 4
