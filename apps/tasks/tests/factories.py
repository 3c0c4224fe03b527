"""Factories for tasks and their steps."""
from __future__ import annotations

import factory

from apps.accounts.tests.factories import UserFactory
from apps.tasks.models import Task, TaskStep


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    owner = factory.SubFactory(UserFactory)
    request = factory.Sequence(lambda n: f"Plan trip number {n}")
    title = factory.SelfAttribute("request")


class TaskStepFactory(factory.django.DjangoModelFactory):
    """A successful calculator step."""

    class Meta:
        model = TaskStep

    task = factory.SubFactory(TaskFactory)
    index = factory.Sequence(int)
    action = factory.LazyFunction(
        lambda: {"name": "calculator", "parameters": {"expression": "1+1"}, "reasoning": "", "final": False,
                 "call_id": "call_1"}
    )
    result = factory.LazyFunction(
        lambda: {"status": "SUCCESS", "details": {"tool": "calculator", "output": "2"}, "summary": "calculator: 2",
                 "error": None, "message": None}
    )
