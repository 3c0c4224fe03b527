"""Shared fixtures: the cast (alice owns things, bob is another user, charlie a member, an admin)."""
from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.accounts.models import User
from apps.accounts.tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent


@pytest.fixture(autouse=True)
def _fresh_cache_namespace():
    # Throttle counters live in the real Redis cache, shared with other processes;
    # a key prefix per test gives each test empty counters without flushing Redis.
    cache.key_prefix = f"codex-test-{uuid.uuid4().hex}"
    yield


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def alice(db) -> User:
    return UserFactory(username="alice", email="alice@example.com", name="Alice")


@pytest.fixture
def bob(db) -> User:
    return UserFactory(username="bob", email="bob@example.com", name="Bob")


@pytest.fixture
def charlie(db) -> User:
    from apps.accounts.models import Role
    from apps.accounts.services.users import user_assign_roles

    user = UserFactory(username="charlie", email="charlie@example.com", name="Charlie")
    role, _ = Role.objects.get_or_create(code="user", defaults={"name": "user"})
    user_assign_roles(user=user, role_ids=[role.pk])
    return user


@pytest.fixture
def admin_user(db) -> User:
    return UserFactory(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


def bearer_for(user: User) -> str:
    return str(RefreshToken.for_user(user).access_token)


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer_for(user)}")
        return client

    return make


@pytest.fixture
def alice_client(alice, client_for) -> APIClient:
    return client_for(alice)


@pytest.fixture
def bob_client(bob, client_for) -> APIClient:
    return client_for(bob)


@pytest.fixture
def admin_client(admin_user, client_for) -> APIClient:
    return client_for(admin_user)


# ------------------------------------------------------------------------------
# A real Celery worker, for the tests that are about background work
# ------------------------------------------------------------------------------
def _test_database_url() -> str:
    from urllib.parse import urlsplit, urlunsplit

    from django.conf import settings
    from django.db import connection

    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    """A ``celery worker`` subprocess on the test database and a queue of this session's own.

    Tests that use it must commit their rows (``django_db(transaction=True)``) so the
    worker can see them.
    """
    import os
    import sys
    import time

    from django.conf import settings

    from codex.celery import app

    if not settings.REDIS_AVAILABLE:
        pytest.skip("a Celery worker needs Redis")
    queue = f"codex-test-{uuid.uuid4().hex[:12]}"
    app.conf.task_default_queue = queue
    # The Django namespace key shadows the lowercase one once settings are loaded; set it too.
    app.conf.CELERY_TASK_DEFAULT_QUEUE = queue
    # Runs have a queue of their own (codex/celery.py routes them); this one worker serves both.
    settings.CELERY_RUN_QUEUE = run_queue = f"{queue}-runs"
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    env = {**os.environ, "DATABASE_URL": database_url, "CELERY_QUEUE": queue, "CELERY_RUN_QUEUE": run_queue,
           "CODEX_TESTING": "1"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "codex", "worker", "--pool=solo", "-Q", f"{queue},{run_queue}",
         "--loglevel=WARNING", "-n", f"{queue}@%h", "--without-gossip", "--without-mingle"],
        env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5):
            break
        if worker.poll() is not None:
            raise RuntimeError("the Celery worker exited at start")
    else:
        worker.kill()
        raise RuntimeError("the Celery worker did not answer within 120 s")
    yield worker
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()


# ------------------------------------------------------------------------------
# A fake OpenAI-compatible LLM server on 127.0.0.1 (the only fake the suite allows)
# ------------------------------------------------------------------------------
@pytest.fixture
def fake_llm(settings):
    """A running :class:`apps.providers.testing.FakeLLMServer`; script it with ``fake_llm.script(...)``.

    ``fake_llm.make_provider(owner=alice)`` points a default provider at it. Tools may
    reach it too (FETCH_ALLOW_LOOPBACK), since it is the only server the tests have.
    """
    from apps.providers.testing import FakeLLMServer

    settings.FETCH_ALLOW_LOOPBACK = True
    settings.LLM_MAX_RETRIES = 2
    with FakeLLMServer(port=_free_port()) as server:
        yield server


# ------------------------------------------------------------------------------
# daphne subprocesses, for the end-to-end tests (streams, the browser)
# ------------------------------------------------------------------------------
def _port_range() -> Iterator[int]:
    """The ports of ``CODEX_TEST_PORTS`` (``19000-19099``), round and round; none when it is unset."""
    import itertools
    import os

    first, _, last = os.environ.get("CODEX_TEST_PORTS", "").partition("-")
    return itertools.cycle(range(int(first), int(last or first) + 1)) if first else iter(())


_ports = _port_range()


def _free_port() -> int:
    """A port nothing listens on: the next free one of ``CODEX_TEST_PORTS`` (so concurrent test runs on one
    machine keep to their own ranges), else one the system picks. Taking them in turn keeps two servers
    started one after the other from being given the same port before the first has bound it."""
    import itertools
    import socket

    for port in itertools.islice(_ports, 1000):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Daphne:
    process: subprocess.Popen
    url: str
    log: IO[bytes]

    def client(self, user: User | None = None, **kwargs: Any):
        import httpx

        headers = {"Authorization": f"Bearer {bearer_for(user)}"} if user is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)


