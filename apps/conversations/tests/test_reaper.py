"""The reaper: a run whose worker died (no heartbeat) is failed, its streams end, its thread moves on."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.conversations import livelog, runner, services
from apps.conversations.models import AgentRun, Message, RunEvent
from apps.conversations.tests.factories import AgentRunFactory, ThreadFactory

pytestmark = pytest.mark.django_db


def _running(thread, *, heartbeat_age: float) -> AgentRun:
    now = timezone.now()
    return AgentRunFactory(
        thread=thread, status=AgentRun.Status.RUNNING, started_at=now - timedelta(seconds=heartbeat_age + 1),
        heartbeat_at=now - timedelta(seconds=heartbeat_age),
    )


def _live(run: AgentRun, *events: tuple[str, dict]) -> None:
    for seq, (kind, data) in enumerate(events, start=1):
        livelog.append_event(str(run.pk), {"seq": seq, "type": kind, "data": data, "ts": 1.0 + seq})


def test_it_fails_a_run_whose_heartbeat_stopped_and_ends_its_stream(alice, settings):
    settings.RUN_STALE_SECONDS = 30
    thread = ThreadFactory(owner=alice)
    run = _running(thread, heartbeat_age=45)
    _live(run, ("status", {"step": "queued"}), ("content", {"content": "Half an "}), ("content", {"content": "answer"}))
    # The worker flushed only the first event before it died.
    runner.write_events(str(run.pk), livelog.kept_events(str(run.pk))[:1])

    assert services.runs_reap_stale() == [str(run.pk)]

    run.refresh_from_db()
    assert run.status == AgentRun.Status.FAILED and run.finished_at and run.error == services.REAPED_ERROR
    assert run.event_count == 5
    kept = livelog.kept_events(str(run.pk))
    assert [event["type"] for event in kept] == ["status", "content", "content", "error", "end"]
    assert kept[-1]["data"]["status"] == "failed" and [event["seq"] for event in kept] == [1, 2, 3, 4, 5]
    assert list(RunEvent.objects.filter(run=run).values_list("sequence", flat=True)) == [1, 2, 3, 4, 5]
    answer = Message.objects.get(pk=run.response_message_id)
    assert answer.role == "assistant" and answer.content == "Half an answer"
    # The thread takes a new message at once.
    again = services.run_start(user=alice, thread=thread, messages=[{"role": "user", "content": "Again?"}], endpoint="test")
    assert again.status == AgentRun.Status.QUEUED


def test_it_leaves_live_queued_and_finished_runs_alone(alice, settings):
    settings.RUN_STALE_SECONDS = 30
    alive = _running(ThreadFactory(owner=alice), heartbeat_age=5)
    queued = AgentRunFactory(thread=ThreadFactory(owner=alice))
    done = AgentRunFactory(thread=ThreadFactory(owner=alice), status=AgentRun.Status.COMPLETED, finished_at=timezone.now())
    assert services.runs_reap_stale() == []
    assert {run.pk: run.status for run in AgentRun.objects.all()} == {
        alive.pk: "running", queued.pk: "queued", done.pk: "completed",
    }


def test_a_run_claimed_without_a_heartbeat_is_reaped_after_its_start(alice, settings):
    settings.RUN_STALE_SECONDS = 30
    run = AgentRunFactory(thread=ThreadFactory(owner=alice), status=AgentRun.Status.RUNNING,
                          started_at=timezone.now() - timedelta(minutes=5))
    assert services.runs_reap_stale() == [str(run.pk)]
    assert AgentRun.objects.get(pk=run.pk).status == AgentRun.Status.FAILED


@pytest.mark.django_db(transaction=True)  # the runner writes on its own database threads
def test_a_worker_that_outlived_its_reaping_does_not_reopen_the_run(alice, settings):
    settings.RUN_STALE_SECONDS = 30
    run = _running(ThreadFactory(owner=alice), heartbeat_age=45)
    services.runs_reap_stale()
    recorder = runner.RunRecorder(str(run.pk), kept=livelog.kept_events(str(run.pk)))
    outcome = runner.Outcome(content=["late"])
    services._run_finish(run=run, recorder=recorder, outcome=outcome)
    run.refresh_from_db()
    assert run.status == AgentRun.Status.FAILED
    assert [event["type"] for event in livelog.kept_events(str(run.pk))][-1] == "end"
    assert not Message.objects.filter(pk=run.response_message_id, content="late").exists()


def test_beat_schedules_the_reaper(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["conversations.reap_stale_runs"]
    assert entry == {"task": "conversations.reap_stale_runs", "schedule": settings.RUN_REAP_EVERY_SECONDS}


@pytest.mark.django_db(transaction=True)
def test_the_run_workers_own_sweep_fails_a_dead_run_without_beat(alice, settings):
    # The sweep a run worker starts once warmed up (tasks.warm_run_worker), on its real run loop
    # and database threads; no beat and no task queue are involved.
    settings.RUN_STALE_SECONDS, settings.RUN_REAP_EVERY_SECONDS = 30, 0.2
    run = _running(ThreadFactory(owner=alice), heartbeat_age=45)
    alive = _running(ThreadFactory(owner=alice), heartbeat_age=1)
    _live(run, ("status", {"step": "queued"}), ("content", {"content": "Half"}))

    sweep = runner.start_stale_sweep(services.runs_reap_stale)
    try:
        assert runner.start_stale_sweep(services.runs_reap_stale) is sweep  # one sweep per process
        deadline = time.monotonic() + 20
        while AgentRun.objects.get(pk=run.pk).status == AgentRun.Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.05)
        run.refresh_from_db()
        assert run.status == AgentRun.Status.FAILED and run.error == services.REAPED_ERROR
        assert [event["type"] for event in livelog.kept_events(str(run.pk))][-2:] == ["error", "end"]
        # A later sweep (0.2 s apart) leaves the live run alone.
        time.sleep(0.5)
        assert AgentRun.objects.get(pk=alive.pk).status == AgentRun.Status.RUNNING
        assert not sweep.done()
    finally:
        sweep.cancel()
        runner._sweeps.clear()
