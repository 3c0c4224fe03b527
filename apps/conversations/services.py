"""Every write about projects, threads, messages and runs.

A run is created here (with the user's message) inside the request and executed
by :func:`run_execute` in a worker; stop requests work from any process.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.agents.models import Agent
from apps.agents.runtime import PreparedRun, RunOptions, prepare_run
from apps.agents.selectors import agent_accessible
from apps.agents.workspace import workspace_session_delete
from apps.billing.services import credits_require
from apps.conversations import livelog, runner
from apps.conversations.models import AgentRun, Message, Project, Thread
from apps.core import throttle
from apps.core.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge
from apps.core.jobs import enqueue
from apps.core.reads import shared_reads
from apps.knowledge import services as knowledge_services

logger = logging.getLogger(__name__)

TITLE_LENGTH = 60
AGENT_REVOKED = "This agent is no longer shared with you; choose another agent or start a new chat."


def _ensure_agent_access(*, user: Any, agent: Agent | None) -> None:
    if agent is not None and not agent_accessible(user=user, agent=agent):
        raise Forbidden(AGENT_REVOKED, code="agent_access_revoked")


# ------------------------------------------------------------------------------
# Projects and threads
# ------------------------------------------------------------------------------
def project_create(*, owner: Any, name: str, description: str = "") -> Project:
    project = Project(owner=owner, name=name.strip(), description=description)
    project.full_clean()
    project.save()
    return project


def thread_create(
    *, owner: Any, project: Project | None = None, title: str = "", agent: Agent | None = None, thread_id: str = ""
) -> Thread:
    thread = Thread(owner=owner, project=project, title=title.strip()[:300], agent=agent)
    if thread_id:
        thread.id = thread_id
    thread.save(force_insert=True)
    return thread


@transaction.atomic
def thread_upsert(
    *, owner: Any, thread_id: str, title: str | None = None, pinned: bool | None = None, timestamp: float | None = None
) -> Thread:
    """000's ``POST /threads``: create or update the thread with the client's id; another user's id is 404."""
    thread = Thread.objects.select_for_update().filter(pk=thread_id).first()
    if thread is not None and thread.owner_id != owner.pk:
        raise NotFound("Thread not found.")
    if thread is None:
        thread = Thread(id=thread_id, owner=owner)
        if timestamp:
            thread.created_at = datetime.fromtimestamp(timestamp, tz=UTC)
    if title is not None:
        thread.title = title.strip()[:300]
    if pinned is not None:
        thread.pinned = pinned
    thread.save()
    if timestamp and thread.created_at != datetime.fromtimestamp(timestamp, tz=UTC):
        Thread.objects.filter(pk=thread.pk).update(created_at=datetime.fromtimestamp(timestamp, tz=UTC))
    return thread


def thread_rename(*, thread: Thread, title: str) -> Thread:
    title = title.strip()
    if not title:
        raise Invalid("A title cannot be empty.", field_errors={"title": ["This field may not be blank."]})
    thread.title = title[:300]
    thread.save(update_fields=["title", "updated_at"])
    return thread


def thread_set_shared(*, thread: Thread, shared: bool) -> Thread:
    thread.is_shared = shared
    thread.save(update_fields=["is_shared", "updated_at"])
    return thread


def thread_delete(*, thread: Thread) -> None:
    # A running run on it is told to stop first, so its worker does not write into a deleted thread.
    for run in thread.runs.filter(status__in=[AgentRun.Status.QUEUED, AgentRun.Status.RUNNING]):
        run_request_stop(run=run)
    # Its temporal files go with it: the knowledge app keeps them (chunks, stored files) by the thread's id.
    knowledge_services.thread_temporal_clear(owner=thread.owner, thread_id=thread.pk)
    thread_id = thread.pk
    thread.delete()
    # And the files its agents wrote: left behind, they would be a new thread of the same id's (000
    # clients choose ids). After the commit, so a rolled-back delete keeps them.
    transaction.on_commit(lambda: workspace_session_delete(session_id=thread_id))


# ------------------------------------------------------------------------------
# Starting runs
# ------------------------------------------------------------------------------
def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _check_messages(messages: list[dict[str, Any]]) -> None:
    if not messages:
        raise Invalid("The message list cannot be empty.", field_errors={"messages": ["This list may not be empty."]})
    if not any(_text_of(message.get("content")).strip() or isinstance(message.get("content"), list) for message in messages):
        raise Invalid("The message cannot be empty.", field_errors={"messages": ["The message cannot be empty."]})
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if any(len(_text_of(message.get("content"))) > limit for message in messages):
        raise PayloadTooLarge(f"A message may hold at most {limit} characters.")


