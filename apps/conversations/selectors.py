"""Reads about projects, threads, messages and runs, always scoped to who is asking.

Another user's object is reported exactly like a missing one (404).
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.conversations import livelog
from apps.conversations.models import AgentRun, Message, Project, RunEvent, Thread
from apps.core.errors import NotFound

SORTS = {
    "updated_at": "-updated_at",
    "created_at": "-created_at",
    "title": "title",
    "-updated_at": "-updated_at",
    "-created_at": "-created_at",
    "update_time": "-updated_at",
    "create_time": "-created_at",
}


def _uuid_or_404(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"{what} not found.") from None


# ------------------------------------------------------------------------------
# Projects
# ------------------------------------------------------------------------------
def project_list(*, user: Any) -> QuerySet[Project]:
    return Project.objects.filter(owner=user)


def project_get(*, user: Any, project_id: Any) -> Project:
    pk = _uuid_or_404(project_id, "Project")
    project = Project.objects.filter(owner=user, pk=pk).first()
    if project is None:
        raise NotFound("Project not found.")
    return project


# ------------------------------------------------------------------------------
# Threads
# ------------------------------------------------------------------------------
def thread_titles(user: Any, session_ids: Sequence[str]) -> dict[str, str]:
    """The titles of those ids that are ``user``'s threads (the core session registry's reader for threads)."""
    return dict(Thread.objects.filter(owner=user, pk__in=list(session_ids)).values_list("pk", "title"))


def thread_list(*, user: Any, project_id: Any = None) -> QuerySet[Thread]:
    threads = Thread.objects.filter(owner=user).select_related("agent", "project")
    if project_id:
        threads = threads.filter(project=project_get(user=user, project_id=project_id))
    return threads.order_by("-pinned", "-updated_at")


def thread_get(*, user: Any, thread_id: str) -> Thread:
    thread = Thread.objects.filter(owner=user, pk=thread_id).select_related("agent", "project").first()
    if thread is None:
        raise NotFound("Thread not found.")
    return thread


def thread_ensure_not_foreign(*, user: Any, thread_id: str) -> None:
    """404 when ``thread_id`` names another user's thread.

    000 clients mint thread ids themselves and may attach files before the thread
    exists, so an unknown id is the caller's to use.
    """
    if Thread.objects.filter(pk=thread_id).exclude(owner=user).exists():
        raise NotFound("Thread not found.")


def thread_get_shared(*, thread_id: str) -> Thread:
    """A conversation its owner has shared; anything else is 404."""
    thread = Thread.objects.filter(pk=thread_id, is_shared=True).first()
    if thread is None:
        raise NotFound("Conversation not found.")
    return thread


def conversation_search(
    *, user: Any, search: str = "", agent_id: str = "", sort_by: str = "", owner_id: str = ""
) -> QuerySet[Thread]:
    """002's sidebar: the user's conversations; an admin may look at another user's with ``owner_id``."""
    owner_filter: dict[str, Any] = {"owner": user}
    if owner_id and (user.is_staff or user.is_superuser):
        owner_filter = {"owner_id": _uuid_or_404(owner_id, "User")}
    threads = Thread.objects.filter(**owner_filter).select_related("agent").annotate(message_count=Count("messages"))
    if search:
        threads = threads.filter(Q(title__icontains=search) | Q(messages__content__icontains=search)).distinct()
    if agent_id:
        threads = threads.filter(agent_id=_uuid_or_404(agent_id, "Agent"))
    return threads.order_by(SORTS.get(sort_by, "-updated_at"), "-created_at")


def thread_messages(*, thread: Thread) -> QuerySet[Message]:
    return thread.messages.all()


def thread_next_stream_index(*, thread: Thread) -> int:
    """How many lines the latest run's stream has so far: where a resume would pick up."""
    run = thread.runs.order_by("-created_at").first()
    if run is None:
        return 0
    if run.is_finished:
        return run.event_count
    return max(run.event_count, livelog.live_count(str(run.pk)))


# ------------------------------------------------------------------------------
# Runs
# ------------------------------------------------------------------------------
def run_get(*, user: Any, run_id: Any) -> AgentRun:
    pk = _uuid_or_404(run_id, "Agent run")
    run = AgentRun.objects.filter(user=user, pk=pk).select_related("thread", "agent").first()
    if run is None:
        raise NotFound("Agent run not found.")
    return run


def run_list_for_thread(*, user: Any, thread_id: str) -> QuerySet[AgentRun]:
    return thread_get(user=user, thread_id=thread_id).runs.order_by("-created_at")


def run_latest_for_thread(*, user: Any, thread_id: str) -> AgentRun:
    run = thread_get(user=user, thread_id=thread_id).runs.order_by("-created_at").first()
    if run is None:
        raise NotFound("This session has no stream.")
    return run


def runs_active(*, user: Any) -> QuerySet[AgentRun]:
    return (
        AgentRun.objects.filter(user=user, status__in=[AgentRun.Status.QUEUED, AgentRun.Status.RUNNING])
        .select_related("thread", "agent")
        .order_by("created_at")
    )


def run_status(*, run_id: str) -> str | None:
    """Unscoped: the stream readers call it after the view has checked ownership."""
    return AgentRun.objects.filter(pk=run_id).values_list("status", flat=True).first()


def run_events_after(*, run_id: str, after: int) -> list[dict[str, Any]]:
    """Kept events from PostgreSQL, in the same shape as the live ones."""
    rows = RunEvent.objects.filter(run_id=run_id, sequence__gt=after).order_by("sequence")
    return [
        {"seq": row.sequence, "type": row.type, "data": row.payload, "ts": round(row.created_at.timestamp(), 6)}
        for row in rows.iterator()
    ]
