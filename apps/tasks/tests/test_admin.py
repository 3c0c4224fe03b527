"""The admin shows tasks with their steps inline."""
from __future__ import annotations

import pytest
from django.test import Client

from apps.tasks.tests.factories import TaskStepFactory

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
