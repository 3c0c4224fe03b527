"""The invariants tasks and steps keep themselves."""
from __future__ import annotations

import pytest
from django.db import IntegrityError
from django.utils import timezone

from apps.tasks.models import Task
from apps.tasks.tests.factories import TaskFactory, TaskStepFactory

pytestmark = pytest.mark.django_db


def test_it_refuses_two_steps_with_the_same_index():
    step = TaskStepFactory(index=0)
    with pytest.raises(IntegrityError):
        TaskStepFactory(task=step.task, index=0)


def test_it_refuses_an_unknown_result_status():
    with pytest.raises(IntegrityError):
        TaskStepFactory(result={"status": "DONE"})


@pytest.mark.parametrize(
    ("status", "completed"),
    [(Task.Status.COMPLETED, None), (Task.Status.OPEN, timezone.now()), (Task.Status.AWAITING_INPUT, timezone.now())],
)
def test_it_keeps_the_completion_time_with_the_completed_status(status, completed):
    with pytest.raises(IntegrityError):
        TaskFactory(status=status, completed=completed)


def test_it_refuses_a_task_without_a_request():
    with pytest.raises(IntegrityError):
        TaskFactory(request="")