def _new_messages(thread: Thread, messages: list[dict[str, Any]], *, fresh: bool) -> list[dict[str, Any]]:
    # Clients of 002 may send the whole history each time; a thread that already has
    # messages only gains the last one, which is the user's new turn.
    if fresh:
        return messages
    return messages[-1:]


@transaction.atomic
def run_start(
    *,
    user: Any,
    messages: list[dict[str, Any]],
    endpoint: str,
    thread: Thread | None = None,
    thread_id: str = "",
    agent: Agent | None = None,
    title: str = "",
    options: RunOptions | None = None,
) -> AgentRun:
    """Keep the user's message(s), create a queued run and hand it to a worker."""
    throttle.check("run-start", str(user.pk), settings.RUN_START_THROTTLE, message="Too many runs started; wait a moment.")
    _check_messages(messages)
    credits_require(user=user)
    fresh = created = False
    if thread is None:
        thread = Thread.objects.select_for_update().filter(pk=thread_id).first() if thread_id else None
        if thread is not None and thread.owner_id != user.pk:
            raise NotFound("Thread not found.")
        if thread is None:
            # Titled at birth, so a new thread costs one INSERT and no UPDATE below.
            title = (title or _text_of(messages[-1].get("content"))).strip()[:TITLE_LENGTH] or "New chat"
            try:
                with transaction.atomic():
                    thread = thread_create(owner=user, thread_id=thread_id, agent=agent, title=title)
            except IntegrityError:
                raise Conflict("This thread id is being created by another request; retry.") from None
            fresh = created = True
    # A thread made just now has no run to collide with: spare the query.
    if not created and thread.runs.filter(status__in=[AgentRun.Status.QUEUED, AgentRun.Status.RUNNING]).exists():
        raise Conflict("A run is already active on this thread; stop it or wait for it to finish.")
    _ensure_agent_access(user=user, agent=agent or thread.agent)
    fresh = fresh or not thread.messages.exists()
    run = AgentRun.objects.create(
        thread=thread, user=user, agent=agent or thread.agent, endpoint=endpoint,
        options=options.to_json() if options else {},
    )
    new = _new_messages(thread, messages, fresh=fresh)
    # Messages of one insert may share a created_at; reading back breaks the tie by id, so the ids
    # rise in the order sent and a history (system, user, assistant, user) keeps its order.
    ids = sorted(uuid.uuid4() for _ in new)
    Message.objects.bulk_create(
        [
            Message(
                id=message_id,
                thread=thread,
                run=run,
                role=message.get("role") if message.get("role") in Message.Role.values else Message.Role.USER,
                content=_text_of(message.get("content")),
                parts=message["content"] if isinstance(message.get("content"), list) else None,
                metadata={"message_id": message["message_id"]} if message.get("message_id") else {},
            )
            for message_id, message in zip(ids, new, strict=True)
        ]
    )
    changed = ["updated_at"]
    if not thread.title:
        thread.title = (title or _text_of(messages[-1].get("content"))).strip()[:TITLE_LENGTH] or "New chat"
        changed.append("title")
    if agent is not None and thread.agent_id != agent.pk:
        thread.agent = agent
        changed.append("agent")
    if not created or len(changed) > 1:
        thread.save(update_fields=changed)
    # Before the task is sent, so the worker's events follow it: a run past every worker's
    # limit waits in the broker, and its streams say so at once instead of staying silent.
    transaction.on_commit(lambda: livelog.append_event(str(run.pk), runner.queued_event(run)))
    # By name: the task module imports this one.
    enqueue("conversations.execute_run", run_id=str(run.pk))
    transaction.on_commit(lambda: _announce(run))
    return run


@transaction.atomic
def run_initiate(
    *,
    user: Any,
    text: str,
    project: Project | None = None,
    project_name: str = "",
    agent: Agent | None = None,
    options: RunOptions | None = None,
) -> AgentRun:
    """004's one-call start: a project (unless given), a thread in it, and a run on it."""
    _check_messages([{"role": "user", "content": text}])
    if project is None:
        project = project_create(owner=user, name=(project_name or text).strip()[:TITLE_LENGTH] or "New project")
    thread = thread_create(owner=user, project=project, agent=agent)
    return run_start(
        user=user,
        thread=thread,
        messages=[{"role": "user", "content": text}],
        agent=agent,
        options=options,
        endpoint="004 /api/agent/initiate",
    )


