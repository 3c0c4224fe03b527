"""004 — /api/sandboxes/*, /api/project/{id}/sandbox/ensure-active: success, validation, 401, 404."""
from __future__ import annotations

import io
import json
import zipfile

import pytest
from asgiref.sync import async_to_sync
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.sandboxes import services
from apps.sandboxes.models import Sandbox
from apps.sandboxes.tests.conftest import needs_bwrap

pytestmark = [pytest.mark.django_db, needs_bwrap]
S = "/api/sandboxes"


async def _collect(response) -> bytes:
    return b"".join([chunk async for chunk in response.streaming_content])


def sse_data(response) -> list[dict]:
    text = async_to_sync(_collect)(response).decode()
    return [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: ")]


@pytest.fixture
def project_sandbox(alice, project):
    return services.project_sandbox_ensure_active(user=alice, project=project)[0]


def test_ensure_active_creates_then_reuses_and_resumes(alice_client, project):
    first = alice_client.post(f"/api/project/{project.pk}/sandbox/ensure-active")
    assert first.status_code == 201 and first.json()["created"] is True
    sandbox = Sandbox.objects.get(public_id=first.json()["sandbox_id"])
    services.sandbox_pause(sandbox=sandbox)
    again = alice_client.post(f"/api/project/{project.pk}/sandbox/ensure-active")
    assert again.status_code == 200
    assert again.json()["sandbox_id"] == sandbox.public_id and again.json()["status"] == "running"


def test_ensure_active_hides_another_users_project(bob_client, anon, project):
    assert bob_client.post(f"/api/project/{project.pk}/sandbox/ensure-active").status_code == 404
    assert bob_client.post("/api/project/not-a-uuid/sandbox/ensure-active").status_code == 404
    assert anon.post(f"/api/project/{project.pk}/sandbox/ensure-active").status_code == 401


def test_files_upload_list_tree_content_delete(alice_client, sandbox):
    base = f"{S}/{sandbox.public_id}"
    files = [SimpleUploadedFile("index.html", b"<h1>hi</h1>"), SimpleUploadedFile("app.js", b"console.log(1)")]
    response = alice_client.post(f"{base}/files", {"files": files, "path": "site"}, format="multipart")
    assert response.status_code == 201, response.content
    assert [item["path"] for item in response.json()["uploaded"]] == ["site/index.html", "site/app.js"]
    listing = alice_client.get(f"{base}/files", {"path": "site"}).json()
    assert {entry["name"] for entry in listing["files"]} == {"index.html", "app.js"}
    tree = alice_client.get(f"{base}/files/tree").json()["tree"]
    assert tree[0]["name"] == "site" and {child["name"] for child in tree[0]["children"]} == {"index.html", "app.js"}
    content = alice_client.get(f"{base}/files/content", {"path": "site/index.html"}).json()
    assert content["content"] == "<h1>hi</h1>"
    assert alice_client.delete(f"{base}/files?path=site/app.js").status_code == 200
    assert alice_client.get(f"{base}/files/content", {"path": "site/app.js"}).status_code == 404
    body = json.dumps({"paths": ["site"]})
    assert alice_client.delete(f"{base}/files", body, content_type="application/json").status_code == 200
    assert alice_client.get(f"{base}/files", {"path": "site"}).status_code == 404


def test_file_routes_validate_and_refuse_traversal(alice_client, sandbox, tmp_path):
    base = f"{S}/{sandbox.public_id}"
    services.sandbox_exec(sandbox=sandbox, command=f"ln -s /etc/passwd pw; ln -s {tmp_path} out")
    assert alice_client.get(f"{base}/files/content").status_code == 400
    assert alice_client.post(f"{base}/files", {}, format="multipart").status_code == 400
    for path in ("../../etc/passwd", "/etc/passwd", "pw", "out/x"):
        assert alice_client.get(f"{base}/files/content", {"path": path}).status_code in (400, 404)
        assert alice_client.get(f"{base}/files", {"path": path}).status_code in (400, 404)
        assert alice_client.get(f"{base}/files/tree", {"path": path}).status_code in (400, 404)
        assert alice_client.get(f"{base}/download-archive", {"path": path}).status_code in (400, 404)
        upload = SimpleUploadedFile("x", b"x")
        assert alice_client.post(f"{base}/files", {"file": upload, "path": path}, format="multipart").status_code in (400, 404)
    assert alice_client.delete(f"{base}/files?path=../../etc").status_code == 400
    assert alice_client.delete(f"{base}/files?path=/etc/passwd").status_code == 400
    assert (tmp_path).exists()


def test_oversize_upload_is_413(alice_client, sandbox, settings):
    big = SimpleUploadedFile("big.bin", b"x" * (settings.SANDBOX_MAX_UPLOAD_BYTES + 1))
    response = alice_client.post(f"{S}/{sandbox.public_id}/files", {"file": big}, format="multipart")
    assert response.status_code == 413 and "detail" in response.json()


def test_download_archive_streams_a_zip_without_links(alice_client, sandbox):
    services.file_write(sandbox=sandbox, path="a/b.txt", data=b"bee")
    services.sandbox_exec(sandbox=sandbox, command="ln -s /etc/passwd a/link")
    response = alice_client.get(f"{S}/{sandbox.public_id}/download-archive")
    assert response.status_code == 200 and response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["a/b.txt"]
    assert archive.read("a/b.txt") == b"bee"


def test_execute_runs_commands_and_sessions(alice_client, sandbox):
    base = f"{S}/{sandbox.public_id}"
    body = alice_client.post(f"{base}/execute", {"command": "python3 -c 'print(6*7)'"}, format="json").json()
    assert body["stdout"] == "42\n" and body["exit_code"] == 0
    started = alice_client.post(f"{base}/execute", {"command": "echo one; echo two", "session_name": "job"}, format="json")
    assert started.status_code == 201 and started.json()["session_name"] == "job"
    session = sandbox.sessions.get(name="job")
    backend = services.backend_for(sandbox)
    spec = services.sandbox_spec(sandbox)
    # Wait for the process itself (not a clock): the session's bwrap exits when its command does.
    import os

    try:
        os.waitpid(session.pid, 0)
    except ChildProcessError:
        pass
    while backend.session_state(spec, "job", session.pid).running:
        pass
    status = alice_client.get(f"{base}/sessions/job/status").json()
    assert status["status"] == "exited" and status["exit_code"] == 0
    assert alice_client.get(f"{base}/sessions/nope/status").status_code == 404
    assert alice_client.post(f"{base}/execute", {}, format="json").status_code == 400


def test_dev_server_stream_replays_and_ends_with_the_session(alice_client, sandbox):
    base = f"{S}/{sandbox.public_id}"
    alice_client.post(f"{base}/execute", {"command": "for i in 1 2 3; do echo line$i; done", "session_name": "dev-server"}, format="json")
    response = alice_client.get(f"{base}/dev-server/stream")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream")
    frames = sse_data(response)
    assert [frame["line"] for frame in frames if frame["type"] == "output"] == ["line1", "line2", "line3"]
    assert frames[-1]["type"] == "end" and frames[-1]["exit_code"] == 0
    resumed = alice_client.get(f"{base}/dev-server/stream", {"index": 2})
    frames = sse_data(resumed)
    assert [frame["line"] for frame in frames if frame["type"] == "output"] == ["line3"]
    assert alice_client.get(f"{base}/dev-server/stream", {"session": "nope"}).status_code == 404
    assert alice_client.get(f"{base}/dev-server/stream", {"index": -1}).status_code == 400
    # What EventSource and other streaming clients send is never a 406 (issue 7).
    for accept in ("text/event-stream", "application/x-ndjson", "*/*"):
        response = alice_client.get(f"{base}/dev-server/stream", HTTP_ACCEPT=accept)
        assert response.status_code == 200 and response["Content-Type"].startswith("text/event-stream"), accept


def test_preview_url_starts_a_preview_server(alice_client, sandbox):
    response = alice_client.get(f"{S}/{sandbox.public_id}/preview-url")
    assert response.status_code == 200
    assert f"/preview/{sandbox.public_id}/8000/" in response.json()["url"]
    assert sandbox.sessions.get(name="dev-server").status == "running"
    assert alice_client.get(f"{S}/{sandbox.public_id}/preview-url", {"port": 0}).status_code == 400


def test_expo_url_is_404_without_an_expo_server(alice_client, sandbox):
    response = alice_client.get(f"{S}/{sandbox.public_id}/expo-url")
    assert response.status_code == 404 and "Expo" in response.json()["detail"]
    services.session_start(sandbox=sandbox, name="expo", command="sleep 60", port=8081)
    body = alice_client.get(f"{S}/{sandbox.public_id}/expo-url").json()
    assert body["port"] == 8081 and body["expo_url"].startswith("exp://")


def test_delete_sandbox(alice_client, sandbox):
    assert alice_client.delete(f"{S}/{sandbox.public_id}").status_code == 200
    assert alice_client.delete(f"{S}/{sandbox.public_id}").status_code == 404


ROUTES = [
    ("post", "/files"), ("get", "/files"), ("get", "/files/tree"), ("get", "/files/content?path=a"),
    ("get", "/download-archive"), ("delete", "/files?path=a"), ("delete", ""), ("post", "/execute"),
    ("get", "/sessions/dev-server/status"), ("get", "/preview-url"), ("get", "/expo-url"), ("get", "/dev-server/stream"),
]


@pytest.mark.parametrize(("method", "suffix"), ROUTES)
def test_another_users_sandbox_is_404_and_no_auth_is_401(method, suffix, bob_client, anon, sandbox):
    url = f"{S}/{sandbox.public_id}{suffix}"
    body = {"command": "true"} if suffix == "/execute" else {}
    assert getattr(bob_client, method)(url, body, format="json").status_code == 404
    assert getattr(anon, method)(url, body, format="json").status_code == 401
    assert Sandbox.objects.filter(pk=sandbox.pk, status="running").exists()


def test_a_name_longer_than_the_filesystem_allows_is_a_400(alice_client, sandbox):
    # Found by fuzzing: a 1,000-character name reached os.mkdir and came back as a 500 (ENAMETOOLONG).
    base = f"{S}/{sandbox.public_id}"
    long = "x" * 256
    assert alice_client.get(f"{base}/files", {"path": long}).status_code == 400
    assert alice_client.get(f"{base}/files/tree", {"path": f"a/{long}"}).status_code == 400
    response = alice_client.post(f"/api/v1/agent/sandboxes/{sandbox.public_id}/mkdir", {"path": long}, format="json")
    assert response.status_code == 400 and "too long" in response.json()["detail"]
    assert alice_client.post(f"/api/v1/agent/sandboxes/{sandbox.public_id}/mkdir", {"path": "x" * 255},
                             format="json").status_code == 201


def test_a_sandbox_whose_workspace_is_gone_is_a_404(alice_client, sandbox):
    # Found by fuzzing: the workspace was removed (the sandbox stopped) between the lookup and the read.
    import shutil

    from apps.sandboxes import services as sandbox_services

    shutil.rmtree(sandbox_services.sandbox_spec(sandbox).workspace)
    response = alice_client.get(f"{S}/{sandbox.public_id}/files")
    assert response.status_code == 404 and "no longer exists" in response.json()["detail"]
