"""The hot path of a run: drive the agent runtime, number each event, keep and announce it.

Runs inside a Celery worker (or the in-process job thread), never in a request.
Per event there is one Redis round trip (:func:`livelog.append_event`) and no
database write; ``RunEvent`` rows are written in batches on a thread of their own
so a slow flush never delays the next token.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection
from django.utils import timezone

from apps.agents import runtime
from apps.agents.runtime import RunOptions, agent_run_stream
from apps.conversations import livelog
from apps.conversations.models import AgentRun, RunEvent
from apps.providers.client import aclose_http_client, keep_session_on

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Rows are for replays once the live list is gone (the run's end waits for every batch), so a
#: run writes them seldom: 50 runs flushing every second kept the database threads from starting runs.
FLUSH_EVERY_SECONDS = 3.0
FLUSH_EVERY_EVENTS = 200
#: How often the runtime's ``should_stop`` really asks Redis; in between it answers from memory.
STOP_CHECK_SECONDS = 0.2


def write_events(run_id: str, events: list[dict[str, Any]]) -> None:
    try:
        _insert_events(run_id, events)
    except IntegrityError:
        # The thread (and the run with it) was deleted while it ran; nothing is left to keep.
        if AgentRun.objects.filter(pk=run_id).exists():
            raise
        logger.info("run %s was deleted while running; dropping its events", run_id)


def _insert_events(run_id: str, events: list[dict[str, Any]]) -> None:
    RunEvent.objects.bulk_create(
        [
            RunEvent(
                run_id=run_id,
                sequence=event["seq"],
                type=event["type"],
                payload=event["data"],
                created_at=datetime.fromtimestamp(event["ts"], tz=UTC),
            )
            for event in events
        ],
        ignore_conflicts=True,  # a retried flush must not fail on rows it already wrote
    )


#: Every database touch of every run in this worker process goes through these few threads (and
#: the two flush threads below), so a burst of runs holds a handful of connections, not one per run.
DB_THREADS = 4
_db_pool = ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="run-db")
#: Event rows are written on threads of their own, so a burst of flushes never delays a run's start.
FLUSH_THREADS = 2
_flush_pool = ThreadPoolExecutor(max_workers=FLUSH_THREADS, thread_name_prefix="run-flush")


def _on_db_thread(fn: Callable[..., T], kwargs: dict[str, Any]) -> T:
    try:
        return fn(**kwargs)
    except (OperationalError, InterfaceError):
        connection.close()  # a broken connection is replaced on the next call
        raise


def in_db(fn: Callable[..., T], **kwargs: Any) -> T:
    """Run ``fn`` on a database thread and wait for it (from synchronous code)."""
    return _db_pool.submit(_on_db_thread, fn, kwargs).result()


class Coalesced:
    """One function of many items, called from many threads at once, made as few calls as it can.

    Each caller hands in one item and waits for that item's result; the items that arrive while
    a call is in flight go together into the next one. ``fn(items=[...])`` runs on a database
    thread and returns the items' results in their order (an item handed in twice is two
    callers). So a burst of fifty run starts costs a few claims on the database, not fifty,
    while a lone start still costs one.
    """

    def __init__(self, fn: Callable[..., list[Any]]) -> None:
        self.fn = fn
        self.lock = threading.Lock()
        self.pending: list[tuple[Any, Future]] = []
        self.draining = False

    def __call__(self, item: Any) -> Any:
        future: Future = Future()
        with self.lock:
            self.pending.append((item, future))
            start, self.draining = not self.draining, True
        if start:
            _db_pool.submit(self._drain)
        return future.result()

    def _drain(self) -> None:
        while True:
            with self.lock:
                batch, self.pending = self.pending, []
                if not batch:
                    self.draining = False
                    return
            try:
                results = _on_db_thread(self.fn, {"items": [item for item, _ in batch]})
                for (_, future), result in zip(batch, results, strict=True):
                    future.set_result(result)
            except BaseException as exc:  # every waiting caller of the batch sees the failure, as in_db's would
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)


class _DbExecutor(Executor):
    """The database threads as an ``Executor``, for the runtime's plan and retrieval reads."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        return _db_pool.submit(_on_db_thread, functools.partial(fn, *args, **kwargs), {})


_db_executor = _DbExecutor()