def run_request_stop(*, run: AgentRun) -> AgentRun:
    """Ask the run to stop, from any process: the DB flag for the record, the Redis key for the runner."""
    if run.is_finished:
        return run
    AgentRun.objects.filter(pk=run.pk).update(stop_requested=True)
    livelog.request_stop(str(run.pk))
    run.stop_requested = True
    return run


def run_request_stop_by_id(*, run_id: str) -> None:
    """Stop by id, for a stream whose client has gone (the view checked ownership when it opened)."""
    livelog.request_stop(run_id)
    AgentRun.objects.filter(pk=run_id, status__in=[AgentRun.Status.QUEUED, AgentRun.Status.RUNNING]).update(
        stop_requested=True
    )


def thread_interrupt(*, thread: Thread) -> list[AgentRun]:
    runs = list(thread.runs.filter(status__in=[AgentRun.Status.QUEUED, AgentRun.Status.RUNNING]))
    for run in runs:
        run_request_stop(run=run)
    return runs


def _announce(run: AgentRun) -> None:
    """Tell the owner's ``active_sessions`` streams about a run's state."""
    livelog.publish(
        livelog.user_runs_channel(str(run.user_id)),
        {
            "session_id": run.thread_id,
            "run_id": str(run.pk),
            "status": run.status,
            "title": run.thread.title if run.thread_id else "",
        },
    )


