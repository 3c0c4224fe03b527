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


HOLDER = """
import sys, time
from pathlib import Path
from codex import embedded_db
embedded_db.database_url(Path(sys.argv[1]))
print("ready", flush=True)
time.sleep(600)
"""


def test_ten_processes_stopped_together_leave_a_handle_list_the_next_start_can_read(var_dir):
    import json
    import signal

    pgdata = var_dir / "postgres"
    assert _manage(var_dir, "embedded_postgres", "start").returncode == 0
    holders = [
        subprocess.Popen([sys.executable, "-c", HOLDER, str(pgdata)], cwd=settings.BASE_DIR,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(10)
    ]
    try:
        for holder in holders:
            if holder.stdout.readline().strip() != "ready":
                holder.kill()
                pytest.fail(holder.stderr.read()[-3000:])
        assert len(embedded_db.server_state(pgdata).handles) == 10
        # Ctrl-C on the group: every atexit handler rewrites the list at once; then kill -9
        # the lot while some of them are still writing.
        for holder in holders:
            holder.send_signal(signal.SIGINT)
        for holder in holders:
            holder.kill()
    finally:
        for holder in holders:
            holder.kill()
            holder.wait(timeout=30)
    handle_file = pgdata / ".handle_pids.json"
    if handle_file.exists():
        assert isinstance(json.loads(handle_file.read_text()), list)
    embedded_db.server_state(pgdata)

    # An unreadable list (as the old in-place writes left it) reads as empty, and the next start works.
    handle_file.write_text("")
    assert embedded_db.server_state(pgdata).handles == ()
    doctor = _manage(var_dir, "doctor", "--check", "postgres")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert json.loads(handle_file.read_text()) == []
    assert not list(pgdata.glob(".handle_pids.json.*.tmp"))


def test_the_handle_list_is_written_atomically_under_a_lock(tmp_path):
    handles = embedded_db.HandleList(tmp_path / ".handle_pids.json")
    assert handles.get() == []
    handles.get_and_add(1)
    handles.get_and_add(2)
    assert handles.get_and_remove(1) == [1, 2]
    assert handles.get() == [2]
    (tmp_path / ".handle_pids.json").write_text('{"not": "a list"}')
    assert handles.get() == []
    (tmp_path / ".handle_pids.json.999999999.tmp").write_text("[")
    handles.remove_stale_temporaries(lambda pid: False)
    assert not list(tmp_path.glob("*.tmp"))