class RunRecorder:
    """Numbers a run's events 1, 2, 3, ...; keeps them live at once and in PostgreSQL in batches."""

    def __init__(self, run_id: str, *, kept: list[dict[str, Any]] = ()) -> None:
        # ``kept``: events numbered before the worker took the run (the ``queued`` status), whose
        # rows the worker writes with its first batch so the request that made them spends no query.
        self.run_id = run_id
        self.sequence = len(kept)
        self.pending: list[dict[str, Any]] = list(kept)
        self.last_flush = time.monotonic()
        self.flushes: list[Future] = []

    def emit(self, type: str, data: dict[str, Any]) -> dict[str, Any]:
        event = self.keep(type, data)
        livelog.append_event(self.run_id, event)
        if len(self.pending) >= FLUSH_EVERY_EVENTS or time.monotonic() - self.last_flush >= FLUSH_EVERY_SECONDS:
            self.flush_in_background()
        return event

    def keep(self, type: str, data: dict[str, Any]) -> dict[str, Any]:
        """Number an event and queue its row, without announcing it live (``emit`` does both)."""
        self.sequence += 1
        event = {"seq": self.sequence, "type": type, "data": data, "ts": round(time.time(), 6)}
        self.pending.append(event)
        return event

    def flush_in_background(self) -> None:
        # Rows carry their sequence, so batches may land in any order; the run is only
        # marked finished once every one of them has (see flush_now).
        if self.pending:
            batch, self.pending = self.pending, []
            self.flushes.append(_flush_pool.submit(_on_db_thread, write_events, {"run_id": self.run_id, "events": batch}))
        self.last_flush = time.monotonic()

    def flush_now(self) -> None:
        """Write everything kept so far and wait for it; called once the loop has ended."""
        self.flush_in_background()
        for flush in self.flushes:
            flush.result()
        self.flushes.clear()


def queued_event(run: AgentRun) -> dict[str, Any]:
    """Every run's event 1, sent at creation: the run waits for a free slot on a run worker.

    The request appends it live; the worker that takes the run writes the same event (same
    time stamp, the run's creation) as a row, so replays from either store agree.
    """
    return {
        "seq": 1,
        "type": "status",
        "data": {"step": "queued", "status": "queued", "content": "Queued: the answer starts as soon as a run worker is free."},
        "ts": round(run.created_at.timestamp(), 6),
    }


@dataclass
class Outcome:
    """What a run produced, for the assistant message and the run's final state."""

    status: str = AgentRun.Status.COMPLETED
    error: str = ""
    content: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_results: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)

    def take(self, type: str, data: dict[str, Any]) -> None:
        if type == "content":
            self.content.append(str(data.get("content", "")))
        elif type == "reasoning":
            self.reasoning.append(str(data.get("content", "")))
        elif type == "tool_call":
            self.tool_calls.append(
                {
                    "id": data.get("id", ""),
                    "type": "function",
                    "function": {"name": data.get("tool", ""), "arguments": json.dumps(data.get("arguments", {}))},
                }
            )
        elif type == "tool_result":
            self.tool_results.append(data)
        elif type == "citations":
            self.citations.extend(data.get("citations", []))
        elif type == "usage":
            self._add_usage(data)
        elif type == "status" and data.get("status") == AgentRun.Status.STOPPED:
            self.status = AgentRun.Status.STOPPED  # the runtime stopped the run itself (out of credits)
        elif type == "error":
            self.status = AgentRun.Status.FAILED
            self.error = str(data.get("content", "")) or "The agent run failed."

    def _add_usage(self, data: dict[str, Any]) -> None:
        for key in ("input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens"):
            self.usage[key] = self.usage.get(key, 0) + int(data.get(key) or 0)
        self.usage["total_tokens"] = self.usage.get("input_tokens", 0) + self.usage.get("output_tokens", 0)
        self.usage["steps"] = self.usage.get("steps", 0) + 1
        models = self.usage.setdefault("models", [])
        if data.get("model") and data["model"] not in models:
            models.append(data["model"])


