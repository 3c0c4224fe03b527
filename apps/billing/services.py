"""Every write of credits: accounts, the ledger, charging model calls, enforcement, plans and subscriptions.

Balances move only here, inside a transaction, with a conditional update and one ledger row per
change. Each change has an idempotency key, so a retried charge or a redelivered webhook changes
nothing the second time.
"""
from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.billing.models import (
    ZERO,
    CreditAccount,
    CreditLedgerEntry,
    ModelPrice,
    OpenRouterKey,
    Plan,
    Subscription,
)
from apps.core.errors import Invalid, PaymentRequired, ServiceUnavailable
from apps.providers.models import UsageRecord

MILLION = Decimal(1_000_000)
#: The ledger keeps 8 places; a charge is rounded to them once, here.
QUANTUM = Decimal("0.00000001")
Kind = CreditLedgerEntry.Kind
INSUFFICIENT = "Insufficient credits: your balance is used up. Add credits or upgrade your plan to continue."


def user_label(user: Any) -> str:
    """Who a ledger or usage row was about, kept when the user is deleted."""
    return f"{user.pk}:{getattr(user, 'username', '') or getattr(user, 'email', '')}"[:300]


def to_credits(value: Any, *, field: str = "amount") -> Decimal:
    """A finite number of credits with at most 8 places, or a 400."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        raise Invalid(f"{field} must be a number.", field_errors={field: ["A number is required."]}) from None
    if not amount.is_finite():
        raise Invalid(f"{field} must be a finite number.", field_errors={field: ["A finite number is required."]})
    return amount.quantize(QUANTUM, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------------------------
# Accounts and the ledger
# ------------------------------------------------------------------------------
def account_for(*, user: Any) -> CreditAccount:
    """The user's account, opened on first use with the welcome grant (BILLING_SIGNUP_CREDITS).

    Opening it lazily covers every way a user comes to exist (registration, OAuth, the admin,
    ``createsuperuser``) without a signal; the grant's idempotency key makes it once per user.
    """
    account = CreditAccount.objects.filter(user=user).first()
    if account is not None:
        return account
    with transaction.atomic():
        account, created = CreditAccount.objects.get_or_create(user=user)
    signup = to_credits(settings.BILLING_SIGNUP_CREDITS, field="BILLING_SIGNUP_CREDITS")
    if created and signup > 0:
        credits_add(user=user, amount=signup, kind=Kind.BONUS, bonus=True, reason="Welcome grant",
                    idempotency_key=f"signup:{user.pk}")
        account.refresh_from_db()
    return account


def _entry(
    *, user: Any, kind: str, credits_delta: Decimal, bonus_delta: Decimal, idempotency_key: str,
    reason: str = "", actor: Any = None, usage: UsageRecord | None = None, shortfall: Decimal = ZERO,
    after: dict[str, Decimal] | None = None,
) -> CreditLedgerEntry:
    if after is None:
        # Read after our own update in the same transaction: the row is locked, so these are the values
        # our change produced, not another writer's.
        after = CreditAccount.objects.values("credits", "bonus_credits").get(user_id=user.pk)
    return CreditLedgerEntry.objects.create(
        user_id=user.pk,
        user_label=user_label(user),
        kind=kind,
        amount=credits_delta + bonus_delta,
        credits_delta=credits_delta,
        bonus_delta=bonus_delta,
        credits_after=after["credits"],
        bonus_after=after["bonus_credits"],
        shortfall=shortfall,
        reason=reason[:500],
        actor_id=getattr(actor, "pk", None),
        actor_label=user_label(actor) if actor is not None else "",
        usage=usage,
        run_id=usage.run_id if usage is not None else None,
        session_id=usage.session_id if usage is not None else "",
        idempotency_key=idempotency_key,
    )


def _once(idempotency_key: str, change: Callable[[], CreditLedgerEntry], *, look_first: bool = True) -> CreditLedgerEntry:
    """Apply ``change`` unless its key is already in the ledger; a concurrent twin loses on the unique key
    and its whole transaction (the balance update included) rolls back.

    ``look_first=False`` skips the first look for keys that are almost always new (a usage row's):
    the unique key alone still makes a retry change nothing.
    """
    if look_first:
        existing = CreditLedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            return change()
    except IntegrityError:
        existing = CreditLedgerEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return existing


def credits_add(
    *, user: Any, amount: Decimal, kind: str = Kind.ADJUST, bonus: bool = False, reason: str = "",
    actor: Any = None, idempotency_key: str | None = None,
) -> CreditLedgerEntry:
    """Add (or, for an adjustment, take away) credits; a removal larger than the balance is a 400."""
    if kind not in Kind.values or kind == Kind.SPEND:
        raise Invalid("Unknown kind of credit change.", field_errors={"kind": [f"One of {sorted(set(Kind.values) - {Kind.SPEND})}."]})
    if amount == 0:
        raise Invalid("The amount cannot be zero.", field_errors={"amount": ["Must not be zero."]})
    if amount < 0 and kind != Kind.ADJUST:
        raise Invalid("Only an adjustment may remove credits.", field_errors={"amount": ["Must be positive."]})
    field = "bonus_credits" if bonus else "credits"
    key = idempotency_key or f"{kind}:{uuid.uuid4()}"
    if not CreditAccount.objects.filter(user=user).exists():
        account_for(user=user)

    def change() -> CreditLedgerEntry:
        accounts = CreditAccount.objects.filter(user=user)
        if amount < 0:
            accounts = accounts.filter(**{f"{field}__gte": -amount})
        if not accounts.update(**{field: F(field) + amount, "updated_at": timezone.now()}):
            raise Invalid(f"The balance has fewer {field.replace('_', ' ')} than {-amount}.",
                          field_errors={"amount": ["Larger than the balance."]})
        return _entry(user=user, kind=kind, credits_delta=ZERO if bonus else amount,
                      bonus_delta=amount if bonus else ZERO, idempotency_key=key, reason=reason, actor=actor)

    return _once(key, change)


def credits_reset(*, user: Any, credits: Decimal, reason: str, actor: Any = None,
                  idempotency_key: str | None = None) -> CreditLedgerEntry:
    """Set the (non-bonus) credits to ``credits``: a plan's quota at the start of a period."""
    account_for(user=user)
    key = idempotency_key or f"reset:{uuid.uuid4()}"

    def change() -> CreditLedgerEntry:
        # The lock makes the difference we record the difference we apply.
        current = CreditAccount.objects.select_for_update().values_list("credits", flat=True).get(user=user)
        CreditAccount.objects.filter(user=user, credits=current).update(credits=credits, updated_at=timezone.now())
        return _entry(user=user, kind=Kind.RESET, credits_delta=credits - current, bonus_delta=ZERO,
                      idempotency_key=key, reason=reason, actor=actor)

    return _once(key, change)


# ------------------------------------------------------------------------------
# Prices and charging
# ------------------------------------------------------------------------------
def price_for(*, model: str, provider_id: Any = None) -> ModelPrice | None:
    """The provider's own price of the model, else its price on any provider, else none (free)."""
    prices = ModelPrice.objects.filter(Q(provider_id=provider_id) | Q(provider__isnull=True), model=model)
    return prices.order_by(F("provider_id").asc(nulls_last=True)).first()


def usage_cost(*, usage: UsageRecord, price: ModelPrice | None) -> Decimal:
    """tokens / 1M × price; cached input tokens are priced at the cached rate instead of the input rate."""
    if price is None:
        return ZERO
    cached = min(usage.cached_tokens, usage.input_tokens)
    cost = (
        Decimal(usage.input_tokens - cached) * price.input_per_million
        + Decimal(cached) * price.cached_input_per_million
        + Decimal(usage.output_tokens) * price.output_per_million
    ) / MILLION
    return cost.quantize(QUANTUM, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Charge:
    """What pricing one model call did: its cost, what the balance paid, and what it could not."""

    cost: Decimal = ZERO
    paid: Decimal = ZERO
    shortfall: Decimal = ZERO
    entry: CreditLedgerEntry | None = None
    reason: str = ""


def usage_charge(*, usage: UsageRecord) -> Charge:
    """Price one model call and take it from its user's balance, bonus credits first; once per usage row.

    Called where usage is recorded. Off (BILLING_ENABLED=false), with the user's own key (BYOK) or for
    a model without a price, nothing is charged: the usage row alone meters the call. A balance that
    cannot cover the whole cost gives what it has and the rest is kept as the entry's shortfall; the
    run stops at its next step.
    """
    if not settings.BILLING_ENABLED or usage.user_id is None:
        return Charge(reason="billing disabled")
    if usage.provider_id is not None and OpenRouterKey.objects.filter(provider_id=usage.provider_id).exists():
        return Charge(reason="own key")
    cost = usage_cost(usage=usage, price=price_for(model=usage.model, provider_id=usage.provider_id))
    if cost <= 0:
        return Charge(reason="no price")
    user = usage.user

    def change() -> CreditLedgerEntry:
        # The row lock tells us how the cost splits between bonus and credits (and so the balance
        # after it, without reading it again); the update's conditions still refuse anything that
        # would go below zero.
        locked = CreditAccount.objects.select_for_update().filter(user=user).values_list("credits", "bonus_credits")
        row = locked.first()
        if row is None:
            account_for(user=user)
            row = locked.first()
        credits, bonus = row
        from_bonus = min(bonus, cost)
        from_credits = min(credits, cost - from_bonus)
        if from_bonus or from_credits:
            CreditAccount.objects.filter(
                user=user, bonus_credits__gte=from_bonus, credits__gte=from_credits
            ).update(
                bonus_credits=F("bonus_credits") - from_bonus,
                credits=F("credits") - from_credits,
                updated_at=timezone.now(),
            )
        return _entry(user=user, kind=Kind.SPEND, credits_delta=-from_credits, bonus_delta=-from_bonus,
                      shortfall=cost - from_bonus - from_credits, usage=usage,
                      idempotency_key=f"usage:{usage.pk}", reason=f"{usage.model}: {usage.total_tokens} tokens",
                      after={"credits": credits - from_credits, "bonus_credits": bonus - from_bonus})

    entry = _once(f"usage:{usage.pk}", change, look_first=False)
    return Charge(cost=cost, paid=-entry.amount, shortfall=entry.shortfall, entry=entry)



# ------------------------------------------------------------------------------
# Enforcement
# ------------------------------------------------------------------------------
def credits_available(*, user: Any) -> bool:
    """May ``user`` start (or go on with) a model call? Always, unless billing is on and the balance is spent.

    A user with their own OpenRouter key pays upstream, so their balance does not matter.
    """
    if not settings.BILLING_ENABLED:
        return True
    if OpenRouterKey.objects.filter(user=user).exists():
        return True
    return account_for(user=user).total_credits > 0


def credits_require(*, user: Any) -> None:
    """402 before a run or a task step starts when the user has no credits left."""
    if not credits_available(user=user):
        raise PaymentRequired(INSUFFICIENT)


# ------------------------------------------------------------------------------
# Plans and subscriptions
# ------------------------------------------------------------------------------
def _period_key(subscription: Subscription) -> str:
    return f"subscription:{subscription.pk}:{subscription.current_period_start:%Y-%m-%dT%H:%M:%S}"


def subscription_grant_period(*, subscription: Subscription) -> CreditLedgerEntry | None:
    """The plan's credits for the subscription's current period, once per period."""
    if not subscription.is_live or subscription.plan.monthly_credits <= 0:
        return None
    return credits_add(
        user=subscription.user, amount=subscription.plan.monthly_credits, kind=Kind.GRANT,
        reason=f"{subscription.plan.name}: credits for the period from {subscription.current_period_start:%Y-%m-%d}",
        idempotency_key=_period_key(subscription),
    )


@transaction.atomic
def subscription_assign(
    *, user: Any, plan: Plan, status: str = Subscription.Status.ACTIVE, period_start: datetime | None = None,
    period_end: datetime | None = None, external_id: str | None = None, cancel_at_period_end: bool = False,
) -> Subscription:
    """Put ``user`` on ``plan`` (staff in the admin, a free plan, or a payment webhook) and grant the period.

    Without a period, a subscription keeps the one it has (a new one starts now, for a month), so an
    event that repeats the same period grants it only once.
    """
    subscription = Subscription.objects.select_for_update().filter(user=user).first()
    if subscription is None:
        subscription = Subscription(user=user)
    if period_start is not None or subscription.pk is None:
        subscription.current_period_start = period_start or timezone.now()
        subscription.current_period_end = period_end or subscription.current_period_start + relativedelta(months=1)
    elif period_end is not None:
        subscription.current_period_end = period_end
    subscription.plan = plan
    subscription.status = status
    subscription.cancel_at_period_end = cancel_at_period_end
    if external_id:
        subscription.external_id = external_id
    subscription.full_clean(exclude=["user"])
    subscription.save()
    subscription_grant_period(subscription=subscription)
    return subscription


def subscriptions_renew(*, now: datetime | None = None) -> int:
    """Beat: move staff-assigned subscriptions past their period end into the next period and grant it.

    Subscriptions paid through Polar get their new period from its webhooks. Idempotent: a period's
    grant has its own key, so running twice grants nothing more.
    """
    now = now or timezone.now()
    renewed = 0
    for subscription in Subscription.objects.select_related("plan", "user").filter(status__in=Subscription.LIVE):
        with transaction.atomic():
            current = Subscription.objects.select_for_update().select_related("plan", "user").get(pk=subscription.pk)
            if current.external_id is None and current.current_period_end <= now:
                if current.cancel_at_period_end:
                    current.status = Subscription.Status.CANCELED
                    current.save(update_fields=["status", "updated_at"])
                    continue
                while current.current_period_end <= now:
                    current.current_period_start = current.current_period_end
                    current.current_period_end = current.current_period_start + relativedelta(months=1)
                current.save(update_fields=["current_period_start", "current_period_end", "updated_at"])
            if subscription_grant_period(subscription=current) is not None:
                renewed += 1
    return renewed


def quotas_reset(*, user_ids: list[uuid.UUID] | None, actor: Any = None) -> list[CreditLedgerEntry]:
    """Set each subscribed user's credits back to their plan's monthly quota (admin route)."""
    subscriptions = Subscription.objects.select_related("plan", "user").filter(status__in=Subscription.LIVE)
    if user_ids is not None:
        subscriptions = subscriptions.filter(user_id__in=user_ids)
    run = uuid.uuid4()
    return [
        credits_reset(user=sub.user, credits=sub.plan.monthly_credits, actor=actor,
                      reason=f"Quota reset to {sub.plan.name}", idempotency_key=f"reset:{run}:{sub.user_id}")
        for sub in subscriptions
    ]


# ------------------------------------------------------------------------------
# Welcome email and feature flags
# ------------------------------------------------------------------------------
def welcome_email_send(*, user: Any, email: str | None = None, name: str | None = None) -> bool:
    """Send the welcome email to ``user`` (nobody else), at most once; False when it was already sent."""
    if not user.email:
        raise Invalid("Your account has no email address.", field_errors={"email": ["No address on the account."]})
    if email is not None and email.strip().lower() != user.email.lower():
        raise Invalid("The welcome email goes only to your own address.",
                      field_errors={"email": ["Must be your account's address."]})
    account_for(user=user)
    with transaction.atomic():
        claimed = CreditAccount.objects.filter(user=user, welcome_email_sent_at__isnull=True).update(
            welcome_email_sent_at=timezone.now()
        )
        if not claimed:
            return False
        greeting = name or getattr(user, "name", "") or user.username
        try:
            send_mail(
                subject="Welcome to CodexEngine",
                message=f"Hello {greeting},\n\nwelcome to CodexEngine. Your account is ready.\n",
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=[user.email],
            )
        except OSError as exc:
            # The claim rolls back with the transaction, so a later call may send it.
            raise ServiceUnavailable("The mail server could not be reached; try again later.") from exc
    return True


def flag_bucket(*, flag_name: str, user_id: Any) -> int:
    """A user's stable place 0..99 for a flag: the same answer on every request and every process."""
    digest = hashlib.sha256(f"{flag_name}:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100
