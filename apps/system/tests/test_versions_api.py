"""002's desktop release feed: versions, latest, the Tauri check and the GitHub import."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.system.models import AppVersion

URL = "/api/system/version"
pytestmark = pytest.mark.django_db

MAC = {"darwin-aarch64": {"signature": "sig-mac", "url": "https://dl.example.com/app-1.2.0.app.tar.gz"}}


def _create(client, version="1.2.0", **fields):
    return client.post(URL, {"version": version, "notes": "Fixes", "platforms": MAC, **fields}, format="json")


def test_an_admin_creates_and_anyone_lists_versions(admin_client, anon):
    response = _create(admin_client)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["code"] == 200 and body["data"]["version"] == "1.2.0" and body["data"]["platforms"] == MAC
    _create(admin_client, "1.10.0")
    _create(admin_client, "1.10.0-beta.1")
    listed = anon.get(URL).json()["data"]
    assert [v["version"] for v in listed] == ["1.10.0", "1.10.0-beta.1", "1.2.0"]
    assert anon.get(f"{URL}/latest").json()["data"]["version"] == "1.10.0"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"version": "banana"}, "version"), ({"version": "1.0.0", "platforms": {"mac": {"url": "https://x"}}}, "platforms"),
     ({"version": "1.0.0", "platforms": {"darwin-x86_64": {"url": "ftp://x"}}}, "platforms"), ({}, "version")],
)
def test_it_refuses_bad_versions(admin_client, body, field):
    response = admin_client.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400 and field in response.json()["data"]["errors"]


def test_a_duplicate_version_is_a_conflict(admin_client):
    _create(admin_client)
    response = _create(admin_client)
    assert response.status_code == 409 and response.json()["code"] == 409


def test_only_admins_write_versions(alice_client, anon, admin_client):
    assert _create(alice_client).status_code == 403
    assert _create(anon).status_code == 401
    _create(admin_client)
    assert alice_client.delete(f"{URL}/1.2.0").status_code == 403
    assert anon.delete(f"{URL}/1.2.0").status_code == 401
    assert alice_client.post(f"{URL}/import_github", {}, format="json").status_code == 403
    assert anon.post(f"{URL}/import_github", {}, format="json").status_code == 401


def test_an_admin_deletes_a_version(admin_client):
    _create(admin_client)
    response = admin_client.delete(f"{URL}/1.2.0")
    assert response.status_code == 200 and response.json()["data"] == {"success": True}
    assert admin_client.delete(f"{URL}/1.2.0").status_code == 404
    assert admin_client.get(f"{URL}/latest").status_code == 404


def test_check_answers_the_tauri_format_or_204(admin_client, anon):
    _create(admin_client, "1.2.0")
    _create(admin_client, "1.3.0", platforms={"windows-x86_64": {"signature": "s", "url": "https://dl/x.msi.zip"}})
    response = anon.get(f"{URL}/check", {"current_version": "1.1.0", "target": "darwin", "arch": "aarch64"})
    assert response.status_code == 200
    assert response.json() == {
        "version": "1.2.0", "notes": "Fixes", "pub_date": AppVersion.objects.get(version="1.2.0").pub_date.isoformat(),
        "platforms": MAC, "url": MAC["darwin-aarch64"]["url"], "signature": "sig-mac",
    }
    assert anon.get(f"{URL}/check", {"current_version": "1.2.0", "target": "darwin", "arch": "aarch64"}).status_code == 204
    assert anon.get(f"{URL}/check", {"current_version": "1.2.0", "target": "windows", "arch": "x86_64"}).json()["version"] == "1.3.0"
    bad = anon.get(f"{URL}/check", {"current_version": "nope", "target": "darwin", "arch": "aarch64"})
    assert bad.status_code == 400 and "version" in bad.json()["data"]["errors"]
    assert anon.get(f"{URL}/check", {"target": "darwin"}).status_code == 400


class _FakeGithub(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, str]] = {}

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        status, body = self.routes.get(self.path, (404, '{"message": "Not Found"}'))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_github(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeGithub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.VERSION_GITHUB_API_URL = base
    settings.VERSION_GITHUB_REPO = "acme/desk"
    settings.FETCH_ALLOW_LOOPBACK = True
    release = {
        "tag_name": "v2.0.1", "body": "Big release", "published_at": "2026-11-30T10:00:00Z",
        "assets": [
            {"name": "Desk_aarch64.app.tar.gz", "browser_download_url": f"{base}/dl/Desk_aarch64.app.tar.gz"},
            {"name": "Desk_aarch64.app.tar.gz.sig", "browser_download_url": f"{base}/dl/Desk_aarch64.app.tar.gz.sig"},
            {"name": "Desk_2.0.1_x64_en-US.msi.zip", "browser_download_url": f"{base}/dl/Desk.msi.zip"},
        ],
    }
    _FakeGithub.routes = {"/repos/acme/desk/releases/latest": (200, json.dumps(release)),
                          "/dl/Desk_aarch64.app.tar.gz.sig": (200, "c2lnbmF0dXJl\n")}
    yield base
    server.shutdown()


def test_import_github_reads_the_latest_release(admin_client, fake_github):
    response = admin_client.post(f"{URL}/import_github", {}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["version"] == "2.0.1" and data["notes"] == "Big release" and data["source"] == "github"
    assert data["platforms"] == {
        "darwin-aarch64": {"signature": "c2lnbmF0dXJl", "url": f"{fake_github}/dl/Desk_aarch64.app.tar.gz"},
        "windows-x86_64": {"signature": "", "url": f"{fake_github}/dl/Desk.msi.zip"},
    }
    # Importing again refreshes the same record.
    assert admin_client.post(f"{URL}/import_github", {}, format="json").status_code == 200
    assert AppVersion.objects.count() == 1


def test_import_github_prefers_the_releases_latest_json(admin_client, fake_github):
    manifest = {"version": "2.0.1", "platforms": {"linux-x86_64": {"signature": "lin", "url": "https://dl/x.AppImage.tar.gz"}}}
    release = json.loads(_FakeGithub.routes["/repos/acme/desk/releases/latest"][1])
    release["assets"].append({"name": "latest.json", "browser_download_url": f"{fake_github}/dl/latest.json"})
    _FakeGithub.routes["/repos/acme/desk/releases/latest"] = (200, json.dumps(release))
    _FakeGithub.routes["/dl/latest.json"] = (200, json.dumps(manifest))
    data = admin_client.post(f"{URL}/import_github", {}, format="json").json()["data"]
    assert data["platforms"] == manifest["platforms"]


def test_import_github_is_a_clear_502_when_github_fails(admin_client, fake_github, settings):
    response = admin_client.post(f"{URL}/import_github", {"repo": "acme/missing"}, format="json")
    assert response.status_code == 502 and "HTTP 404" in response.json()["message"]
    settings.VERSION_GITHUB_API_URL = "http://github.invalid"
    response = admin_client.post(f"{URL}/import_github", {}, format="json")
    assert response.status_code == 502 and response.json()["message"].startswith("GitHub could not be reached")


def test_import_github_needs_a_repository(admin_client, settings):
    settings.VERSION_GITHUB_REPO = ""
    response = admin_client.post(f"{URL}/import_github", {}, format="json")
    assert response.status_code == 400 and "repo" in response.json()["data"]["errors"]
    response = admin_client.post(f"{URL}/import_github", {"repo": "../etc"}, format="json")
    assert response.status_code == 400
