"""One agent step per POST /api/tasks/{task_id}: tools, ask_user, final answers, the offline model."""
from __future__ import annotations

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from apps.core.locks import advisory_lock, uuid_lock_key
from apps.knowledge import services as knowledge_services
from apps.providers.models import UsageRecord
from apps.providers.offline import OFFLINE_MODEL_NAME
from apps.providers.testing import FAKE_MODEL, Reply
from apps.tasks.models import Task
from apps.tasks.tests.factories import TaskFactory
from apps.tools.skillfiles import read_skill_zip
from apps.tools.skills import skill_save_bundle
from apps.tools.tests.skillzip import skill_zip

pytestmark = pytest.mark.django_db


@pytest.fixture
def task(alice):
    return TaskFactory(owner=alice, request="What is 6 times 7?", title="What is 6 times 7?")


@pytest.fixture
def provider(alice, fake_llm):
    return fake_llm.make_provider(owner=alice)


def step(client, task, **body):
    return client.post(f"/api/tasks/{task.pk}", body, format="json")


def test_it_runs_a_tool_then_a_final_answer(alice, alice_client, task, fake_llm, provider):
    fake_llm.script(
        Reply(text="Let me compute that.", tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]),
        Reply(tool_calls=[{"name": "final_answer", "arguments": {"answer": "6 times 7 is 42."}}]),
    )
    first = step(alice_client, task)
    assert first.status_code == 200
    assert first.json() == {
        "input": "",
        "action": {"name": "calculator", "parameters": {"expression": "6*7"}, "reasoning": "Let me compute that.",
                   "final": False},
        "result": {"status": "SUCCESS", "details": {"tool": "calculator", "output": "42"}, "summary": "calculator: 42",
                   "error": None, "message": None},
        "documents": [],
    }
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN and task.completed is None

    second = step(alice_client, task, message="Thanks, go on.")
    assert second.status_code == 200
    body = second.json()
    assert body["input"] == "Thanks, go on."
    assert body["action"]["name"] == "final_answer" and body["action"]["final"] is True
    assert body["result"]["status"] == "SUCCESS" and body["result"]["message"] == "6 times 7 is 42."

    # Exactly one model call per step, each offered the registered tools and the two control actions.
    assert len(fake_llm.chat_requests) == 2
    offered = {tool["function"]["name"] for tool in fake_llm.chat_requests[0]["tools"]}
    assert {"calculator", "current_time", "ask_user", "final_answer"} <= offered
    # The previous step is the context of the next call: its call, its result, then the new message.
    history = fake_llm.chat_requests[1]["messages"]
    call = history[-3]["tool_calls"][0]
    assert call["function"]["name"] == "calculator"
    assert history[-2] == {"role": "tool", "tool_call_id": call["id"], "content": "42"}
    assert history[-1] == {"role": "user", "content": "Thanks, go on."}
    assert {"role": "user", "content": "What is 6 times 7?"} in history

    task.refresh_from_db()
    assert task.status == Task.Status.COMPLETED and task.completed is not None
    assert alice_client.get(f"/api/tasks/{task.pk}").json()["completed"] is not None
    steps = alice_client.get(f"/api/tasks/{task.pk}/steps").json()
    assert [s["action"]["name"] for s in steps] == ["calculator", "final_answer"]
    usage = UsageRecord.objects.filter(user=alice, session_id=str(task.pk))
    assert usage.count() == 2 and {record.model for record in usage} == {FAKE_MODEL}


def test_it_answers_409_once_the_task_is_completed(alice_client, task, fake_llm, provider):
    fake_llm.script("It is 42.")
    assert step(alice_client, task).json()["action"]["final"] is True
    response = step(alice_client, task, message="one more thing")
    assert response.status_code == 409
    assert response.json()["statusCode"] == 409 and response.json()["path"] == f"/api/tasks/{task.pk}"
    assert len(fake_llm.chat_requests) == 1
    assert task.steps.count() == 1


