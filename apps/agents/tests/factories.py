"""Factories for agents."""
from __future__ import annotations

import factory

from apps.accounts.tests.factories import UserFactory
from apps.agents.models import Agent, AgentGrant


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Agent {n}")
    description = "Helps with things."
    system_prefix = "You are a helpful agent."
    available_tools = factory.LazyFunction(lambda: ["calculator"])


class AgentGrantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentGrant

    agent = factory.SubFactory(AgentFactory)
    user = factory.SubFactory(UserFactory)
