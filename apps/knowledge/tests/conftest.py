"""Fixtures of the knowledge tests: the shipped corpus and files to upload."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

CORPUS = Path(__file__).resolve().parent / "corpus"


def corpus_file(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (CORPUS / name).read_bytes())


@pytest.fixture(autouse=True)
def _media_in_tmp(request, settings, tmp_path):
    # Uploaded files land in a per-test folder, never in var/media; tests with a Celery
    # worker subprocess keep the real MEDIA_ROOT, which the worker reads too.
    if request.node.get_closest_marker("worker_media") is None:
        settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def text_upload():
    def make(name: str = "notes.txt", content: bytes = b"Solar panels convert sunlight into electricity.") -> SimpleUploadedFile:
        return SimpleUploadedFile(name, content, content_type="text/plain")

    return make


def pytest_configure(config):
    config.addinivalue_line("markers", "worker_media: keep the real MEDIA_ROOT (a worker subprocess reads it)")
