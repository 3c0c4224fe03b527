"""Spending under contention: 50 parallel charges against a balance that covers 10 (real threads, real DB)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from apps.billing import services
from apps.billing.models import CreditAccount, CreditLedgerEntry
from apps.billing.tests.factories import ModelPriceFactory, UsageRecordFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _charge(usage_id: int) -> services.Charge:
    from apps.providers.models import UsageRecord

    try:
        return services.usage_charge(usage=UsageRecord.objects.select_related("user").get(pk=usage_id))
    finally:
        connection.close()


def test_fifty_parallel_spenders_never_overdraw_and_lose_no_entry(alice, fund):
    fund(alice, credits=7, bonus=3)  # covers 10 charges of 1 credit
    ModelPriceFactory(input_per_million=Decimal("1000"))
    usages = [UsageRecordFactory(user=alice, input_tokens=1000).pk for _ in range(50)]

    with ThreadPoolExecutor(max_workers=50) as pool:
        charges = list(pool.map(_charge, usages))

    account = CreditAccount.objects.get(user=alice)
    assert (account.credits, account.bonus_credits) == (0, 0)
    spends = list(CreditLedgerEntry.objects.filter(kind="spend").order_by("id"))
    assert len(spends) == 50  # one entry per model call, paid or not
    assert sum(entry.amount for entry in spends) == Decimal("-10")
    assert sum(charge.paid for charge in charges) == Decimal("10")
    assert sum(1 for charge in charges if charge.paid == 1) == 10
    assert sum(entry.shortfall for entry in spends) == Decimal("40")
    assert all(entry.credits_after >= 0 and entry.bonus_after >= 0 for entry in spends)
    # Bonus first: the first three paid charges came from bonus credits, the rest from credits.
    paid = [entry for entry in spends if entry.amount]
    assert [entry.bonus_delta for entry in paid[:3]] == [Decimal("-1")] * 3
    assert all(entry.bonus_delta == 0 and entry.credits_delta == -1 for entry in paid[3:])
    # The balance after each entry falls by exactly what the entry took: nothing lost, nothing twice.
    balances = [Decimal(10)] + [entry.balance_after for entry in paid]
    assert all(before - after == 1 for before, after in zip(balances, balances[1:], strict=False))


def test_the_same_charge_retried_in_parallel_is_charged_once(alice, fund):
    fund(alice, credits=10)
    ModelPriceFactory(input_per_million=Decimal("1000"))
    usage = UsageRecordFactory(user=alice, input_tokens=1000).pk

    with ThreadPoolExecutor(max_workers=10) as pool:
        charges = list(pool.map(_charge, [usage] * 10))

    assert len({charge.entry.pk for charge in charges}) == 1
    assert CreditAccount.objects.get(user=alice).credits == Decimal("9")
