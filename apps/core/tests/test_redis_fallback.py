"""Without Redis the platform says so once and runs in one process.

The settings decide this at import, so the check runs in a fresh interpreter whose
REDIS_URL points at a port nothing listens on.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

PROBE = r"""
import json, os, threading
import django

django.setup()
from django.conf import settings
from codex.celery import app
from apps.core import jobs

ran = threading.Event()
seen = {}

@app.task(name="fallback_probe")
def fallback_probe(*, value):
    seen["value"] = value
    seen["thread"] = threading.current_thread().name
    ran.set()

jobs.enqueue(fallback_probe, value=42)
print(json.dumps({
    "redis_available": settings.REDIS_AVAILABLE,
    "channel_layer": settings.CHANNEL_LAYERS["default"]["BACKEND"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "ran": ran.wait(30),
    "main_thread": threading.current_thread().name,
    **seen,
}))
"""


def test_without_redis_it_warns_once_and_runs_jobs_in_process():
    env = {
        **os.environ,
        "REDIS_URL": "redis://127.0.0.1:1/0",
        # The suite's own database, so this interpreter does not take a handle on the embedded server.
        "DATABASE_URL": settings.DATABASE_URL,
        "DJANGO_SETTINGS_MODULE": "codex.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["redis_available"] is False
    assert report["channel_layer"] == "channels.layers.InMemoryChannelLayer"
    assert report["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert result.stderr.count("Redis does not answer at redis://127.0.0.1:1/0") == 1
    assert report["ran"] is True
    assert report["value"] == 42
    assert report["thread"].startswith("codex-job")
    assert report["thread"] != report["main_thread"]
