"""003's scheduled agent tasks: the routes, beat's rows, and each tick starting a normal run."""
from __future__ import annotations

import json
import time

import pytest
from django.test import Client
from django_celery_beat.models import PeriodicTask

from apps.agents.tests.factories import AgentFactory
from apps.conversations.models import AgentRun
from apps.tasks import schedules
from apps.tasks.models import ScheduledAgentTask, ScheduledTaskExecution
from apps.tasks.tasks import fire_scheduled_agent_task

URL = "/api/v1/task/schedulers"
pytestmark = pytest.mark.django_db


def _create(client, **fields):
    body = {"name": "Morning digest", "prompt": "What is 2+2?", "cron": "0 9 * * mon-fri",
            "timezone": "Europe/Paris", **fields}
    return client.post(URL, body, format="json")


def test_it_creates_a_schedule_that_beat_reads(alice_client):
    response = _create(alice_client)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["cron"] == "0 9 * * mon-fri" and data["timezone"] == "Europe/Paris" and data["history"] == []
    periodic = PeriodicTask.objects.get(name=f"scheduled-agent-task:{data['id']}")
    assert periodic.task == "tasks.fire_scheduled_agent_task" and periodic.enabled
    assert json.loads(periodic.kwargs) == {"schedule_id": data["id"]}
    assert (periodic.crontab.minute, periodic.crontab.hour, periodic.crontab.day_of_week) == ("0", "9", "mon-fri")
    assert str(periodic.crontab.timezone) == "Europe/Paris"
    # The next run is 09:00 in Paris on a weekday.
    schedule = ScheduledAgentTask.objects.get()
    local = schedule.next_run_at.astimezone(schedules._zone("Europe/Paris"))
    assert (local.hour, local.minute, local.second) == (9, 0, 0) and local.weekday() < 5


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "* * *"}, "cron"),
        ({"cron": "0 0 31 2 *"}, "cron"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"cron": "", "interval_seconds": 5}, "interval_seconds"),
        # Found by fuzzing: beyond any date, it was an OverflowError (a 500).
        ({"cron": "", "interval_seconds": 2**62}, "interval_seconds"),
        ({"cron": "", "interval_seconds": None}, "cron"),
        ({"interval_seconds": 300}, "cron"),
        ({"name": ""}, "name"),
    ],
)
def test_it_names_the_field_of_a_bad_schedule(alice_client, fields, field):
    response = _create(alice_client, **fields)
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert response.json()["code"]
    assert not ScheduledAgentTask.objects.exists() and not PeriodicTask.objects.filter(name__startswith="sched").exists()


def test_another_users_agent_is_refused(alice_client, bob):
    response = _create(alice_client, agent_id=str(AgentFactory(owner=bob).pk))
    assert response.status_code == 400 and "agent_id" in response.json()["errors"]


def test_the_list_is_the_owners(alice_client, bob_client):
    _create(alice_client)
    assert alice_client.get(URL).json()["total"] == 1
    assert bob_client.get(URL).json() == {"items": [], "total": 0, "page": 1, "per_page": 20}


