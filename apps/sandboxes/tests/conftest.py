"""Sandboxes for tests: their own root under tmp, small limits, and cleanup of every process."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.conversations.models import Project
from apps.sandboxes import services
from apps.sandboxes.models import Sandbox
from conftest import _test_database_url, start_daphne, stop_daphne

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (scripts/ensure-system.sh)")


@contextmanager
def sandbox_test_settings(settings) -> Iterator:
    """Sandboxes under a root of their own with small limits; every one left alive is stopped after."""
    # Not under pytest's tmp_path: every pytest run on the machine resets /tmp/pytest-of-<user> to
    # 0700, and the sandbox uids must traverse every parent of their workspace.
    base = Path(settings.VAR_DIR) / "test-sandboxes"
    if not all(parent.stat().st_mode & 0o001 for parent in base.parents if parent.exists()):
        base = Path("/var/tmp/codex-test-sandboxes")  # a checkout under a private directory (some CI)
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o711)
    root = Path(tempfile.mkdtemp(dir=base))
    root.chmod(0o711)
    settings.SANDBOX_ROOT = root / "sandboxes"
    settings.DEPLOY_ROOT = root / "sites"
    settings.SANDBOX_BACKEND = "bubblewrap"
    settings.SANDBOX_DISK_BYTES = 32 * 1024 * 1024
    settings.SANDBOX_MEMORY_BYTES = 512 * 1024 * 1024
    settings.SANDBOX_CPU_SECONDS = 10
    settings.SANDBOX_MAX_PROCESSES = 32
    settings.SANDBOX_MAX_UPLOAD_BYTES = 1024 * 1024
    settings.SANDBOX_COMMAND_TIMEOUT = 20
    settings.SANDBOX_MAX_PER_USER = 3
    try:
        yield settings
    finally:
        for sandbox in Sandbox.objects.filter(status__in=Sandbox.ALIVE):
            services.sandbox_stop(sandbox=sandbox, status=Sandbox.Status.STOPPED, keep_files=False)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(autouse=True)
def sandbox_settings(settings):
    with sandbox_test_settings(settings):
        yield settings


@pytest.fixture
def daphne(sandbox_settings, django_db_blocker):
    """The ASGI app as shipped, on daphne, with this test's sandbox and deploy roots."""
    env = {
        **os.environ, "DATABASE_URL": _test_database_url(), "CODEX_TESTING": "1",
        "SANDBOX_ROOT": str(sandbox_settings.SANDBOX_ROOT), "DEPLOY_ROOT": str(sandbox_settings.DEPLOY_ROOT),
    }
    server = start_daphne(env)
    yield server
    stop_daphne(server)


@pytest.fixture
def host_port():
    """A port listening on the host's loopback: a sandbox must not reach it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.fixture
def sandbox(alice):
    return services.sandbox_create(user=alice, template_id="python")


@pytest.fixture
def project(alice):
    return Project.objects.create(owner=alice, name="My Site")


def run(sandbox, command: str, **kwargs):
    return services.sandbox_exec(sandbox=sandbox, command=command, **kwargs)


class FakeHttp:
    """A real HTTP server on 127.0.0.1: GET /file.txt answers b"remote bytes", PUTs are recorded."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 — http.server's naming
                body = b"remote bytes" if self.path == "/file.txt" else b"missing"
                self.send_response(200 if self.path == "/file.txt" else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_PUT(self) -> None:  # noqa: N802
                owner.puts.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"


@pytest.fixture
def fake_http(settings):
    settings.FETCH_ALLOW_LOOPBACK = True
    server = FakeHttp()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