class StopSignal:
    """``should_stop`` for the runtime: answered from memory, kept current by the loop's :class:`_RunWatch`."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.stopped = False

    async def __call__(self) -> bool:
        return self.stopped


def _heartbeat(run_ids: list[str]) -> None:
    AgentRun.objects.filter(pk__in=run_ids, status=AgentRun.Status.RUNNING).update(heartbeat_at=timezone.now())


#: Runs this process has claimed and not yet finished (from the claim on, before their coroutine
#: starts): their heartbeats come from here, and this process's sweep never takes them for dead.
live_runs: set[str] = set()
#: Heartbeats have a thread of their own: queued behind a burst of run starts on the database
#: threads, they came late enough for the reaper to fail live runs (1 000 runs started at once).
_heartbeat_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="run-heartbeat")


class _RunWatch:
    """One task per event loop watches every run on it: stop keys and heartbeats, one round trip each.

    A stop key set by any process is seen within STOP_CHECK_SECONDS. Every
    RUN_HEARTBEAT_SECONDS one UPDATE marks all of the loop's runs alive, so the reaper
    can tell a run whose worker died from a slow one. The task belongs to the loop, not
    to a run, so a run that ends never cancels a Redis call halfway.
    """

    def __init__(self) -> None:
        self.signals: set[StopSignal] = set()
        self.task: asyncio.Task | None = None
        self.last_heartbeat = time.monotonic()

    def add(self, signal: StopSignal) -> None:
        self.signals.add(signal)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while self.signals:
            await asyncio.sleep(STOP_CHECK_SECONDS)
            signals = list(self.signals)
            if not signals:
                return
            try:
                flags = await livelog.stops_requested([signal.run_id for signal in signals])
            except Exception:
                logger.warning("stop check failed; retrying", exc_info=True)
            else:
                for signal, flag in zip(signals, flags, strict=True):
                    signal.stopped = signal.stopped or flag
            if time.monotonic() - self.last_heartbeat >= settings.RUN_HEARTBEAT_SECONDS:
                self.last_heartbeat = time.monotonic()
                alive = sorted(live_runs | {signal.run_id for signal in signals})
                try:
                    await asyncio.wrap_future(_heartbeat_pool.submit(_on_db_thread, _heartbeat, {"run_ids": alive}))
                except Exception:
                    logger.warning("run heartbeat failed; retrying", exc_info=True)


_watches: dict[asyncio.AbstractEventLoop, _RunWatch] = {}


def _watch() -> _RunWatch:
    loop = asyncio.get_running_loop()
    watch = _watches.get(loop)
    if watch is None:
        for old in [known for known in _watches if known.is_closed()]:
            del _watches[old]
        watch = _watches[loop] = _RunWatch()
    return watch


async def drive(
    *, run: AgentRun, messages: list[dict[str, Any]], recorder: RunRecorder, outcome: Outcome,
    prepared: runtime.PreparedRun | None = None,
) -> None:
    """Run the agent to its end, recording every event it yields."""
    runtime.db_executor.set(_db_executor)  # this run's task context only
    stop = StopSignal(str(run.pk))
    watch = _watch()
    watch.add(stop)
    try:
        await _drive(run=run, messages=messages, recorder=recorder, outcome=outcome, stop=stop, prepared=prepared)
    finally:
        watch.signals.discard(stop)
        # The caller emits ``end`` from its own thread next: everything before it must be out first.
        await livelog.flush_appends()


async def _drive(
    *, run: AgentRun, messages: list[dict[str, Any]], recorder: RunRecorder, outcome: Outcome, stop: StopSignal,
    prepared: runtime.PreparedRun | None,
) -> None:
    async for event in agent_run_stream(
        user=run.user,
        agent=run.agent,
        messages=messages,
        options=RunOptions.from_json(run.options),
        should_stop=stop,
        run_id=str(run.pk),
        thread_id=run.thread_id,
        endpoint=run.endpoint,
        prepared=prepared,
    ):
        recorder.emit(event.type, event.data)
        outcome.take(event.type, event.data)
        if await stop():
            break
    if await stop() and outcome.status != AgentRun.Status.FAILED:
        outcome.status = AgentRun.Status.STOPPED


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid = 0
_loop_lock = threading.Lock()


def run_loop() -> asyncio.AbstractEventLoop:
    """The worker process's one long-lived event loop, on a daemon thread of its own.

    Every run of the process is a coroutine on it, so the pooled model session (and its
    TLS context and upstream keep-alive connections) and the Redis connections are made
    once per process, not once per run; ``asyncio.run`` per task cost more CPU than the
    tokens themselves. Made lazily and per pid, so a forked pool child gets its own.
    """
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop.is_closed() or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            keep_session_on(loop)
            threading.Thread(target=loop.run_forever, name="run-loop", daemon=True).start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def close_run_loop_session() -> None:
    """Close the run loop's pooled model session, if this process has a run loop (at shutdown)."""
    with _loop_lock:
        loop = _loop if _loop is not None and _loop_pid == os.getpid() and _loop.is_running() else None
    if loop is not None:
        try:
            asyncio.run_coroutine_threadsafe(aclose_http_client(), loop).result(timeout=5)
        except Exception:
            logger.warning("closing the model session at shutdown failed", exc_info=True)