# ------------------------------------------------------------------------------
# Executing runs (in a worker)
# ------------------------------------------------------------------------------
def _histories(thread_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The model's view of each thread's messages (tool rows and empty assistant turns left out), in one query."""
    histories: dict[str, list[dict[str, Any]]] = {thread_id: [] for thread_id in thread_ids}
    messages = (Message.objects.filter(thread_id__in=thread_ids).exclude(role=Message.Role.TOOL)
                .only("thread_id", "role", "content", "parts").order_by("created_at", "id"))
    for message in messages:
        if message.role == Message.Role.ASSISTANT and not message.content:
            continue
        histories[message.thread_id].append({"role": message.role, "content": message.parts or message.content})
    return histories


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None  # no run has this id: a message that names none is claimed by nobody


@dataclass
class _Claimed:
    run: AgentRun
    messages: list[dict[str, Any]]


def _runs_claim(*, items: list[str]) -> list[_Claimed | None]:
    """Move queued runs to running, each exactly once, and read them with their histories.

    The runs a worker is handed together (a burst of chats) are claimed together: one UPDATE
    whose RETURNING says which were still queued, one read of those runs, one of their threads'
    messages. A run that is not queued (finished, or running on a redelivery) is ``None``, and
    so is any later copy of an id in ``items`` (two deliveries of one task): one run, one claim.
    """
    now = timezone.now()
    wanted = [_uuid_or_none(item) for item in items]
    ids = [run_id for run_id in dict.fromkeys(wanted) if run_id is not None]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {AgentRun._meta.db_table} SET status = %s, started_at = %s, heartbeat_at = %s"  # noqa: S608 (a model's table name)
            " WHERE id = ANY(%s) AND status = %s RETURNING id",
            [AgentRun.Status.RUNNING, now, now, ids, AgentRun.Status.QUEUED],
        )
        claimed = [row[0] for row in cursor.fetchall()]
    runs = {run.pk: run for run in AgentRun.objects.select_related("user", "agent", "thread").filter(pk__in=claimed)}
    histories = _histories({run.thread_id for run in runs.values()}) if runs else {}
    results: list[_Claimed | None] = []
    for run_id in wanted:
        run = runs.pop(run_id, None)  # popped: a second copy of the id finds nothing
        results.append(_Claimed(run=run, messages=list(histories[run.thread_id])) if run is not None else None)
    return results


#: Every run task of this process claims through here, so runs that arrive together share one trip.
_claims = runner.Coalesced(_runs_claim)


@dataclass
class _Begun:
    run: AgentRun | None
    allowed: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)
    prepared: PreparedRun | None = None


def _run_prepare(*, claimed: _Claimed) -> _Begun:
    """Check the claimed run's agent is still the user's to use and read its plan and passages
    (on a database thread, inside :func:`_runs_prepare`'s trip for the runs claimed with it)."""
    run = claimed.run
    if run.stop_requested:
        return _Begun(run=run)
    if run.agent is not None and not agent_accessible(user=run.user, agent=run.agent):
        return _Begun(run=run, allowed=False)
    try:
        prepared = prepare_run(user=run.user, agent=run.agent, messages=claimed.messages,
                               options=RunOptions.from_json(run.options), thread_id=run.thread_id)
    except Exception:
        # The runtime reads them again itself, inside the run, where a failure fails the run.
        logger.warning("run %s: reading its plan ahead failed", run.pk, exc_info=True)
        prepared = None
    return _Begun(run=run, messages=claimed.messages, prepared=prepared)


def _runs_prepare(*, items: list[_Claimed]) -> list[_Begun | Exception]:
    """:func:`_run_prepare` for the runs claimed together, in one trip: the runs of one user share
    their skills, MCP servers, toolkit profiles, default provider and whether they have any
    document to search (apps/core/reads.py), read once for the batch. A run whose preparation
    raises gets its own exception back."""
    results: list[_Begun | Exception] = []
    with shared_reads():
        for claimed in items:
            try:
                results.append(_run_prepare(claimed=claimed))
            except (OperationalError, InterfaceError):
                raise  # the connection is gone for every run of the batch; the trip replaces it
            except Exception as exc:
                results.append(exc)
    return results


#: Runs that arrive together are prepared together, after their shared claim.
_prepares = runner.Coalesced(_runs_prepare)


def run_execute(*, run_id: str) -> None:
    """Execute a queued run to its end; idempotent, so a redelivered task does nothing.

    The database is touched only on the runner's few database threads, never while
    holding a connection for the length of the run.
    """
    runner.live_runs.add(str(run_id))  # from the claim on (inside the trip), its heartbeats are ours
    try:
        claimed = _claims(str(run_id))
        if claimed is None:
            logger.info("run %s is not queued; nothing to do", run_id)
            return
        begun = _prepares(claimed)
        if isinstance(begun, Exception):
            raise begun
        _run_drive(begun)
    finally:
        runner.live_runs.discard(str(run_id))


def _run_drive(begun: _Begun) -> None:
    run = begun.run
    _announce(run)
    recorder = runner.RunRecorder(str(run.pk), kept=[runner.queued_event(run)])
    outcome = runner.Outcome()
    try:
        if livelog.stop_requested(str(run.pk)) or run.stop_requested:
            outcome.status = AgentRun.Status.STOPPED
            if begun.prepared is not None and begun.prepared.plan is not None:
                runner.on_run_loop(begun.prepared.plan.toolset.aclose())  # it never runs
        elif not begun.allowed:
            # Revoked between the request and the worker: the owner's provider and key are not ours to use.
            outcome.status = AgentRun.Status.FAILED
            outcome.error = AGENT_REVOKED
            recorder.emit("error", {"content": outcome.error})
        else:
            runner.drive_sync(run=run, messages=begun.messages, recorder=recorder, outcome=outcome,
                              prepared=begun.prepared)
    except Exception:
        logger.exception("run %s failed", run.pk)
        outcome.status = AgentRun.Status.FAILED
        outcome.error = "The agent run failed unexpectedly."
        recorder.emit("error", {"content": outcome.error})
    _run_finish(run=run, recorder=recorder, outcome=outcome)


def _run_finish(*, run: AgentRun, recorder: runner.RunRecorder, outcome: runner.Outcome) -> None:
    # Order matters to readers: the answer is saved before ``end`` is announced (so a
    # client that saw ``end`` finds it in the history); every event row, ``end``'s too, is
    # written before the status says finished (so a replay from PostgreSQL is complete); and
    # ``end`` goes live only once the run is closed, so a client that sends its next message
    # the moment it sees ``end`` never finds the run still active (409).
    recorder.flush_now()
    if not runner.in_db(_answer_save, run=run, outcome=outcome):
        # The reaper took this run for dead (no heartbeat for RUN_STALE_SECONDS) and ended it.
        logger.warning("run %s was failed by the reaper while it ran; its late end is dropped", run.pk)
        return
    end = {"status": outcome.status, "message_id": str(run.response_message_id)}
    if outcome.error:
        end["error"] = outcome.error
    end_event = recorder.keep("end", end)
    recorder.flush_now()
    runner.in_db(_run_close, run=run, outcome=outcome, event_count=recorder.sequence)
    livelog.append_event(str(run.pk), end_event)
    livelog.finish_events(str(run.pk))
    run.status = outcome.status
    _announce(run)


def _answer_save(*, run: AgentRun, outcome: runner.Outcome) -> bool:
    """Save the answer of a run that is still running; False if it is not (the reaper ended it)."""
    if not AgentRun.objects.filter(pk=run.pk, status=AgentRun.Status.RUNNING).exists():
        return False
    thread_exists = Thread.objects.filter(pk=run.thread_id).exists()
    if thread_exists and (outcome.content or outcome.tool_calls or outcome.reasoning):
        Message.objects.create(
            id=run.response_message_id,
            thread_id=run.thread_id,
            run=run,
            role=Message.Role.ASSISTANT,
            content="".join(outcome.content),
            reasoning="".join(outcome.reasoning),
            tool_calls=outcome.tool_calls,
            citations=outcome.citations,
            metadata={"tool_results": outcome.tool_results} if outcome.tool_results else {},
        )
    return True


def _run_close(*, run: AgentRun, outcome: runner.Outcome, event_count: int) -> None:
    AgentRun.objects.filter(pk=run.pk, status=AgentRun.Status.RUNNING).update(
        status=outcome.status,
        finished_at=timezone.now(),
        error=outcome.error,
        usage=outcome.usage,
        event_count=event_count,
    )
    Thread.objects.filter(pk=run.thread_id).update(updated_at=timezone.now())


# ------------------------------------------------------------------------------
# Runs whose worker died (beat runs this every RUN_REAP_EVERY_SECONDS)
# ------------------------------------------------------------------------------
REAPED_ERROR = "The worker running this answer stopped before it finished; send the message again."


def runs_reap_stale(*, keep: Collection[str] = ()) -> list[str]:
    """Fail every running run whose heartbeat stopped: its worker died (an OOM kill, a lost machine).

    Each gets an ``error`` and an ``end`` event after the last one it kept, so every stream
    of it ends, and its thread takes new messages. What it had answered is kept as the
    assistant message. Safe to run concurrently: each run is taken under a row lock.
    ``keep``: runs the caller knows are alive (a run worker's own runs in progress).
    """
    cutoff = timezone.now() - timedelta(seconds=settings.RUN_STALE_SECONDS)
    stale = AgentRun.objects.filter(_stale(cutoff)).values_list("pk", flat=True)
    return [
        str(run_id) for run_id in list(stale)
        if str(run_id) not in keep and _run_reap(run_id=str(run_id), cutoff=cutoff)
    ]


def _stale(cutoff: datetime) -> Q:
    # A run claimed before heartbeats existed has none: its start time stands in.
    return Q(status=AgentRun.Status.RUNNING) & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


def _run_reap(*, run_id: str, cutoff: datetime) -> bool:
    with transaction.atomic():
        run = (
            AgentRun.objects.select_for_update(skip_locked=True)
            .filter(_stale(cutoff), pk=run_id)
            .first()
        )
        if run is None:
            return False
        # The live list holds every event the worker announced; some may not have reached PostgreSQL.
        kept = livelog.kept_events(run_id)
        runner.write_events(run_id, kept)
        last = max([event["seq"] for event in kept] + [run.events.aggregate(last=Max("sequence"))["last"] or 0])
        outcome = runner.Outcome()
        for event in kept:
            outcome.take(event["type"], event["data"])
        outcome.status, outcome.error = AgentRun.Status.FAILED, REAPED_ERROR
        now = round(time.time(), 6)
        closing = [
            {"seq": last + 1, "type": "error", "data": {"content": REAPED_ERROR}, "ts": now},
            {"seq": last + 2, "type": "end", "data": {"status": outcome.status, "error": REAPED_ERROR,
                                                       "message_id": str(run.response_message_id)}, "ts": now},
        ]
        runner.write_events(run_id, closing)
        _answer_save(run=run, outcome=outcome)
        _run_close(run=run, outcome=outcome, event_count=last + 2)
    logger.warning("run %s had no heartbeat since %s: failed", run_id, run.heartbeat_at)
    for event in closing:
        livelog.append_event(run_id, event)
    livelog.finish_events(run_id)
    run.status = outcome.status
    _announce(run)
    return True
