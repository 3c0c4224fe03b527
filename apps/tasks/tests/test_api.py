"""001 task routes: success paths, validation in the task error shape, 401 and other users' 404."""
from __future__ import annotations

import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.knowledge import services as knowledge_services
from apps.knowledge.models import Document
from apps.tasks.models import Task
from apps.tasks.tests.factories import TaskFactory, TaskStepFactory

pytestmark = pytest.mark.django_db

ERROR_KEYS = {"path", "message", "statusCode", "timestamp"}
TASK_KEYS = {"created", "completed", "id", "title", "description", "request", "context"}


def error_fields(response) -> set[str]:
    body = response.json()
    assert ERROR_KEYS <= set(body) and body["statusCode"] == response.status_code
    return {error["field"] for error in body.get("validationErrors", [])}


def text_file(name: str = "notes.txt", content: bytes = b"Solar panels convert sunlight into electricity.") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/plain")


# ------------------------------------------------------------------------------
# /api/tasks
# ------------------------------------------------------------------------------
def test_it_creates_a_task_without_calling_the_agent(alice, alice_client, fake_llm):
    fake_llm.make_provider(owner=alice)
    response = alice_client.post("/api/tasks", {"message": "  Find the cheapest flight to Lisbon\nin May, please."}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == TASK_KEYS
    task = Task.objects.get(owner=alice)
    assert body["id"] == str(task.pk)
    assert body["title"] == "Find the cheapest flight to Lisbon"
    assert body["request"] == "Find the cheapest flight to Lisbon\nin May, please."
    assert body["completed"] is None and body["context"] == {}
    assert fake_llm.chat_requests == []
    assert not task.steps.exists()


def test_it_shortens_a_long_title(alice_client):
    response = alice_client.post("/api/tasks", {"message": "word " * 50}, format="json")
    assert response.status_code == 200
    title = response.json()["title"]
    assert len(title) == 80 and title.endswith("…")


@pytest.mark.parametrize("body", [{"message": ""}, {"message": "   "}, {}, {"message": None}])
def test_it_rejects_an_empty_message(alice_client, body):
    response = alice_client.post("/api/tasks", body, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"message"}
    assert not Task.objects.exists()


def test_it_rejects_a_message_that_is_too_long(alice_client, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    response = alice_client.post("/api/tasks", {"message": "x" * 11}, format="json")
    assert response.status_code == 413
    error_fields(response)


def test_it_rejects_a_body_that_is_not_json(alice_client):
    response = alice_client.post("/api/tasks", "{not json", content_type="application/json")
    assert response.status_code == 400
    error_fields(response)


def test_it_lists_only_the_users_tasks_newest_first(alice, bob, alice_client):
    older = TaskFactory(owner=alice)
    newer = TaskFactory(owner=alice)
    TaskFactory(owner=bob)
    response = alice_client.get("/api/tasks")
    assert response.status_code == 200
    assert [task["id"] for task in response.json()] == [str(newer.pk), str(older.pk)]


def test_it_shows_a_task(alice, alice_client):
    task = TaskFactory(owner=alice, context={"city": "Paris"})
    response = alice_client.get(f"/api/tasks/{task.pk}")
    assert response.status_code == 200
    assert response.json() == {
        "created": response.json()["created"],
        "completed": None,
        "id": str(task.pk),
        "title": task.title,
        "description": "",
        "request": task.request,
        "context": {"city": "Paris"},
    }


@pytest.mark.parametrize("task_id", ["not-a-uuid", str(uuid.uuid4())])
def test_it_answers_404_for_an_unknown_task(alice_client, task_id):
    for response in (
        alice_client.get(f"/api/tasks/{task_id}"),
        alice_client.post(f"/api/tasks/{task_id}", {}, format="json"),
        alice_client.get(f"/api/tasks/{task_id}/steps"),
        alice_client.post(f"/api/tasks/{task_id}/documents", {"file": text_file()}, format="multipart"),
        alice_client.get(f"/api/tasks/{task_id}/documents/{uuid.uuid4()}"),
    ):
        assert response.status_code == 404
        error_fields(response)


def test_it_hides_alices_task_from_bob(alice, bob_client, fake_llm):
    fake_llm.make_provider(owner=alice)
    task = TaskFactory(owner=alice)
    document = knowledge_services.document_create(owner=alice, upload=text_file(), task_id=str(task.pk), queue=False)
    for response in (
        bob_client.get(f"/api/tasks/{task.pk}"),
        bob_client.post(f"/api/tasks/{task.pk}", {"message": "go"}, format="json"),
        bob_client.get(f"/api/tasks/{task.pk}/steps"),
        bob_client.post(f"/api/tasks/{task.pk}/documents", {"file": text_file("b.txt")}, format="multipart"),
        bob_client.get(f"/api/tasks/{task.pk}/documents/{document.pk}"),
    ):
        assert response.status_code == 404
        error_fields(response)
    assert fake_llm.chat_requests == []
    assert not task.steps.exists()
    assert Document.objects.filter(task_id=str(task.pk)).count() == 1


def test_it_answers_401_to_anonymous_callers(alice, anon):
    task = TaskFactory(owner=alice)
    for response in (
        anon.get("/api/tasks"),
        anon.post("/api/tasks", {"message": "hi"}, format="json"),
        anon.get(f"/api/tasks/{task.pk}"),
        anon.post(f"/api/tasks/{task.pk}", {}, format="json"),
        anon.get(f"/api/tasks/{task.pk}/steps"),
        anon.post(f"/api/tasks/{task.pk}/documents", {"file": text_file()}, format="multipart"),
        anon.get(f"/api/tasks/{task.pk}/documents/{uuid.uuid4()}"),
    ):
        assert response.status_code == 401
        error_fields(response)
    assert not Task.objects.exclude(pk=task.pk).exists()


# ------------------------------------------------------------------------------
# /api/tasks/{task_id} (step validation; the agent behaviour is in test_steps.py)
# ------------------------------------------------------------------------------
@pytest.mark.parametrize("state_data", [[1, 2], "a string", 3])
def test_it_rejects_state_data_that_is_not_an_object(alice, alice_client, state_data):
    task = TaskFactory(owner=alice)
    response = alice_client.post(f"/api/tasks/{task.pk}", {"stateData": state_data}, format="json")
    assert response.status_code == 400
    assert error_fields(response) == {"stateData"}
    assert not task.steps.exists()


def test_it_rejects_a_step_message_that_is_too_long(alice, alice_client, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 10
    task = TaskFactory(owner=alice)
    response = alice_client.post(f"/api/tasks/{task.pk}", {"message": "x" * 11}, format="json")
    assert response.status_code == 413
    assert not task.steps.exists()


# ------------------------------------------------------------------------------
# /api/tasks/{task_id}/steps
# ------------------------------------------------------------------------------
def test_it_lists_the_steps_in_order_without_internal_fields(alice, alice_client):
    task = TaskFactory(owner=alice)
    second = TaskStepFactory(task=task, index=1, input="and then?")
    TaskStepFactory(task=task, index=0)
    response = alice_client.get(f"/api/tasks/{task.pk}/steps")
    assert response.status_code == 200
    steps = response.json()
    assert [step["input"] for step in steps] == ["", second.input]
    assert steps[0] == {
        "input": "",
        "action": {"name": "calculator", "parameters": {"expression": "1+1"}, "reasoning": "", "final": False},
        "result": {"status": "SUCCESS", "details": {"tool": "calculator", "output": "2"}, "summary": "calculator: 2",
                   "error": None, "message": None},
        "documents": [],
    }


# ------------------------------------------------------------------------------
# /api/tasks/{task_id}/documents
# ------------------------------------------------------------------------------
def test_it_adds_a_document_to_the_task_workspace(alice, alice_client):
    task = TaskFactory(owner=alice)
    response = alice_client.post(f"/api/tasks/{task.pk}/documents", {"file": text_file()}, format="multipart")
    assert response.status_code == 200
    document = Document.objects.get(owner=alice)
    assert document.task_id == str(task.pk) and document.knowledge_base is None
    assert document.status == Document.Status.QUEUED
    body = response.json()
    assert body["taskId"] == str(task.pk) and body["filename"] == "notes.txt"
    assert body["metadata"]["id"] == str(document.pk)
    assert body["metadata"]["contentType"] == "text/plain"
    assert body["metadata"]["progress"] == 0.0


def test_it_shows_a_document_of_the_task(alice, alice_client):
    task = TaskFactory(owner=alice)
    document = knowledge_services.document_create(owner=alice, upload=text_file(), task_id=str(task.pk), queue=False)
    response = alice_client.get(f"/api/tasks/{task.pk}/documents/{document.pk}")
    assert response.status_code == 200
    assert response.json()["taskId"] == str(task.pk)
    assert response.json()["metadata"]["id"] == str(document.pk)


def test_it_shows_a_document_by_the_filename_the_upload_answered(alice, alice_client, bob, client_for):
    task = TaskFactory(owner=alice)
    uploaded = alice_client.post(f"/api/tasks/{task.pk}/documents", {"file": text_file()}, format="multipart").json()
    response = alice_client.get(f"/api/tasks/{task.pk}/documents/{uploaded['filename']}")
    assert response.status_code == 200, response.content
    assert response.json()["metadata"]["id"] == uploaded["metadata"]["id"]
    assert client_for(bob).get(f"/api/tasks/{task.pk}/documents/{uploaded['filename']}").status_code == 404
    other = TaskFactory(owner=alice)
    assert alice_client.get(f"/api/tasks/{other.pk}/documents/{uploaded['filename']}").status_code == 404


def test_it_answers_404_for_a_document_of_another_task_or_the_library(alice, alice_client):
    task = TaskFactory(owner=alice)
    other = TaskFactory(owner=alice)
    elsewhere = knowledge_services.document_create(owner=alice, upload=text_file(), task_id=str(other.pk), queue=False)
    library = knowledge_services.document_create(owner=alice, upload=text_file("lib.txt"), queue=False)
    for document in (elsewhere, library):
        response = alice_client.get(f"/api/tasks/{task.pk}/documents/{document.pk}")
        assert response.status_code == 404
        error_fields(response)
    assert alice_client.get(f"/api/tasks/{task.pk}/documents/not-a-uuid").status_code == 404


def test_it_requires_a_file(alice, alice_client):
    task = TaskFactory(owner=alice)
    response = alice_client.post(f"/api/tasks/{task.pk}/documents", {}, format="multipart")
    assert response.status_code == 400
    assert error_fields(response) == {"file"}


def test_it_rejects_an_unsupported_file_type(alice, alice_client):
    task = TaskFactory(owner=alice)
    upload = SimpleUploadedFile("x.bin", b"\x00\x01", content_type="application/octet-stream")
    response = alice_client.post(f"/api/tasks/{task.pk}/documents", {"file": upload}, format="multipart")
    assert response.status_code == 415
    error_fields(response)
    assert not Document.objects.exists()


def test_it_will_not_add_documents_to_a_completed_task(alice, alice_client):
    task = TaskFactory(owner=alice, status=Task.Status.COMPLETED, completed="2026-01-01T00:00:00Z")
    response = alice_client.post(f"/api/tasks/{task.pk}/documents", {"file": text_file()}, format="multipart")
    assert response.status_code == 409
    error_fields(response)
    assert not Document.objects.exists()
