"""Real servers for the streaming tests: daphne subprocesses on the test database, fed by the test worker."""
from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from apps.conversations.models import AgentRun
from conftest import Daphne, _test_database_url, start_daphne, stop_daphne


@pytest.fixture(scope="session")
def server_env(celery_worker_process, django_db_blocker) -> dict[str, str]:
    from django.conf import settings

    from codex.celery import app

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_QUEUE": app.conf.task_default_queue,
        "CELERY_RUN_QUEUE": settings.CELERY_RUN_QUEUE,
        "CODEX_TESTING": "1",
        "RUN_START_THROTTLE": "1000/min",
        "RUN_STREAM_THROTTLE": "1000/min",
    }


@pytest.fixture(scope="session")
def daphne_server(server_env) -> Iterator[Daphne]:
    server = start_daphne(server_env)
    yield server
    stop_daphne(server)


@pytest.fixture(scope="session")
def second_daphne_server(server_env) -> Iterator[Daphne]:
    server = start_daphne(server_env)
    yield server
    stop_daphne(server)


def sse_events(lines: Iterator[str], *, until: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
    """Parse SSE frames into ``{"event", "id", "data"}`` dicts, stopping after ``until`` holds."""
    frames: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if line == "":
            if "data" in current:
                current["data"] = json.loads(current["data"])
                frames.append(current)
                if until is not None and until(current):
                    return frames
            current = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            current[name] = current[name] + "\n" + value if name == "data" and name in current else value
    return frames


def ndjson_lines(lines: Iterator[str], *, limit: int | None = None) -> list[dict[str, Any]]:
    """Message lines (heartbeats skipped), up to ``limit`` or the stream_end line."""
    out: list[dict[str, Any]] = []
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        if item.get("type") == "heartbeat":
            continue
        out.append(item)
        if item.get("type") == "stream_end" or (limit is not None and len(out) >= limit):
            break
    return out


def wait_finished(run_id: str, timeout: float = 30) -> AgentRun:
    """The run once its worker has marked it finished (which comes just after its ``end`` event)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = AgentRun.objects.get(pk=run_id)
        if run.is_finished:
            return run
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} did not finish")
