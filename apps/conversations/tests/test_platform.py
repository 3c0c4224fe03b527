"""The platform as `make run` starts it, under load and faults: 50 concurrent chats, a worker killed mid-run.

scripts/run.sh starts codex/launcher.py's processes (two daphnes, the run worker with its
thread pool, the task worker, beat) with their real command lines and settings; only the
database, the queues, the per-user throttles and the reaper's intervals are the test's own.
The assertions are structural (are all fifty runs in progress at once? does a dead worker's
run end?), with tolerances that fail only when runs are serialized, so a loaded CI machine
passes. The TTFT spread is printed: issue 7's 0.5 s target is measured here, not yet met on a
busy 2-core machine (bench/README.md). One scripts/run.sh serves the module: dead runs are
failed by the run worker's own sweep, so nothing depends on the beat schedule rows that each
test's teardown flushes.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import aiohttp
import pytest

from apps.conversations.models import AgentRun
from conftest import RunSh, _test_database_url, bearer_for, run_sh

pytestmark = [pytest.mark.django_db(transaction=True)]

CHATS = 50
TOKENS = 40
TOKEN_DELAY = 0.25  # each answer streams for about TOKENS * TOKEN_DELAY = 10 s
ANSWER_SECONDS = TOKENS * TOKEN_DELAY
SSE_CLIENT = {"Accept": "text/event-stream", "Cache-Control": "no-cache"}


@pytest.fixture(scope="module")
def platform(django_db_setup, django_db_blocker) -> Iterator[RunSh]:
    from django.conf import settings

    if not settings.REDIS_AVAILABLE:
        pytest.skip("the platform's workers need Redis")
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    # The reaper at test speed; its logic is the shipped one.
    reaper = {"RUN_HEARTBEAT_SECONDS": "0.5", "RUN_STALE_SECONDS": "4", "RUN_REAP_EVERY_SECONDS": "1"}
    with run_sh(database_url=database_url, tokens=TOKENS, delay=TOKEN_DELAY, env=reaper) as server:
        yield server


@dataclass
class Chat:
    started: float
    first_token: float | None = None
    ended: float | None = None
    tokens: int = 0
    kinds: tuple[str, ...] = ()


async def _chat(http: aiohttp.ClientSession, *, thread_id: str) -> Chat:
    chat = Chat(started=time.monotonic())
    kinds = []
    async with http.post("/chat/stream", json={"message": "Tell me a story", "thread_id": thread_id},
                         headers=SSE_CLIENT) as response:
        if response.status != 200:
            chat.kinds = (f"HTTP {response.status}: {(await response.read())[:200]!r}",)
            return chat
        async for raw in response.content:  # one SSE line at a time
            line = raw.decode().rstrip("\r\n")
            if not line.startswith("data: "):
                continue
            kind = json.loads(line[6:])["type"]
            kinds.append(kind)
            if kind == "token":
                chat.tokens += 1
                chat.first_token = chat.first_token or time.monotonic()
            if kind in ("done", "error"):
                break
    chat.ended = time.monotonic()
    chat.kinds = tuple(kinds)
    return chat


def _session(url: str, token: str) -> aiohttp.ClientSession:
    # aiohttp, as the benchmark: the client shares the platform's two cores, and httpx costs several
    # times its CPU per stream. One connection per chat, as fifty users' browsers would open.
    return aiohttp.ClientSession(base_url=url, headers={"Authorization": f"Bearer {token}"},
                                 connector=aiohttp.TCPConnector(limit=0, force_close=True),
                                 timeout=aiohttp.ClientTimeout(total=120))


async def _chats(url: str, token: str, count: int) -> list[Chat]:
    async with _session(url, token) as http:
        return await asyncio.gather(*[_chat(http, thread_id=f"chat-{i}") for i in range(count)])


def test_make_run_holds_50_concurrent_chats_in_progress_at_once(alice, platform):
    chats = asyncio.run(_chats(platform.url, bearer_for(alice), CHATS))

    assert all(chat.kinds[-1] == "done" and chat.tokens == TOKENS for chat in chats), platform.tail()
    # Each chat's time to first token, from its own request's send.
    first_tokens = [chat.first_token - chat.started for chat in chats]
    spread = max(first_tokens) - min(first_tokens)
    print(f"\n{CHATS} chats: TTFT {min(first_tokens):.2f}-{max(first_tokens):.2f} s, spread {spread:.2f} s, "
          f"load {os.getloadavg()[0]:.1f}")
    assert all(chat.kinds[0] == "status" for chat in chats)
    # Every chat had its first token before any chat had its last: all 50 were in progress at once.
    assert max(chat.first_token for chat in chats) < min(chat.ended for chat in chats)
    # Serialized runs would spread by whole answers; issue 7's 0.5 s is the target, not yet this assertion.
    assert spread < ANSWER_SECONDS, f"TTFT spread {spread:.2f} s over {CHATS} chats"


def test_a_killed_run_worker_fails_its_run_ends_the_stream_and_the_thread_goes_on(alice, platform):
    token = bearer_for(alice)

    async def scenario() -> tuple[list[str], Chat]:
        async with _session(platform.url, token) as http:
            frames = []
            async with http.post("/chat/stream", json={"message": "A long story", "thread_id": "killed"},
                                 headers=SSE_CLIENT) as response:
                async for raw in response.content:
                    line = raw.decode().rstrip("\r\n")
                    if not line.startswith("data: "):
                        continue
                    frames.append(json.loads(line[6:]))
                    if frames[-1]["type"] == "token" and [frame["type"] for frame in frames].count("token") == 3:
                        # Once, on the third token: the frames after it (the error) must not kill the restarted worker.
                        platform.run_worker().kill()  # kill -9, as an OOM kill does
                    if frames[-1]["type"] in ("done", "error"):
                        break
            # The supervisor restarts the worker; the same thread takes the next message and answers it.
            again = await _chat(http, thread_id="killed")
        return frames, again

    frames, again = asyncio.run(scenario())

    assert frames[-1]["type"] == "error" and "stopped before it finished" in frames[-1]["content"]
    assert "done" not in [frame["type"] for frame in frames]
    assert again.kinds[-1] == "done" and again.tokens == TOKENS
    # ``done`` is sent just before the run's final status is written.
    deadline = time.monotonic() + 30
    while AgentRun.objects.filter(thread_id="killed", finished_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    runs = AgentRun.objects.filter(thread_id="killed").order_by("created_at")
    assert [run.status for run in runs] == ["failed", "completed"]


def test_the_launcher_gives_runs_a_thread_pool_and_other_tasks_a_process_pool(settings, monkeypatch):
    from codex import launcher

    settings.RUN_WORKER_CONCURRENCY, settings.CELERY_RUN_QUEUE, settings.CELERY_TASK_DEFAULT_QUEUE = 321, "r", "t"
    monkeypatch.setenv("CELERY_CONCURRENCY", "3")
    runs, tasks = launcher.command("runs"), launcher.command("tasks")
    assert {"--pool=threads", "--concurrency=321", "-Q", "r"} <= set(runs) and runs[runs.index("-n") + 1].startswith("r@")
    assert {"--pool=prefork", "--concurrency=3", "-Q", "t"} <= set(tasks) and tasks[tasks.index("-n") + 1].startswith("t@")
    assert launcher.environment("web")["DATABASE_POOL_MAX_SIZE"]
    assert launcher.command("web", fd=7)[-3:] == ["--fd", "7", "codex.asgi:application"]
    assert launcher.roles() == launcher.ROLES  # with Redis, all four


def test_the_supervisor_stays_small_once_the_platform_is_ready(platform):
    import psutil
    from django.conf import settings

    supervisor = psutil.Process(platform.launcher.pid)
    children = [" ".join(child.cmdline()) for child in supervisor.children()]
    # The child that planned the command lines and waited for readiness has exited ...
    assert not [line for line in children if "codex.launcher" in line], children
    assert len(children) == settings.WEB_PROCESSES + len(("runs", "tasks", "beat"))
    # ... and the supervisor never loaded Django: a Django process holds about 160 MiB.
    assert supervisor.memory_info().rss < 80 * 2**20


def _daphnes(platform: RunSh) -> list:
    import psutil

    return [child for child in psutil.Process(platform.launcher.pid).children() if "daphne" in child.cmdline()]


def _socket_of(daphne) -> str:
    return daphne.cmdline()[daphne.cmdline().index("--fd") + 1]


def test_the_web_role_is_several_daphnes_on_one_port_and_a_dead_one_comes_back_on_its_socket(platform):
    from django.conf import settings

    from codex import launcher

    assert settings.WEB_PROCESSES == 2  # the default make run starts
    daphnes = _daphnes(platform)
    assert len(daphnes) == 2 and all("--fd" in daphne.cmdline() for daphne in daphnes)
    # The kernel spreads connections over both: each answers /api/health with its own instance_id.
    assert len(launcher.web_answers(platform.url, web=2)) == 2
    sockets = sorted(_socket_of(daphne) for daphne in daphnes)

    daphnes[0].kill()
    daphnes[0].wait(10)
    # While it is down (and restarting), requests that reach its socket wait in it: none is refused.
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda _: urllib.request.urlopen(f"{platform.url}/api/health", timeout=60).status,
                                 range(16)))
    assert statuses == [200] * 16
    deadline = time.monotonic() + 60
    while not launcher.is_ready(url=platform.url, workers=[], web=2) and time.monotonic() < deadline:
        time.sleep(0.5)
    after = _daphnes(platform)
    assert len(after) == 2 and daphnes[0].pid not in {daphne.pid for daphne in after}
    assert sorted(_socket_of(daphne) for daphne in after) == sockets


def test_the_web_port_cannot_be_taken_twice():
    import socket

    from codex import launcher

    sockets = launcher.listen("127.0.0.1", 0, 1)
    port = sockets[0].getsockname()[1]
    try:
        # A second platform on the same port fails, though the first's sockets allow sharing among themselves.
        with pytest.raises(OSError):
            launcher.listen("127.0.0.1", port, 2)
        with socket.socket() as plain, pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
    finally:
        for each in sockets:
            each.close()
