"""A run's ``end`` goes live only once the run is closed: a client that sends its next message the
moment it sees ``end`` must not be refused with "a run is already active" (409)."""
from __future__ import annotations

import pytest

from apps.conversations import livelog, services
from apps.conversations.models import AgentRun, RunEvent
from apps.conversations.tests.factories import ThreadFactory


@pytest.mark.django_db(transaction=True)
def test_when_end_is_announced_the_run_is_finished_and_the_thread_takes_the_next_message(alice, fake_llm, monkeypatch):
    # This test is the worker: a Celery worker left by another test must not take the run first.
    monkeypatch.setattr(services, "enqueue", lambda *args, **kwargs: None)
    thread = ThreadFactory(owner=alice)
    run = services.run_start(user=alice, thread=thread, messages=[{"role": "user", "content": "hi"}], endpoint="test")
    seen: list[tuple[str, bool, bool]] = []
    append = livelog.append_event

    def watching(run_id: str, event: dict) -> None:
        if event["type"] == "end":
            # What a client that reacts to ``end`` at once finds in the database.
            closed = not AgentRun.objects.filter(pk=run_id, status__in=[AgentRun.Status.QUEUED, AgentRun.Status.RUNNING]).exists()
            kept = RunEvent.objects.filter(run_id=run_id, sequence=event["seq"]).exists()
            seen.append((event["type"], closed, kept))
        append(run_id, event)

    monkeypatch.setattr(livelog, "append_event", watching)
    services.run_execute(run_id=str(run.pk))

    assert seen == [("end", True, True)]
    again = services.run_start(user=alice, thread=thread, messages=[{"role": "user", "content": "and?"}], endpoint="test")
    assert again.pk != run.pk
