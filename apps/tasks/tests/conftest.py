"""Fixtures of the task tests."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    # Task documents are knowledge uploads; they land in a per-test folder, never in var/media.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _no_environment_model(settings):
    # The offline model answers unless a test points a provider at the fake server.
    settings.LLM_BASE_URL = ""
    settings.LLM_MODEL = ""
