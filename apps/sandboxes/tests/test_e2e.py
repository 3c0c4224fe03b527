"""End to end on daphne (the ASGI app as shipped): files, a command, a preview through /preview/, a deploy."""
from __future__ import annotations

import time

import pytest

from apps.sandboxes.tests.conftest import needs_bwrap

pytestmark = [pytest.mark.django_db(transaction=True), needs_bwrap]


def test_a_user_builds_previews_and_deploys_a_page(alice, daphne):
    with daphne.client(alice) as api:
        project = api.post("/api/projects", json={"name": "Hello Page"}).json()
        project_id = project.get("project_id") or project.get("id")
        sandbox_id = api.post(f"/api/project/{project_id}/sandbox/ensure-active").json()["sandbox_id"]
        files = {"file": ("index.html", b"<h1>Hello from my sandbox</h1>")}
        assert api.post(f"/api/sandboxes/{sandbox_id}/files", files=files).status_code == 201
        ran = api.post(f"/api/sandboxes/{sandbox_id}/execute", json={"command": "python3 -c 'print(sum(range(10)))'"}).json()
        assert ran["stdout"] == "45\n", ran
        preview = api.get(f"/api/sandboxes/{sandbox_id}/preview-url").json()
        assert preview["url"].startswith(daphne.url + f"/preview/{sandbox_id}/8000/")
        for _ in range(300):  # the preview server inside needs a moment to listen
            page = api.get(preview["url"], headers={"Authorization": ""})
            if page.status_code != 502:
                break
            time.sleep(0.1)
        assert page.status_code == 200 and page.text == "<h1>Hello from my sandbox</h1>"
        assert page.headers["content-security-policy"].startswith("sandbox")
        deployed = api.post(f"/api/project/{project_id}/deploy/git", json={}).json()
        assert deployed["status"] == "ready"
        site = api.get(deployed["url"])
        assert site.status_code == 200 and site.text == "<h1>Hello from my sandbox</h1>"
        assert api.delete(f"/api/sandboxes/{sandbox_id}").status_code == 200