def drive_sync(
    *, run: AgentRun, messages: list[dict[str, Any]], recorder: RunRecorder, outcome: Outcome,
    prepared: runtime.PreparedRun | None = None,
) -> None:
    """Drive the run on the process's run loop; the calling worker thread waits for its end.

    The Celery task still returns (and is acknowledged, acks_late) only once the run has ended.
    """
    future = asyncio.run_coroutine_threadsafe(
        drive(run=run, messages=messages, recorder=recorder, outcome=outcome, prepared=prepared), run_loop()
    )
    future.result()


def on_run_loop(coroutine: Any) -> Any:
    """Run ``coroutine`` on the process's run loop and wait for its result (from a plain thread)."""
    return asyncio.run_coroutine_threadsafe(coroutine, run_loop()).result()


# ------------------------------------------------------------------------------
# The stale-run sweep: every run worker fails dead runs itself, beat or no beat
# ------------------------------------------------------------------------------
_sweeps: dict[asyncio.AbstractEventLoop, Future] = {}


async def _sweep_forever(reap: Callable[..., list[str]]) -> None:
    while True:
        try:
            # Not the runs this process holds: they are alive whatever their heartbeat says.
            reaped = await asyncio.wrap_future(_heartbeat_pool.submit(_on_db_thread, reap, {"keep": set(live_runs)}))
        except Exception:
            logger.warning("stale-run sweep failed; retrying", exc_info=True)
        else:
            if reaped:
                logger.warning("stale-run sweep failed %d run(s) whose worker stopped: %s", len(reaped), reaped)
        await asyncio.sleep(settings.RUN_REAP_EVERY_SECONDS)


def start_stale_sweep(reap: Callable[..., list[str]]) -> Future:
    """Run ``reap`` (the reaper, ``services.runs_reap_stale``) now and every RUN_REAP_EVERY_SECONDS
    on this process's run loop, until the process ends.

    Every run worker does this, so a run whose worker died (kill -9, OOM, a lost machine) is
    failed by any live worker, even with beat down or its schedule rows gone; beat's reaper on
    the task queue is the second line, for when no run worker is alive. The reaper takes each
    run under a row lock (skip locked), so sweeps in many workers never fail a run twice.
    Once per loop: a second call returns the running sweep.
    """
    loop = run_loop()
    sweep = _sweeps.get(loop)
    if sweep is None or sweep.done():
        sweep = _sweeps[loop] = asyncio.run_coroutine_threadsafe(_sweep_forever(reap), loop)
    return sweep


# ------------------------------------------------------------------------------
# Warm-up: a run worker answers its first run as fast as its tenth
# ------------------------------------------------------------------------------
def _touch_database(everyone_in: threading.Barrier) -> None:
    AgentRun.objects.exists()
    # Held until the pool's every thread has a job: a pool starts a thread only when none is idle,
    # so one finished early would take the next job and leave a thread (and its connection) unmade.
    try:
        everyone_in.wait()
    except threading.BrokenBarrierError:  # a thread kept busy: warm fewer rather than wait on
        pass


def _retrieval_needs_encoder() -> bool:
    from django.db.models import Q

    from apps.knowledge.models import Chunk

    # Chunks embedded by the local model: only then does a run's retrieval load the encoder.
    return Chunk.objects.filter(Q(knowledge_base__isnull=True) | Q(knowledge_base__embedding_base_url="")).exists()


async def _warm_loop() -> None:
    from apps.providers.client import warm_stream

    try:
        # The pooled session, its TLS context and its first request, on a loopback answer.
        await warm_stream()
    except Exception:
        logger.warning("warming the model client failed; the first run pays for it", exc_info=True)
    await livelog.warm()


def warm_up() -> None:
    """Make now what the first run would otherwise make: the run loop, its clients, connections, the encoder.

    Called from the run worker's ``worker_ready``, so the worker answers a ping (and
    ``make run`` prints its ready line) only once this is done.
    """
    from apps.knowledge import selectors  # noqa: F401 (the runtime imports it on a run's first retrieval)
    from apps.tools.registry import all_tools

    all_tools()
    asyncio.run_coroutine_threadsafe(_warm_loop(), run_loop()).result()
    # Every database thread's connection, the row flushes' and the heartbeat's too: a burst's first
    # seconds would otherwise open them (a new PostgreSQL backend costs about 5 ms of CPU).
    for pool, count in [(_db_pool, DB_THREADS), (_flush_pool, FLUSH_THREADS), (_heartbeat_pool, 1)]:
        everyone_in = threading.Barrier(count, timeout=10)
        for future in [pool.submit(_on_db_thread, _touch_database, {"everyone_in": everyone_in}) for _ in range(count)]:
            future.result()
    if in_db(_retrieval_needs_encoder):
        from apps.knowledge.embedding import local_model

        local_model()
