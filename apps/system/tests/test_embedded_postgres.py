"""A cold start of the embedded PostgreSQL from an empty var/, and its management command.

Everything runs in subprocesses with their own CODEX_VAR_DIR, so the server that the
rest of the suite shares is never touched.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from codex import embedded_db

MANAGE = str(Path(settings.BASE_DIR) / "manage.py")


def _manage(var_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env["CODEX_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, MANAGE, *args], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=240
    )


@pytest.fixture
def var_dir(tmp_path):
    yield tmp_path
    embedded_db.stop(tmp_path / "postgres")  # only if a failed assertion left it running


def test_a_cold_start_initialises_migrates_and_stops_with_the_last_process(var_dir):
    pgdata = var_dir / "postgres"
    assert not pgdata.exists()

    migrated = _manage(var_dir, "migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    assert embedded_db.server_state(pgdata).initialised
    assert not embedded_db.server_state(pgdata).running

    doctor = _manage(var_dir, "doctor", "--check", "postgres", "--check", "pgvector")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "postgres" in doctor.stdout and "pgvector 0." in doctor.stdout

    state = embedded_db.server_state(pgdata)
    assert state.initialised and not state.running and state.handles == ()

    status = _manage(var_dir, "embedded_postgres", "status")
    assert status.returncode == 1 and "stopped" in status.stdout
    assert not embedded_db.server_state(pgdata).running, "status must not start the server"

    started = _manage(var_dir, "embedded_postgres", "start")
    assert started.returncode == 0, started.stderr
    assert embedded_db.server_state(pgdata).running, "start leaves it running after the command exits"

    stopped = _manage(var_dir, "embedded_postgres", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    assert not embedded_db.server_state(pgdata).running