def test_it_takes_a_plain_text_answer_as_final(alice_client, task, fake_llm, provider):
    fake_llm.script(Reply(text="It is 42.", reasoning="Six sevens."))
    body = step(alice_client, task).json()
    assert body["action"] == {"name": "final_answer", "parameters": {"answer": "It is 42."}, "reasoning": "Six sevens.",
                              "final": True}
    assert body["result"]["status"] == "SUCCESS" and body["result"]["message"] == "It is 42."


def test_it_asks_the_user_and_takes_the_answer_from_state_data(alice_client, task, fake_llm, provider):
    fake_llm.script(
        Reply(tool_calls=[{"name": "ask_user", "arguments": {"question": "Which city?"}, "id": "call_ask"}]),
        Reply(text="Paris it is."),
    )
    first = step(alice_client, task).json()
    assert first["action"]["name"] == "ask_user" and first["action"]["final"] is False
    assert first["result"]["status"] == "AWAITING_INPUT" and first["result"]["message"] == "Which city?"
    task.refresh_from_db()
    assert task.status == Task.Status.AWAITING_INPUT

    second = step(alice_client, task, stateData={"city": "Paris"})
    assert second.status_code == 200
    assert second.json()["action"]["final"] is True
    answer = fake_llm.chat_requests[1]["messages"][-1]
    assert answer["role"] == "tool" and answer["tool_call_id"] == "call_ask"
    assert '"city": "Paris"' in answer["content"]
    assert alice_client.get(f"/api/tasks/{task.pk}").json()["context"] == {"city": "Paris"}
    assert alice_client.get(f"/api/tasks/{task.pk}/steps").json()[1]["input"] == ""


def test_it_reports_a_failing_tool_as_a_failed_step(alice_client, task, fake_llm, provider):
    fake_llm.script(Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "1/0"}}]))
    body = step(alice_client, task).json()
    assert body["result"]["status"] == "FAILURE"
    assert body["result"]["error"] == "Division by zero."
    assert body["action"]["final"] is False


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ({"name": "rm_rf", "arguments": {}}, "The tool rm_rf is not available to this agent."),
        ({"name": "calculator", "arguments": {"expr": "1"}}, "Invalid parameters for calculator: 'expression' is a required property"),
    ],
)
def test_it_reports_a_bad_tool_call_as_a_failed_step(alice_client, task, fake_llm, provider, call, error):
    fake_llm.script(Reply(tool_calls=[call]))
    response = step(alice_client, task)
    assert response.status_code == 200
    assert response.json()["result"]["status"] == "FAILURE"
    assert response.json()["result"]["error"] == error


def test_it_runs_only_the_first_of_several_tool_calls(alice_client, task, fake_llm, provider):
    fake_llm.script(
        Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "2+2"}},
                          {"name": "calculator", "arguments": {"expression": "3+3"}}]),
        "Done.",
    )
    assert step(alice_client, task).json()["result"]["details"]["output"] == "4"
    step(alice_client, task)
    calls = [m for m in fake_llm.chat_requests[1]["messages"] if m.get("tool_calls")]
    assert len(calls) == 1 and len(calls[0]["tool_calls"]) == 1


def test_it_answers_502_and_records_no_step_when_the_model_fails(alice_client, task, fake_llm, provider):
    fake_llm.script(Reply(status=400, error_message="context too long"))
    response = step(alice_client, task)
    assert response.status_code == 502
    # The upstream's reason is summarised, never echoed (the providers' hardening).
    assert "HTTP 400" in response.json()["message"]
    assert not task.steps.exists()
    fake_llm.script("It is 42.")
    assert step(alice_client, task).json()["action"]["final"] is True


def test_it_works_step_by_step_with_the_offline_model(alice, alice_client, task):
    first = step(alice_client, task, message="Compute 6 * 7 for me.")
    assert first.status_code == 200
    assert first.json()["action"]["name"] == "calculator"
    assert first.json()["result"]["details"]["output"] == "42"
    second = step(alice_client, task).json()
    assert second["action"]["final"] is True
    assert second["result"]["message"] == "The result is 42."
    task.refresh_from_db()
    assert task.is_completed
    assert set(UsageRecord.objects.filter(user=alice).values_list("model", flat=True)) == {OFFLINE_MODEL_NAME}


