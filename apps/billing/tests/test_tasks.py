"""The beat task renews staff-assigned subscriptions once per period."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.billing import services
from apps.billing.models import CreditAccount, Subscription
from apps.billing.tasks import subscriptions_renew_task
from apps.billing.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db


def test_renewal_grants_each_new_period_once(alice):
    start = timezone.now() - timedelta(days=40)
    services.subscription_assign(user=alice, plan=PlanFactory(monthly_credits=Decimal("10")), period_start=start,
                                 period_end=start + timedelta(days=30))
    assert CreditAccount.objects.get(user=alice).credits == 10
    assert subscriptions_renew_task() == 1
    subscriptions_renew_task()
    subscription = Subscription.objects.get(user=alice)
    assert subscription.current_period_start <= timezone.now() < subscription.current_period_end
    assert CreditAccount.objects.get(user=alice).credits == 20


def test_a_subscription_set_to_cancel_ends_at_its_period_end(alice):
    start = timezone.now() - timedelta(days=40)
    services.subscription_assign(user=alice, plan=PlanFactory(), period_start=start,
                                 period_end=start + timedelta(days=30), cancel_at_period_end=True)
    subscriptions_renew_task()
    assert Subscription.objects.get(user=alice).status == "canceled"


def test_the_renewal_is_scheduled_in_beat():
    from codex.celery import app

    entry = app.conf.beat_schedule["billing-renew-subscription-grants"]
    assert entry["task"] == subscriptions_renew_task.name == "apps.billing.tasks.subscriptions_renew_task"
    assert entry["schedule"] == 3600.0
