"""Factories for conversations data."""
from __future__ import annotations

import factory

from apps.accounts.tests.factories import UserFactory
from apps.conversations.models import AgentRun, Message, Project, Thread


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Project {n}")


class ThreadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Thread

    id = factory.Sequence(lambda n: f"thread-{n}")
    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Chat {n}")


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    thread = factory.SubFactory(ThreadFactory)
    role = Message.Role.USER
    content = factory.Sequence(lambda n: f"Question {n}?")


class AgentRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentRun

    thread = factory.SubFactory(ThreadFactory)
    user = factory.LazyAttribute(lambda o: o.thread.owner)
    endpoint = "test"
