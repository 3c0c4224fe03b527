"""Fixtures of the studio tests."""
from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import pytest

REPORT = """# Quarterly Report

Revenue grew strongly this quarter. The team shipped three major features.

## Sales
Sales rose by twenty percent in Europe. Asia was flat. New customers signed in record numbers.

## Engineering
The platform moved to a new database. Latency fell by half. Two outages were resolved quickly.
"""


@pytest.fixture(autouse=True)
def _media_in_tmp(request, settings, tmp_path):
    if "celery_worker_process" in request.fixturenames:
        # The worker process writes under the project's MEDIA_ROOT: read from there, then tidy up.
        yield
        from apps.studio.models import GenerationJob

        for job in GenerationJob.objects.exclude(result_file=""):
            job.result_file.delete(save=False)
        return
    settings.MEDIA_ROOT = tmp_path / "media"
    yield


@pytest.fixture(autouse=True)
def _offline(settings):
    # The offline engines answer unless a test points a provider or a speech endpoint at a fake server.
    settings.LLM_BASE_URL = ""
    settings.LLM_MODEL = ""
    settings.TTS_BASE_URL = ""


def mp3_seconds(data: bytes, tmp_path: Path) -> float:
    """Decode an MP3 with mpg123 (a real decoder, not ours) and measure what it decoded."""
    if shutil.which("mpg123") is None:
        pytest.fail("mpg123 is missing: run scripts/ensure-system.sh")
    source, decoded = tmp_path / "in.mp3", tmp_path / "out.wav"
    source.write_bytes(data)
    subprocess.run(["mpg123", "-q", "-w", str(decoded), str(source)], check=True, timeout=60)
    with wave.open(str(decoded), "rb") as reader:
        return reader.getnframes() / reader.getframerate()
