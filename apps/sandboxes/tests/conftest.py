"""Sandboxes for tests: their own root under tmp, small limits, and cleanup of every process."""
from __future__ import annotations

import shutil

import pytest

from apps.conversations.models import Project
from apps.sandboxes import services
from apps.sandboxes.models import Sandbox

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (scripts/ensure-system.sh)")


@pytest.fixture(autouse=True)
def sandbox_settings(settings, tmp_path):
    settings.SANDBOX_ROOT = tmp_path / "sandboxes"
    settings.DEPLOY_ROOT = tmp_path / "sites"
    settings.SANDBOX_BACKEND = "bubblewrap"
    settings.SANDBOX_DISK_BYTES = 32 * 1024 * 1024
    settings.SANDBOX_MEMORY_BYTES = 512 * 1024 * 1024
    settings.SANDBOX_CPU_SECONDS = 10
    settings.SANDBOX_MAX_PROCESSES = 32
    settings.SANDBOX_MAX_UPLOAD_BYTES = 1024 * 1024
    settings.SANDBOX_COMMAND_TIMEOUT = 20
    settings.SANDBOX_MAX_PER_USER = 3
    # tmp_path lives under /tmp, which is 0700 for pytest's base directory: let sandbox uids traverse it.
    for parent in [tmp_path, *tmp_path.parents]:
        if str(parent) in ("/", "/tmp"):
            break
        parent.chmod(parent.stat().st_mode | 0o711)
    yield settings
    for sandbox in Sandbox.objects.filter(status__in=Sandbox.ALIVE):
        services.sandbox_stop(sandbox=sandbox, status=Sandbox.Status.STOPPED, keep_files=False)


@pytest.fixture
def sandbox(alice):
    return services.sandbox_create(user=alice, template_id="python")


@pytest.fixture
def project(alice):
    return Project.objects.create(owner=alice, name="My Site")


def run(sandbox, command: str, **kwargs):
    return services.sandbox_exec(sandbox=sandbox, command=command, **kwargs)
