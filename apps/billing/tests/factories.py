"""Factories for billing data."""
from __future__ import annotations

from decimal import Decimal

import factory

from apps.accounts.tests.factories import UserFactory
from apps.billing.models import FeatureFlag, ModelPrice, Plan
from apps.providers.models import UsageRecord
from apps.providers.testing import FAKE_MODEL


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    slug = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.Sequence(lambda n: f"Plan {n}")
    price = Decimal("20.00")
    monthly_credits = Decimal("100")
    polar_product_id = factory.Sequence(lambda n: f"prod_{n}")


class ModelPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ModelPrice

    model = FAKE_MODEL
    input_per_million = Decimal("1000")
    output_per_million = Decimal("2000")
    cached_input_per_million = Decimal("100")


class UsageRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsageRecord

    user = factory.SubFactory(UserFactory)
    user_label = factory.LazyAttribute(lambda o: f"{o.user.pk}:{o.user.username}")
    model = FAKE_MODEL
    input_tokens = 1000
    output_tokens = 0


class FeatureFlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeatureFlag

    name = factory.Sequence(lambda n: f"flag-{n}")
    enabled = True
