"""The ledger: how balances move, once per key, bonus first, never below zero, and never rewritten."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from apps.billing import services
from apps.billing.models import CreditAccount, CreditLedgerEntry
from apps.billing.tests.factories import ModelPriceFactory, UsageRecordFactory
from apps.core.errors import Invalid
from apps.providers.models import UsageRecord

pytestmark = pytest.mark.django_db


def _account(user) -> CreditAccount:
    return CreditAccount.objects.get(user=user)


def test_a_new_account_gets_the_welcome_grant_once(alice, settings):
    settings.BILLING_SIGNUP_CREDITS = "5"
    services.account_for(user=alice)
    services.account_for(user=alice)
    assert _account(alice).bonus_credits == Decimal("5")
    entry = CreditLedgerEntry.objects.get(user=alice)
    assert (entry.kind, entry.amount, entry.reason) == ("bonus", Decimal("5"), "Welcome grant")


def test_it_charges_usage_at_the_models_price(alice, fund):
    fund(alice, credits=10)
    ModelPriceFactory(input_per_million=Decimal("1000"), output_per_million=Decimal("2000"))
    usage = UsageRecordFactory(user=alice, input_tokens=1000, output_tokens=500)
    charge = services.usage_charge(usage=usage)
    assert charge.cost == Decimal("2")  # 1000/1M × 1000 + 500/1M × 2000
    assert _account(alice).credits == Decimal("8")
    entry = charge.entry
    assert (entry.kind, entry.amount, entry.credits_after, entry.usage_id) == ("spend", Decimal("-2"), Decimal("8"), usage.pk)


def test_cached_input_tokens_are_priced_at_the_cached_rate(alice, fund):
    fund(alice, credits=10)
    ModelPriceFactory(input_per_million=Decimal("1000"), cached_input_per_million=Decimal("100"))
    usage = UsageRecordFactory(user=alice, input_tokens=1000, cached_tokens=1000, output_tokens=0)
    assert services.usage_charge(usage=usage).cost == Decimal("0.1")


def test_bonus_credits_are_spent_first(alice, fund):
    fund(alice, credits=10, bonus=1)
    ModelPriceFactory()
    entry = services.usage_charge(usage=UsageRecordFactory(user=alice, input_tokens=1500)).entry
    assert (entry.bonus_delta, entry.credits_delta) == (Decimal("-1"), Decimal("-0.5"))
    account = _account(alice)
    assert (account.bonus_credits, account.credits) == (Decimal("0"), Decimal("9.5"))


def test_a_retried_charge_charges_once(alice, fund):
    fund(alice, credits=10)
    ModelPriceFactory()
    usage = UsageRecordFactory(user=alice, input_tokens=1000)
    first = services.usage_charge(usage=usage)
    again = services.usage_charge(usage=usage)
    assert first.entry.pk == again.entry.pk
    assert _account(alice).credits == Decimal("9")
    assert CreditLedgerEntry.objects.filter(kind="spend").count() == 1


def test_a_charge_larger_than_the_balance_takes_what_is_left_and_keeps_the_shortfall(alice, fund):
    fund(alice, credits="0.4")
    ModelPriceFactory()
    charge = services.usage_charge(usage=UsageRecordFactory(user=alice, input_tokens=1000))
    assert (charge.paid, charge.shortfall) == (Decimal("0.4"), Decimal("0.6"))
    assert _account(alice).credits == 0
    assert not services.credits_available(user=alice)


def test_nothing_is_charged_when_billing_is_off_or_the_model_has_no_price(alice, fund, settings):
    fund(alice, credits=10)
    assert services.usage_charge(usage=UsageRecordFactory(user=alice, model="unpriced")).entry is None
    ModelPriceFactory()
    settings.BILLING_ENABLED = False
    assert services.usage_charge(usage=UsageRecordFactory(user=alice)).entry is None
    assert _account(alice).credits == 10
    assert UsageRecord.objects.count() == 2  # still metered


def test_a_providers_own_price_wins_over_the_models_price(alice, fund, fake_llm):
    fund(alice, credits=10)
    provider = fake_llm.make_provider(owner=alice)
    ModelPriceFactory(input_per_million=Decimal("1000"))
    ModelPriceFactory(provider=provider, input_per_million=Decimal("3000"))
    usage = UsageRecordFactory(user=alice, provider=provider, input_tokens=1000)
    assert services.usage_charge(usage=usage).cost == Decimal("3")


def test_an_adjustment_cannot_take_more_than_the_balance(alice, fund, admin_user):
    fund(alice, credits=2)
    with pytest.raises(Invalid):
        services.credits_add(user=alice, amount=Decimal("-3"), kind="adjust", reason="oops", actor=admin_user)
    entry = services.credits_add(user=alice, amount=Decimal("-2"), kind="adjust", reason="fix", actor=admin_user)
    assert (entry.credits_after, entry.actor_label) == (Decimal("0"), f"{admin_user.pk}:admin")
    with pytest.raises(Invalid):
        services.credits_add(user=alice, amount=Decimal("-1"), kind="grant")


def test_ledger_rows_are_never_updated_or_deleted(alice, fund):
    fund(alice, credits=1)
    entry = CreditLedgerEntry.objects.get(user=alice)
    with pytest.raises(DatabaseError), transaction.atomic():
        CreditLedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("100"))
    with pytest.raises(DatabaseError), transaction.atomic():
        CreditLedgerEntry.objects.filter(pk=entry.pk).delete()
    assert CreditLedgerEntry.objects.get(pk=entry.pk).amount == Decimal("1")


def test_usage_and_ledger_outlive_their_user_with_a_label(alice, fund, fake_llm):
    fund(alice, credits=5)
    ModelPriceFactory()
    provider = fake_llm.make_provider(owner=None, is_default=False)
    services.usage_charge(usage=UsageRecordFactory(user=alice, provider=provider))
    label = f"{alice.pk}:alice"
    alice.delete()
    provider.delete()
    usage = UsageRecord.objects.get()
    assert (usage.user_id, usage.user_label, usage.provider_id) == (None, label, None)
    assert CreditLedgerEntry.objects.filter(user__isnull=True, user_label=label).count() == 2


def test_run_start_is_refused_without_credits_unless_billing_is_off(alice, settings):
    with pytest.raises(services.PaymentRequired):
        services.credits_require(user=alice)
    settings.BILLING_ENABLED = False
    services.credits_require(user=alice)


def test_usage_is_recorded_and_charged_in_the_runtimes_one_hook(alice, fund):
    from asgiref.sync import async_to_sync

    from apps.agents.runtime.usage import record_usage
    from apps.providers.llm import Usage
    from apps.providers.offline import OfflineModel

    fund(alice, credits=10)
    model = OfflineModel()
    ModelPriceFactory(model=model.model_name)
    async_to_sync(record_usage)(
        user=alice, model=model, usage=Usage(input_tokens=2000, output_tokens=0), run_id=None, session_id="s-1",
        endpoint="test",
    )
    record = UsageRecord.objects.get()
    entry = CreditLedgerEntry.objects.get(usage=record)
    assert (entry.amount, entry.session_id, record.user_label) == (Decimal("-2"), "s-1", f"{alice.pk}:alice")