def test_it_grounds_a_step_in_the_task_documents(alice, alice_client):
    task = TaskFactory(owner=alice, request="What do solar panels do?")
    upload = SimpleUploadedFile("solar.txt", b"Solar panels convert sunlight into electricity. Bananas are yellow.")
    document = knowledge_services.document_create(owner=alice, upload=upload, task_id=str(task.pk), queue=False)
    knowledge_services.document_ingest(document_id=document.pk)
    body = step(alice_client, task).json()
    assert "Solar panels convert sunlight into electricity. [1]" in body["result"]["message"]
    assert body["documents"][0]["taskId"] == str(task.pk)
    assert body["documents"][0]["filename"] == "solar.txt"
    assert body["documents"][0]["metadata"]["cited"] is True


def test_it_shows_the_workspace_to_the_model(alice, alice_client, task, fake_llm, provider):
    upload = SimpleUploadedFile("itinerary.txt", b"Day one: Lisbon.")
    knowledge_services.document_create(owner=alice, upload=upload, task_id=str(task.pk), queue=False)
    fake_llm.script("Noted.")
    body = step(alice_client, task).json()
    assert [d["filename"] for d in body["documents"]] == ["itinerary.txt"]
    assert body["documents"][0]["metadata"]["cited"] is False
    assert "itinerary.txt" in fake_llm.chat_requests[0]["messages"][0]["content"]


def test_it_lists_the_users_skills_to_the_model_and_loads_one(alice, alice_client, task, fake_llm, provider):
    skill_save_bundle(user=alice, bundle=read_skill_zip(skill_zip()))
    fake_llm.script(Reply(tool_calls=[{"name": "load_skill", "arguments": {"name": "csv-cleanup"}}]))
    body = step(alice_client, task).json()
    system = fake_llm.chat_requests[0]["messages"][0]["content"]
    # By name and description only: the instructions come with load_skill.
    assert "- csv-cleanup: Clean a CSV file" in system and "Follow the checklist" not in system
    assert body["action"]["name"] == "load_skill"
    assert "Follow the checklist in checklist.md" in body["result"]["details"]["output"]


@pytest.mark.django_db(transaction=True)
def test_it_answers_409_while_another_step_of_the_task_runs(alice, alice_client):
    task = TaskFactory(owner=alice, request="What is 6 * 7?")
    locked, release = threading.Event(), threading.Event()

    def hold_the_task() -> None:
        # Stands in for a step in progress on another server: it holds the task's step lock.
        try:
            with advisory_lock(uuid_lock_key(task.pk)) as acquired:
                assert acquired
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_task)
    holder.start()
    try:
        assert locked.wait(10)
        response = step(alice_client, task)
    finally:
        release.set()
        holder.join()
    assert response.status_code == 409
    assert response.json()["message"] == "A step of this task is already running."
    assert not task.steps.exists()
    assert step(alice_client, task).status_code == 200


@pytest.mark.django_db(transaction=True)
async def test_it_runs_a_step_under_asgi(alice, fake_llm):
    # Under daphne the view runs in a worker thread and the model call goes back to the server's loop.
    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    from conftest import bearer_for

    await sync_to_async(fake_llm.make_provider)(owner=alice)
    task = await sync_to_async(TaskFactory)(owner=alice, request="What is 6 * 7?")
    fake_llm.script(Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]))
    headers = {"Authorization": f"Bearer {await sync_to_async(bearer_for)(alice)}"}
    response = await AsyncClient().post(
        f"/api/tasks/{task.pk}", {"message": "go"}, content_type="application/json", headers=headers
    )
    assert response.status_code == 200, response.json()
    assert response.json()["result"]["details"]["output"] == "42"
    assert await UsageRecord.objects.filter(session_id=str(task.pk)).acount() == 1
