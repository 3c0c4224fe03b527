"""Billing tests run with billing on and no welcome grant unless a test says otherwise."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.billing import services


@pytest.fixture(autouse=True)
def billing_on(settings):
    settings.BILLING_ENABLED = True
    settings.BILLING_SIGNUP_CREDITS = "0"
    return settings


@pytest.fixture
def fund():
    """``fund(user, credits, bonus)`` puts credits on the user's account through the ledger."""

    def give(user, credits: str | int = 0, bonus: str | int = 0) -> None:
        if Decimal(credits):
            services.credits_add(user=user, amount=Decimal(credits), kind="grant", reason="test")
        if Decimal(bonus):
            services.credits_add(user=user, amount=Decimal(bonus), kind="bonus", bonus=True, reason="test")

    return give