def test_an_update_moves_beat_to_the_new_timing(alice_client, bob_client):
    schedule_id = _create(alice_client).json()["id"]
    assert bob_client.put(f"{URL}/{schedule_id}", {"enabled": False}, format="json").status_code == 404
    response = alice_client.put(f"{URL}/{schedule_id}", {"interval_seconds": 120, "enabled": False}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["cron"] == "" and response.json()["next_run_at"] is None
    periodic = PeriodicTask.objects.get(name=f"scheduled-agent-task:{schedule_id}")
    assert periodic.crontab is None and periodic.interval.every == 120 and not periodic.enabled
    bad = alice_client.put(f"{URL}/{schedule_id}", {"timezone": "Nowhere/Land"}, format="json")
    assert bad.status_code == 400 and "timezone" in bad.json()["errors"]


def test_delete_removes_beats_row(alice_client, bob_client):
    schedule_id = _create(alice_client).json()["id"]
    assert bob_client.delete(f"{URL}/{schedule_id}").status_code == 404
    assert alice_client.delete(f"{URL}/{schedule_id}").status_code == 204
    assert not PeriodicTask.objects.filter(name=f"scheduled-agent-task:{schedule_id}").exists()
    assert alice_client.delete(f"{URL}/{schedule_id}").status_code == 404


def test_run_now_starts_a_normal_run_and_never_overlaps(alice, alice_client, bob_client):
    agent = AgentFactory(owner=alice)
    schedule_id = _create(alice_client, agent_id=str(agent.pk)).json()["id"]
    assert bob_client.post(f"{URL}/{schedule_id}/run").status_code == 404
    first = alice_client.post(f"{URL}/{schedule_id}/run")
    assert first.status_code == 200
    assert first.json()["outcome"] == "started" and first.json()["trigger"] == "manual"
    run = AgentRun.objects.get(pk=first.json()["run_id"])
    assert run.endpoint == "003 /api/v1/task/schedulers" and run.agent == agent and run.status == "queued"
    assert run.thread.messages.get().content == "What is 2+2?"
    # The run has not finished (no worker here): the next tick is skipped, with a note.
    second = alice_client.post(f"{URL}/{schedule_id}/run").json()
    assert second["outcome"] == "skipped" and str(run.pk) in second["note"]
    history = alice_client.get(URL).json()["items"][0]["history"]
    assert [row["outcome"] for row in history] == ["skipped", "started"]


def test_a_disabled_owner_or_schedule_skips_and_says_why(alice, alice_client):
    schedule_id = _create(alice_client, enabled=False).json()["id"]
    fire_scheduled_agent_task.run(schedule_id=schedule_id)
    assert ScheduledTaskExecution.objects.get().note == "The schedule is disabled."
    alice.is_active = False
    alice.save()
    schedules.schedule_fire(schedule_id=schedule_id, trigger="manual")
    assert ScheduledTaskExecution.objects.first().note == "The owner's account is disabled."
    assert not AgentRun.objects.exists()


def test_an_owner_out_of_credits_skips_and_says_why(alice_client, settings):
    settings.BILLING_ENABLED = True
    settings.BILLING_SIGNUP_CREDITS = "0"
    schedule_id = _create(alice_client).json()["id"]
    execution = schedules.schedule_fire(schedule_id=schedule_id)
    assert execution.outcome == "skipped" and execution.note.startswith("Insufficient credits")
    assert not AgentRun.objects.exists()


def test_schedulers_need_a_login(anon):
    assert anon.get(URL).status_code == 401
    assert anon.post(URL, {}, format="json").status_code == 401
    assert anon.put(f"{URL}/x", {}, format="json").status_code == 401
    assert anon.delete(f"{URL}/x").status_code == 401
    assert anon.post(f"{URL}/x/run").status_code == 401


def test_the_admin_shows_a_schedule_with_its_history(admin_user, alice_client):
    schedule_id = _create(alice_client).json()["id"]
    alice_client.post(f"{URL}/{schedule_id}/run")
    browser = Client()
    browser.force_login(admin_user)
    page = browser.get(f"/admin/tasks/scheduledagenttask/{schedule_id}/change/")
    assert page.status_code == 200
    assert b"Started run" in page.content
    assert browser.get("/admin/tasks/scheduledagenttask/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_every_minute_two_ticks_make_two_runs(celery_worker_process, alice, client_for):
    client = client_for(alice)
    schedule_id = _create(client, cron="* * * * *", timezone="UTC").json()["id"]
    for tick in range(1, 3):
        # What beat sends each minute, through the broker to the worker.
        fire_scheduled_agent_task.delay(schedule_id=schedule_id)
        deadline = time.monotonic() + 90
        while True:
            executions = list(ScheduledTaskExecution.objects.filter(schedule_id=schedule_id).select_related("run"))
            if len(executions) == tick and executions[0].run and executions[0].run.is_finished:
                break
            assert time.monotonic() < deadline, "the tick's run did not finish"
            time.sleep(0.2)
    history = client.get(URL).json()["items"][0]["history"]
    assert [(row["outcome"], row["run_status"]) for row in history] == [("started", "completed")] * 2
    assert len({row["thread_id"] for row in history}) == 2
    assert ScheduledAgentTask.objects.get(pk=schedule_id).last_run_at is not None
