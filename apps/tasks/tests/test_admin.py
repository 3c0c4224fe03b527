"""The admin shows tasks with their steps inline."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from apps.knowledge import services as knowledge_services
from apps.knowledge.models import Document
from apps.tasks.models import Task
from apps.tasks.tests.factories import TaskFactory, TaskStepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_it_lists_tasks(staff):
    step = TaskStepFactory()
    response = staff.get("/admin/tasks/task/")
    assert response.status_code == 200
    assert step.task.title in response.content.decode()


def test_it_shows_a_task_with_its_steps(staff):
    step = TaskStepFactory(input="look it up")
    response = staff.get(f"/admin/tasks/task/{step.task.pk}/change/")
    assert response.status_code == 200
    assert "look it up" in response.content.decode()
    assert "calculator" in response.content.decode()


def test_deleting_a_task_deletes_its_documents(staff, alice):
    task, kept = TaskFactory(owner=alice), TaskFactory(owner=alice)
    for owner_task in (task, kept):
        knowledge_services.document_create(
            owner=alice, upload=SimpleUploadedFile("a.txt", b"text"), task_id=str(owner_task.pk), queue=False
        )
    response = staff.post(
        "/admin/tasks/task/", {"action": "delete_selected", "_selected_action": [str(task.pk)], "post": "yes"}
    )
    assert response.status_code == 302
    assert list(Task.objects.values_list("pk", flat=True)) == [kept.pk]
    assert list(Document.objects.values_list("task_id", flat=True)) == [str(kept.pk)]
