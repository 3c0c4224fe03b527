"""Factories for provider data."""
from __future__ import annotations

import factory

from apps.accounts.tests.factories import UserFactory
from apps.providers.models import LLMProvider, UsageRecord


class LLMProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LLMProvider

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Provider {n}")
    base_url = "https://llm.example.com/v1"
    api_key = factory.Sequence(lambda n: f"sk-test-key-{n:06d}")
    model = "gpt-4o-mini"


class UsageRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageRecord

    user = factory.SubFactory(UserFactory)
    model = "gpt-4o-mini"
    input_tokens = 10
    output_tokens = 5
