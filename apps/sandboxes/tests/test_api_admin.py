"""003 — /api/v1/agent/sandboxes: every route's success, validation, 401 and another user's 404."""
from __future__ import annotations

import io
import os
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pptx import Presentation

from apps.sandboxes import services
from apps.sandboxes.backends.bubblewrap import descendants
from apps.sandboxes.models import Sandbox, SandboxLimit
from apps.sandboxes.tests.conftest import needs_bwrap

pytestmark = [pytest.mark.django_db, needs_bwrap]
A = "/api/v1/agent/sandboxes"
SPIN_1_5_CPU_SECONDS = "python3 -c 'import time\nstart = time.process_time()\nwhile time.process_time() - start < 1.5: pass'"


def test_it_creates_a_sandbox(alice_client):
    response = alice_client.post(A, {"template_id": "agents-backend-sandbox"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sandbox_id"].startswith("sbx_")
    assert "mcp_url" in body and body["vscode_url"] is None
    assert Sandbox.objects.get(public_id=body["sandbox_id"]).status == "running"


def test_it_enforces_the_alive_limit(alice_client, settings):
    settings.SANDBOX_MAX_PER_USER = 1
    assert alice_client.post(A, {}, format="json").status_code == 201
    response = alice_client.post(A, {}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "SANDBOX_LIMIT"


def test_it_runs_a_command(alice_client, sandbox):
    response = alice_client.post(f"{A}/run-command", {"sandbox_id": sandbox.public_id, "command": "echo hi; echo err >&2; exit 3"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["stdout"], body["stderr"], body["exit_code"], body["timed_out"]) == ("hi\n", "err\n", 3, False)
    assert body["duration"] >= 0


def test_a_command_past_its_timeout_says_so(alice_client, sandbox):
    response = alice_client.post(f"{A}/run-command", {"sandbox_id": sandbox.public_id, "command": "sleep 60", "timeout": 0.5}, format="json")
    body = response.json()
    assert body["timed_out"] is True and body["exit_code"] is None and body["killed_reason"] == "timeout"


def test_run_command_validates(alice_client, sandbox):
    response = alice_client.post(f"{A}/run-command", {"sandbox_id": sandbox.public_id}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "INVALID" and "command" in response.json()["detail"]
    response = alice_client.post(f"{A}/run-command", {"sandbox_id": sandbox.public_id, "command": "ls", "cwd": "../.."}, format="json")
    assert response.status_code == 400


def test_the_cpu_budget_per_hour_is_enforced(alice, alice_client, sandbox):
    SandboxLimit.objects.create(user=alice, max_alive=3, disk_bytes=10**8, cpu_seconds_per_hour=1)
    alice_client.post(f"{A}/run-command", {"sandbox_id": sandbox.public_id, "command": SPIN_1_5_CPU_SECONDS}, format="json")
    response = alice_client.post(f"{A}/run-command", {"sandbox_id": sandbox.public_id, "command": "true"}, format="json")
    assert response.status_code == 429


def test_status_info_urls(alice_client, sandbox):
    assert alice_client.get(f"{A}/{sandbox.public_id}").json()["status"] == "running"
    info = alice_client.get(f"{A}/{sandbox.public_id}/info").json()
    assert info["limits"]["disk_bytes"] == sandbox.disk_bytes and info["backend"] == "bubblewrap"
    urls = alice_client.get(f"{A}/{sandbox.public_id}/urls").json()
    assert set(urls) >= {"mcp_url", "vscode_url", "preview_urls"}


def test_vscode_url_when_configured(alice_client, sandbox, settings):
    settings.SANDBOX_VSCODE_URL = "https://code.example/{sandbox_id}"
    assert alice_client.get(f"{A}/{sandbox.public_id}/urls").json()["vscode_url"] == f"https://code.example/{sandbox.public_id}"


def test_timeout_schedules_expiry(alice_client, sandbox):
    response = alice_client.post(f"{A}/{sandbox.public_id}/timeout", {"timeout": 120}, format="json")
    assert response.status_code == 200 and response.json()["expires_at"]
    assert alice_client.post(f"{A}/{sandbox.public_id}/timeout", {"timeout": 0}, format="json").status_code == 400


def test_pause_freezes_and_next_use_resumes(alice_client, sandbox):
    session = services.session_start(sandbox=sandbox, name="counter", command="while true; do date +%s%N >> ticks; sleep 0.05; done")
    response = alice_client.post(f"{A}/{sandbox.public_id}/pause")
    assert response.json()["status"] == "paused"
    states = []
    for pid in descendants([session.pid]):
        try:
            states.append(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0])
        except OSError:
            continue
    assert states and set(states) <= {"T", "D"}  # stopped (signals) or frozen (the freezer cgroup)
    connect = alice_client.post(f"{A}/connect", {"sandbox_id": sandbox.public_id}, format="json")
    assert connect.json()["status"] == "running"
    # A running process may sit in D for an instant (its write to ``ticks``); a frozen one stays there.
    deadline = time.monotonic() + 2
    while True:
        state = open(f"/proc/{session.pid}/stat").read().rsplit(")", 1)[1].split()[0]
        if state not in {"T", "D"} or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert state not in {"T", "D"}


def test_delete_removes_processes_and_files(alice_client, sandbox):
    services.session_start(sandbox=sandbox, name="sleeper", command="sleep 600")
    workspace = services.sandbox_spec(sandbox).workspace
    response = alice_client.delete(f"{A}/{sandbox.public_id}")
    assert response.status_code == 200
    assert not Sandbox.objects.filter(pk=sandbox.pk).exists()
    assert not workspace.exists()
    assert services.backend_for(sandbox)._session_pids(services.sandbox_spec(sandbox)) == []


def test_expose_port(alice_client, sandbox):
    response = alice_client.post(f"{A}/{sandbox.public_id}/expose-port", {"port": 8000}, format="json")
    assert response.status_code == 200 and f"/preview/{sandbox.public_id}/8000/" in response.json()["url"]
    assert alice_client.post(f"{A}/{sandbox.public_id}/expose-port", {"port": 70000}, format="json").status_code == 400


def test_write_read_mkdir(alice_client, sandbox):
    sid = sandbox.public_id
    assert alice_client.post(f"{A}/{sid}/mkdir", {"path": "src/pkg"}, format="json").status_code == 201
    response = alice_client.post(f"{A}/write-file", {"sandbox_id": sid, "path": "src/pkg/a.py", "content": "print(1)\n"}, format="json")
    assert response.json()["size"] == 9
    response = alice_client.post(f"{A}/read-file", {"sandbox_id": sid, "path": "/workspace/src/pkg/a.py"}, format="json")
    assert response.json()["content"] == "print(1)\n"
    alice_client.post(f"{A}/write-file", {"sandbox_id": sid, "path": "b.bin", "content": "AAEC/w==", "encoding": "base64"}, format="json")
    body = alice_client.post(f"{A}/read-file", {"sandbox_id": sid, "path": "b.bin"}, format="json").json()
    assert body["encoding"] == "base64" and body["content"] == "AAEC/w=="
    assert alice_client.post(f"{A}/read-file", {"sandbox_id": sid, "path": "nope"}, format="json").status_code == 404
    bad = alice_client.post(f"{A}/write-file", {"sandbox_id": sid, "path": "x", "content": "!!", "encoding": "base64"}, format="json")
    assert bad.status_code == 400


def test_upload_file_and_its_limit(alice_client, sandbox, settings):
    upload = SimpleUploadedFile("data.csv", b"a,b\n1,2\n")
    response = alice_client.post(f"{A}/upload-file", {"sandbox_id": sandbox.public_id, "file": upload, "path": "in/"}, format="multipart")
    assert response.status_code == 201 and response.json()["path"] == "in/data.csv"
    assert (services.sandbox_spec(sandbox).workspace / "in" / "data.csv").read_bytes() == b"a,b\n1,2\n"
    big = SimpleUploadedFile("big.bin", b"x" * (settings.SANDBOX_MAX_UPLOAD_BYTES + 1))
    response = alice_client.post(f"{A}/upload-file", {"sandbox_id": sandbox.public_id, "file": big}, format="multipart")
    assert response.status_code == 413
    assert not (services.sandbox_spec(sandbox).workspace / "big.bin").exists()
    assert alice_client.post(f"{A}/upload-file", {"sandbox_id": sandbox.public_id}, format="multipart").status_code == 400


def test_upload_from_url_and_download_to_presigned(alice_client, sandbox, fake_http):
    response = alice_client.post(
        f"{A}/upload-from-url", {"sandbox_id": sandbox.public_id, "url": fake_http.url("/file.txt"), "path": "got.txt"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (services.sandbox_spec(sandbox).workspace / "got.txt").read_bytes() == b"remote bytes"
    response = alice_client.post(
        f"{A}/download-to-presigned",
        {"sandbox_id": sandbox.public_id, "path": "got.txt", "presigned_url": fake_http.url("/upload?sig=1")}, format="json",
    )
    assert response.status_code == 200, response.content
    assert fake_http.puts == [("/upload?sig=1", b"remote bytes")]


def test_upload_from_url_refuses_private_addresses(alice_client, sandbox, settings):
    settings.FETCH_ALLOW_LOOPBACK = False
    response = alice_client.post(
        f"{A}/upload-from-url", {"sandbox_id": sandbox.public_id, "url": "http://127.0.0.1:6379/", "path": "x"}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "FETCH_REFUSED"


def test_slides_crud_and_pptx(alice_client, sandbox):
    base = f"{A}/{sandbox.public_id}/slides"
    first = alice_client.post(base, {"title": "Intro", "content": "<h1>Intro</h1><p>Hello</p>"}, format="json").json()
    second = alice_client.post(base, {"title": "Zero", "html": "<p>first!</p>", "position": 0}, format="json").json()
    listing = alice_client.get(base).json()
    assert [item["id"] for item in listing["slides"]] == [second["id"], first["id"]]
    assert (services.sandbox_spec(sandbox).workspace / "slides" / f"{first['id']}.html").exists()
    assert alice_client.get(f"{base}/{first['id']}").json()["content"] == "<h1>Intro</h1><p>Hello</p>"
    updated = alice_client.put(f"{base}/{first['id']}", {"content": "<p>Bye</p>", "position": 0}, format="json").json()
    assert updated["position"] == 0 and updated["content"] == "<p>Bye</p>"
    deck = alice_client.get(base, {"export": "pptx"})
    assert deck.status_code == 200
    presentation = Presentation(io.BytesIO(deck.content))
    assert [slide.shapes.title.text for slide in presentation.slides] == ["Intro", "Zero"]
    assert alice_client.delete(f"{base}/{second['id']}").status_code == 204
    assert alice_client.get(f"{base}/{second['id']}").status_code == 404
    assert alice_client.post(base, {"title": "empty"}, format="json").status_code == 400
    assert alice_client.get(f"{base}/..%2f..%2fetc").status_code == 404


SANDBOX_ROUTES = [
    ("get", "{A}/{id}"), ("get", "{A}/{id}/info"), ("get", "{A}/{id}/urls"), ("post", "{A}/{id}/timeout"),
    ("post", "{A}/{id}/pause"), ("delete", "{A}/{id}"), ("post", "{A}/{id}/expose-port"), ("post", "{A}/{id}/mkdir"),
    ("get", "{A}/{id}/slides"), ("post", "{A}/{id}/slides"), ("get", "{A}/{id}/slides/s1"), ("put", "{A}/{id}/slides/s1"),
    ("delete", "{A}/{id}/slides/s1"),
]
BODY_ROUTES = ["connect", "run-command", "write-file", "read-file", "upload-from-url", "download-to-presigned"]
BODIES = {
    "timeout": {"timeout": 60}, "expose-port": {"port": 8000}, "mkdir": {"path": "d"}, "slides": {"content": "<p>x</p>"},
    "run-command": {"command": "true"}, "write-file": {"path": "a", "content": "x"}, "read-file": {"path": "a"},
    "upload-from-url": {"path": "a", "url": "http://example.com/x"}, "download-to-presigned": {"path": "a", "presigned_url": "http://example.com/x"},
}


@pytest.mark.parametrize(("method", "template"), SANDBOX_ROUTES)
def test_another_users_sandbox_is_404_and_no_auth_is_401(method, template, bob_client, anon, sandbox):
    url = template.format(A=A, id=sandbox.public_id)
    body = BODIES.get(url.rsplit("/", 1)[-1], {"content": "<p>x</p>", "timeout": 60, "port": 80, "path": "d"})
    assert getattr(bob_client, method)(url, body, format="json").status_code == 404
    assert getattr(anon, method)(url, body, format="json").status_code == 401
    assert Sandbox.objects.filter(pk=sandbox.pk, status="running").exists()


@pytest.mark.parametrize("route", [*BODY_ROUTES, "upload-file"])
def test_body_routes_hide_another_users_sandbox(route, bob_client, anon, sandbox):
    body = {"sandbox_id": sandbox.public_id, **BODIES.get(route, {})}
    fmt = "json"
    if route == "upload-file":
        body["file"], fmt = SimpleUploadedFile("f.txt", b"x"), "multipart"
    assert bob_client.post(f"{A}/{route}", body, format=fmt).status_code == 404
    assert anon.post(f"{A}/{route}", body, format=fmt).status_code == 401


TRAVERSALS = ["../../etc/passwd", "/etc/passwd", "/workspace/../etc/passwd", "a/../../x", "pw", "out/x"]


def test_every_file_route_refuses_traversal_and_links_out(alice_client, sandbox, fake_http, tmp_path):
    # Links made inside the sandbox: to a host file, and to a host directory the sandbox cannot see.
    (tmp_path / "x").write_text("host file")
    services.sandbox_exec(sandbox=sandbox, command=f"ln -s /etc/passwd pw; ln -s {tmp_path} out")
    sid = sandbox.public_id
    for path in TRAVERSALS:
        calls = {
            "write-file": alice_client.post(f"{A}/write-file", {"sandbox_id": sid, "path": path, "content": "pwned"}, format="json"),
            "read-file": alice_client.post(f"{A}/read-file", {"sandbox_id": sid, "path": path}, format="json"),
            "mkdir": alice_client.post(f"{A}/{sid}/mkdir", {"path": path + "/d"}, format="json"),
            "upload-file": alice_client.post(
                f"{A}/upload-file", {"sandbox_id": sid, "path": path, "file": SimpleUploadedFile("f", b"pwned")}, format="multipart"
            ),
            "upload-from-url": alice_client.post(
                f"{A}/upload-from-url", {"sandbox_id": sid, "url": fake_http.url("/file.txt"), "path": path}, format="json"
            ),
            "download-to-presigned": alice_client.post(
                f"{A}/download-to-presigned", {"sandbox_id": sid, "path": path, "presigned_url": fake_http.url("/up")}, format="json"
            ),
        }
        for route, response in calls.items():
            assert response.status_code in (400, 404), (route, path, response.status_code, response.content)
    assert (tmp_path / "x").read_text() == "host file" and sorted(p.name for p in tmp_path.iterdir()) == ["x"]
    assert fake_http.puts == []  # nothing outside the workspace was read and sent
    for slide in ("..", "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd"):
        assert alice_client.get(f"{A}/{sid}/slides/{slide}").status_code in (400, 404)


def test_oversize_writes_are_413(alice_client, sandbox, settings):
    settings.SANDBOX_MAX_UPLOAD_BYTES = 1000
    response = alice_client.post(
        f"{A}/write-file", {"sandbox_id": sandbox.public_id, "path": "big.txt", "content": "x" * 1500}, format="json"
    )
    assert response.status_code == 413, response.content
    assert not (services.sandbox_spec(sandbox).workspace / "big.txt").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes get uids of their own only when the platform runs as root")
def test_a_sandbox_root_the_sandbox_uids_cannot_enter_is_a_clear_503(alice_client, settings, caplog):
    private = settings.SANDBOX_ROOT.parent / "home"  # beside the test's (traversable) root: a private home
    private.mkdir(mode=0o700)
    settings.SANDBOX_ROOT = private / "checkout" / "var" / "sandboxes"
    response = alice_client.post(A, {"template_id": "python"}, format="json")
    assert response.status_code == 503 and "administrator" in response.json()["detail"]
    assert str(private) not in response.content.decode()  # the host's paths stay in the server log
    assert f"chmod o+x {private}" in caplog.text
    assert Sandbox.objects.get().status == Sandbox.Status.FAILED
