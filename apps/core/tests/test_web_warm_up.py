"""What a process makes before its first chat, so the first chats do not: a web process before
its first request (codex/asgi.py), the run worker before its ready line (``runner.warm_up``).

Each check runs in a fresh interpreter, as daphne and the worker start: in the test process
Celery's app and its sender are long since built by other tests.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

PROBE = """
import json, django
django.setup()
from celery import current_app
from apps.core.jobs import discover_tasks, warm_broker
before = current_app.finalized
discover_tasks()
warm_broker()
print(json.dumps({
    "finalized_before": before,
    "finalized": current_app.finalized,
    "run_task": "conversations.execute_run" in current_app.tasks,
    "sender": "send_task_message" in vars(current_app.amqp),
}))
"""


def test_a_web_process_binds_its_tasks_and_builds_the_task_sender_before_its_first_enqueue():
    if not settings.REDIS_AVAILABLE:
        pytest.skip("the broker is Redis")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "codex.settings"}, cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    made = json.loads(result.stdout.strip().splitlines()[-1])
    # Celery binds the tasks on the first ``app.tasks`` and builds the sender on the first
    # send: without the warm-up, both were the first chat's (about 15 ms of it).
    assert made == {"finalized_before": False, "finalized": True, "run_task": True, "sender": True}


RUN_WORKER_PROBE = """
import json, django
django.setup()
from apps.conversations import runner
runner.warm_up()
pools = {"db": runner._db_pool, "flush": runner._flush_pool, "heartbeat": runner._heartbeat_pool}
print(json.dumps({name: [len(pool._threads), pool._max_workers] for name, pool in pools.items()}))
"""


@pytest.mark.django_db
def test_the_run_workers_warm_up_starts_every_database_thread_its_runs_use():
    from conftest import _test_database_url

    result = subprocess.run(
        [sys.executable, "-c", RUN_WORKER_PROBE], capture_output=True, text=True, timeout=120,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "codex.settings", "DATABASE_URL": _test_database_url()},
        cwd=settings.BASE_DIR,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    threads = json.loads(result.stdout.strip().splitlines()[-1])
    # Each thread connected on its first job, in the warm-up: the row flushes and the heartbeat
    # of a burst's first runs open no PostgreSQL connection (about 5 ms of CPU each).
    assert all(started == size for started, size in threads.values()), threads

