"""The admin console: grant or adjust credits with a reason, a read-only ledger, prices (and the models
without one), usage per user and model between dates, and plans assigned by staff."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.billing import services
from apps.billing.models import CreditAccount, CreditLedgerEntry, Subscription
from apps.billing.tests.factories import ModelPriceFactory, PlanFactory, UsageRecordFactory
from apps.providers.models import UsageRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def _change(staff, account, **fields):
    return staff.post("/admin/billing/creditaccount/", {
        "action": "change_credits", "_selected_action": [account.pk], "apply": "1", **fields,
    })


def test_staff_grant_credits_with_a_reason_and_the_ledger_names_them(staff, alice, admin_user):
    account = services.account_for(user=alice)
    form = staff.post("/admin/billing/creditaccount/", {"action": "change_credits", "_selected_action": [account.pk]})
    assert form.status_code == 200 and b"reason" in form.content
    assert _change(staff, account, kind="grant", amount="25", reason="Goodwill").status_code == 302
    assert CreditAccount.objects.get(user=alice).credits == 25
    entry = CreditLedgerEntry.objects.get(user=alice)
    assert (entry.reason, entry.actor_id, entry.kind) == ("Goodwill", admin_user.pk, "grant")


def test_an_adjustment_below_zero_is_refused_in_the_console(staff, alice):
    account = services.account_for(user=alice)
    _change(staff, account, kind="adjust", amount="-5", reason="typo")
    assert CreditAccount.objects.get(user=alice).credits == 0
    assert not CreditLedgerEntry.objects.exists()


def test_a_grant_needs_a_reason(staff, alice):
    account = services.account_for(user=alice)
    response = _change(staff, account, kind="grant", amount="5", reason="")
    assert response.status_code == 200  # the form again, with its error
    assert not CreditLedgerEntry.objects.exists()


def test_the_ledger_is_read_only(staff, alice):
    services.credits_add(user=alice, amount=Decimal("1"), kind="grant", reason="x")
    entry = CreditLedgerEntry.objects.get()
    assert staff.get("/admin/billing/creditledgerentry/").status_code == 200
    assert staff.get("/admin/billing/creditledgerentry/add/").status_code == 403
    assert staff.post(f"/admin/billing/creditledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403


def test_the_price_list_names_the_models_that_cost_nothing(staff, alice):
    ModelPriceFactory(model="priced")
    UsageRecordFactory(user=alice, model="priced")
    UsageRecordFactory(user=alice, model="free-one")
    page = staff.get("/admin/billing/modelprice/").content.decode()
    assert "they cost nothing: free-one" in page


def test_usage_per_user_and_model_between_dates(staff, alice, bob, fund):
    fund(alice, credits=10)
    ModelPriceFactory()
    services.usage_charge(usage=UsageRecordFactory(user=alice, input_tokens=1000))
    UsageRecordFactory(user=bob, model="other", input_tokens=77)
    old = UsageRecordFactory(user=bob, model="ancient", input_tokens=5)
    UsageRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=90))
    page = staff.get("/admin/billing/usagebyuserandmodel/").content.decode()
    assert f"{alice.pk}:alice" in page and "other" in page and "ancient" not in page
    start = (timezone.now() - timedelta(days=100)).date().isoformat()
    assert "ancient" in staff.get(f"/admin/billing/usagebyuserandmodel/?start={start}").content.decode()


def test_staff_assign_a_plan_and_its_credits_are_granted(staff, alice):
    plan = PlanFactory(monthly_credits=Decimal("40"))
    now = timezone.now()
    response = staff.post("/admin/billing/subscription/add/", {
        "user": alice.pk, "plan": plan.pk, "status": "active",
        "current_period_start_0": now.date().isoformat(), "current_period_start_1": "00:00:00",
        "current_period_end_0": (now + timedelta(days=30)).date().isoformat(), "current_period_end_1": "00:00:00",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Subscription.objects.get(user=alice).plan == plan
    assert CreditAccount.objects.get(user=alice).credits == 40
