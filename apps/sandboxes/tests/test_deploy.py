"""Deployments: deploy/git commits and publishes to /sites/<slug>/, update redeploys, status reports."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from apps.sandboxes import deploy, services
from apps.sandboxes.tests.conftest import needs_bwrap

pytestmark = [pytest.mark.django_db, needs_bwrap]


@pytest.fixture
def site_sandbox(alice, project):
    sandbox = services.project_sandbox_ensure_active(user=alice, project=project)[0]
    services.file_write(sandbox=sandbox, path="index.html", data=b"<h1>v1</h1><script src='app.js'></script>")
    services.file_write(sandbox=sandbox, path="app.js", data=b"console.log('hi')")
    return sandbox


def test_deploy_git_publishes_the_workspace(alice_client, client, project, site_sandbox):
    response = alice_client.post(f"/api/project/{project.pk}/deploy/git", {}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "ready" and body["version"] == 1 and body["provider"] == "git"
    assert body["url"].endswith(f"/sites/{deploy.site_slug(project)}/")
    assert len(body["commit"]) == 40 and any("live at" in line for line in body["logs"])
    repo = Path(settings.DEPLOY_ROOT) / "_git" / f"{deploy.site_slug(project)}.git"
    files = subprocess.run(["git", "--git-dir", str(repo), "ls-tree", "--name-only", "HEAD"], capture_output=True, text=True).stdout
    assert files.split() == ["app.js", "index.html"]
    page = client.get(f"/sites/{deploy.site_slug(project)}/")
    assert page.status_code == 200 and b"".join(page.streaming_content) == b"<h1>v1</h1><script src='app.js'></script>"
    assert page["Content-Type"].startswith("text/html")
    assert "sandbox" in page["Content-Security-Policy"] and page["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/sites/{deploy.site_slug(project)}/app.js")["Content-Type"].startswith(("text/javascript", "application/javascript"))


def test_update_redeploys_a_new_version_and_build_output_wins(alice_client, client, project, site_sandbox):
    alice_client.post(f"/api/project/{project.pk}/deploy/git", {}, format="json")
    services.file_write(sandbox=site_sandbox, path="dist/index.html", data=b"<h1>built</h1>")
    response = alice_client.post(f"/api/project/{project.pk}/deploy/git/update")
    assert response.status_code == 200 and response.json()["version"] == 2
    page = client.get(f"/sites/{deploy.site_slug(project)}/index.html")
    assert b"".join(page.streaming_content) == b"<h1>built</h1>"
    status = alice_client.get(f"/api/project/{project.pk}/deployment/status").json()
    assert status["version"] == 2 and status["status"] == "ready"
    live = alice_client.get(f"/api/project/{project.pk}/deployment/live-status").json()
    assert live["live"] is True and live["live_version"] == 2


def test_sites_never_serve_links_or_leave_their_directory(alice_client, client, project, site_sandbox, tmp_path):
    (tmp_path / "secret.txt").write_text("host secret")
    services.sandbox_exec(sandbox=site_sandbox, command=f"ln -s {tmp_path}/secret.txt leak.txt; ln -s {tmp_path} dir")
    alice_client.post(f"/api/project/{project.pk}/deploy/git", {}, format="json")
    slug = deploy.site_slug(project)
    for path in ("leak.txt", "dir/secret.txt", "../../secret.txt", "%2e%2e/%2e%2e/etc/passwd"):
        response = client.get(f"/sites/{slug}/{path}")
        assert response.status_code == 404, path
    assert client.get("/sites/no-such-site/").status_code == 404
    assert client.post(f"/sites/{slug}/").status_code == 405


def test_update_and_status_before_any_deploy_are_404(alice_client, project, site_sandbox):
    assert alice_client.post(f"/api/project/{project.pk}/deploy/git/update").status_code == 404
    assert alice_client.get(f"/api/project/{project.pk}/deployment/status").status_code == 404
    assert alice_client.get(f"/api/project/{project.pk}/deployment/live-status").status_code == 404


def test_deploy_validates_its_sandbox(alice_client, project, site_sandbox, bob):
    foreign = services.sandbox_create(user=bob)
    response = alice_client.post(f"/api/project/{project.pk}/deploy/git", {"sandbox_id": foreign.public_id}, format="json")
    assert response.status_code == 404
    response = alice_client.post(f"/api/project/{project.pk}/deploy/git", {"sandbox_id": ["x"]}, format="json")
    assert response.status_code == 400


def test_a_project_without_a_sandbox_cannot_deploy(alice_client, project):
    assert alice_client.post(f"/api/project/{project.pk}/deploy/git", {}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("post", "deploy/git"), ("post", "deploy/git/update"), ("get", "deployment/status"), ("get", "deployment/live-status")],
)
def test_deploy_routes_hide_another_users_project(method, suffix, bob_client, anon, project):
    assert getattr(bob_client, method)(f"/api/project/{project.pk}/{suffix}", {}, format="json").status_code == 404
    assert getattr(anon, method)(f"/api/project/{project.pk}/{suffix}", {}, format="json").status_code == 401
