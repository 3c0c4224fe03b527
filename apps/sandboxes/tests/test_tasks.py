"""Idle and scheduled expiry (the beat task), and per-user limits from the admin."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.sandboxes import services, tasks
from apps.sandboxes.models import Sandbox, SandboxLimit
from apps.sandboxes.tests.conftest import needs_bwrap

pytestmark = [pytest.mark.django_db, needs_bwrap]


def test_idle_sandboxes_expire_and_keep_their_files(sandbox, settings):
    settings.SANDBOX_KEEP_FILES_ON_EXPIRY = True
    services.file_write(sandbox=sandbox, path="keep.txt", data=b"kept")
    busy = services.sandbox_create(user=sandbox.owner)
    Sandbox.objects.filter(pk=sandbox.pk).update(last_used_at=timezone.now() - timedelta(hours=2))
    assert tasks.expire_idle_sandboxes() == 1
    sandbox.refresh_from_db()
    busy.refresh_from_db()
    assert (sandbox.status, busy.status) == ("expired", "running")
    assert (services.sandbox_spec(sandbox).workspace / "keep.txt").read_bytes() == b"kept"


def test_a_scheduled_timeout_expires_and_can_remove_files(sandbox, settings):
    settings.SANDBOX_KEEP_FILES_ON_EXPIRY = False
    services.file_write(sandbox=sandbox, path="gone.txt", data=b"x")
    Sandbox.objects.filter(pk=sandbox.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.expire_idle_sandboxes() == 1
    assert not services.sandbox_spec(sandbox).workspace.exists()


def test_an_expired_sandbox_cannot_run_commands(alice_client, sandbox):
    services.sandbox_stop(sandbox=sandbox, status=Sandbox.Status.EXPIRED, keep_files=True)
    response = alice_client.post("/api/v1/agent/sandboxes/run-command", {"sandbox_id": sandbox.public_id, "command": "true"}, format="json")
    assert response.status_code == 409


def test_per_user_limits_override_the_settings(alice, settings):
    settings.SANDBOX_MAX_PER_USER = 5
    SandboxLimit.objects.create(user=alice, max_alive=1, disk_bytes=1024 * 1024, cpu_seconds_per_hour=60)
    first = services.sandbox_create(user=alice)
    assert first.disk_bytes == 1024 * 1024
    with pytest.raises(services.TooManyRequests):
        services.sandbox_create(user=alice)


def test_the_disk_limit_applies_to_writes_from_the_platform(sandbox):
    sandbox.disk_bytes = 64 * 1024
    sandbox.save()
    with pytest.raises(services.PayloadTooLarge):
        services.file_write(sandbox=sandbox, path="big", data=b"x" * 100 * 1024)


def test_the_admin_lists_sandboxes(client, admin_user, sandbox):
    client.force_login(admin_user)
    admin_client = client
    assert admin_client.get("/admin/sandboxes/sandbox/").status_code == 200
    assert admin_client.get(f"/admin/sandboxes/sandbox/{sandbox.pk}/change/").status_code == 200
    assert admin_client.get("/admin/sandboxes/sandboxlimit/add/").status_code == 200


def test_beat_schedules_the_expiry_beside_the_other_tasks(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["sandboxes-expire-idle"]["task"] == "apps.sandboxes.tasks.expire_idle_sandboxes"
    assert "conversations.reap_stale_runs" in schedule