def start_daphne(env: dict[str, str], *, timeout: float = 120) -> Daphne:
    """daphne on a free port, once it answers ``/api/health``; ``env`` points it at the test database.

    Its stderr goes to a temporary file, not a pipe nobody reads (a full pipe would stall
    the server), and its tail is shown when it fails to start. The timeout is generous: on a
    loaded machine importing Django and the apps takes a while.
    """
    import sys
    import tempfile
    import time
    import urllib.request

    port = _free_port()
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "codex.asgi:application"],
        env=env, stdout=subprocess.DEVNULL, stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/health", timeout=2).close()
            return Daphne(process=process, url=url, log=log)
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.seek(0)
                raise RuntimeError(f"daphne did not start: {log.read().decode(errors='replace')[-2000:]}") from None
            time.sleep(0.1)


def stop_daphne(server: Daphne) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
    server.log.close()


# ------------------------------------------------------------------------------
# scripts/run.sh (what `make run` starts), for the platform tests
# ------------------------------------------------------------------------------
@dataclass
class RunSh:
    """scripts/run.sh (all four processes, supervised)."""

    launcher: subprocess.Popen
    url: str
    log: IO[bytes]

    def run_worker(self) -> Any:
        """The run worker's process (the one holding every run), as the supervisor started it."""
        import psutil

        for child in psutil.Process(self.launcher.pid).children(recursive=True):
            try:
                if "--pool=threads" in child.cmdline():
                    return child
            except psutil.NoSuchProcess:
                continue
        raise AssertionError("no run worker is running")

    def tail(self, size: int = 3000) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-size:]


def start_run_sh(env: dict[str, str], *, timeout: float = 300) -> RunSh:
    """scripts/run.sh on a free port, once it prints its ready line (daphne and both workers answer).

    ``env`` points it at the test database and at a Celery queue of the test's own; its
    output goes to a temporary file, shown when it fails to start.
    """
    import tempfile
    import time
    from pathlib import Path

    port = _free_port()
    log = tempfile.TemporaryFile()
    launcher = subprocess.Popen(["scripts/run.sh", "127.0.0.1", str(port)], cwd=Path(__file__).resolve().parent,
                                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = RunSh(launcher=launcher, url=f"http://127.0.0.1:{port}", log=log)
    deadline = time.monotonic() + timeout
    while "CodexEngine is running" not in server.tail():
        if launcher.poll() is not None or time.monotonic() > deadline:
            stop_run_sh(server)
            raise RuntimeError(f"scripts/run.sh did not get ready:\n{server.tail()}")
        time.sleep(0.2)
    return server


def stop_run_sh(server: RunSh) -> None:
    import os
    import signal

    if server.launcher.poll() is None:
        os.killpg(server.launcher.pid, signal.SIGTERM)
    try:
        server.launcher.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.launcher.pid, signal.SIGKILL)
        server.launcher.wait()


def run_sh_environment(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a test's scripts/run.sh: its database and its own queues, plus ``extra``."""
    import os

    queue = f"codex-test-run-sh-{uuid.uuid4().hex[:8]}"
    return {
        **os.environ, "DATABASE_URL": database_url, "CODEX_TESTING": "1", "LOG_LEVEL": "WARNING",
        "CELERY_QUEUE": queue, "CELERY_RUN_QUEUE": f"{queue}-runs", **extra,
    }


def start_upstream(*, tokens: int, delay: float) -> tuple[subprocess.Popen, str]:
    """The fake OpenAI-compatible server (apps.providers.testing) on a free port, and its URL."""
    import os
    import sys

    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "apps.providers.testing", "--port", str(port), "--tokens", str(tokens),
         "--delay", str(delay)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "codex.settings"},
    )
    process.stdout.readline()  # it prints its URL once it listens
    return process, f"http://127.0.0.1:{port}/v1"


#: One test user opens every stream, as in the benchmark: the per-user run throttles opened up.
OPEN_RUN_THROTTLES = {"RUN_START_THROTTLE": "100000/min", "RUN_STREAM_THROTTLE": "100000/min"}


def platform_env(**overrides: str) -> dict[str, str]:
    """run.sh's environment on the test database, the per-user run throttles opened up (one test user
    does everything), plus ``overrides``. Call it with the database unblocked."""
    return run_sh_environment(_test_database_url(), **OPEN_RUN_THROTTLES, **overrides)


def start_platform(env: dict[str, str], *, timeout: float = 300) -> RunSh:
    """:func:`start_run_sh`, skipped where there is no Redis for the workers."""
    from django.conf import settings

    if not settings.REDIS_AVAILABLE:
        pytest.skip("the platform's workers need Redis")
    return start_run_sh(env, timeout=timeout)


@contextmanager
def run_sh(*, database_url: str, tokens: int, delay: float, env: dict[str, str] | None = None) -> Iterator[RunSh]:
    """scripts/run.sh on ``database_url`` against a fake upstream, with queues of its own; stopped on exit."""
    upstream, upstream_url = start_upstream(tokens=tokens, delay=delay)
    try:
        full_env = run_sh_environment(
            database_url,
            **OPEN_RUN_THROTTLES,
            LLM_BASE_URL=upstream_url, LLM_API_KEY="sk-test", LLM_MODEL="fake-model",
            **(env or {}),
        )
        server = start_run_sh(full_env)
        try:
            yield server
        finally:
            stop_run_sh(server)
            server.log.close()
    finally:
        upstream.kill()
