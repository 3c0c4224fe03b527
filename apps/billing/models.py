"""Credits and what moves them: accounts, the append-only ledger, prices, plans, subscriptions,
BYOK keys, payment-provider webhooks and feature flags."""
from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.providers.models import LLMProvider, UsageRecord

#: Credits and prices: enough places for a fraction of a cent per token.
CREDIT_DIGITS = {"max_digits": 20, "decimal_places": 8}
ZERO = Decimal("0")


class CreditAccount(models.Model):
    """A user's spendable balance. Only :mod:`apps.billing.services` moves it, with conditional updates."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, related_name="credit_account", on_delete=models.CASCADE)
    credits = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    # Spent before ``credits``: promotional and welcome credits.
    bonus_credits = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    welcome_email_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gte=0), name="creditaccount_credits_not_negative",
                violation_error_message="Credits cannot go below zero.",
            ),
            models.CheckConstraint(
                condition=Q(bonus_credits__gte=0), name="creditaccount_bonus_not_negative",
                violation_error_message="Bonus credits cannot go below zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.total_credits}"

    @property
    def total_credits(self) -> Decimal:
        return self.credits + self.bonus_credits


class CreditLedgerEntry(models.Model):
    """One change of one balance. Rows are never updated or deleted (a database trigger refuses it),
    and they outlive their user: the user becomes NULL and ``user_label`` keeps who it was."""

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        PURCHASE = "purchase", "Purchase"
        BONUS = "bonus", "Bonus"
        SPEND = "spend", "Spend"
        REFUND = "refund", "Refund"
        RESET = "reset", "Reset"
        ADJUST = "adjust", "Adjustment"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="credit_entries", on_delete=models.SET_NULL
    )
    user_label = models.CharField(max_length=300)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Signed change of the whole balance, and its two parts; spend takes bonus credits first.
    amount = models.DecimalField(**CREDIT_DIGITS)
    credits_delta = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    bonus_delta = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    credits_after = models.DecimalField(**CREDIT_DIGITS)
    bonus_after = models.DecimalField(**CREDIT_DIGITS)
    # What a spend could not take because the balance ran out (the tokens were already used).
    shortfall = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    reason = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    actor_label = models.CharField(max_length=300, blank=True)
    run_id = models.UUIDField(null=True, blank=True, db_index=True)
    session_id = models.CharField(max_length=200, blank=True, db_index=True)
    usage = models.ForeignKey(
        UsageRecord, null=True, blank=True, related_name="ledger_entries", on_delete=models.PROTECT
    )
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "credit ledger entries"
        indexes = [models.Index(fields=["user", "-created_at"], name="ledger_user_created")]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits_after__gte=0, bonus_after__gte=0), name="ledger_balance_after_not_negative",
                violation_error_message="A balance cannot go below zero.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.user_label})"

    @property
    def balance_after(self) -> Decimal:
        return self.credits_after + self.bonus_after

    @property
    def cost(self) -> Decimal:
        """What a spend priced: what it took plus what it could not take."""
        return -self.amount + self.shortfall if self.kind == self.Kind.SPEND else ZERO


class ModelPrice(models.Model):
    """Credits per million tokens of one model (on one provider, or on any when ``provider`` is empty).

    A model without a row costs nothing.
    """

    class Source(models.TextChoices):
        MANUAL = "manual", "Set by staff"
        OPENROUTER = "openrouter", "OpenRouter catalog"

    model = models.CharField(max_length=200)
    provider = models.ForeignKey(
        LLMProvider, null=True, blank=True, related_name="prices", on_delete=models.CASCADE
    )
    input_per_million = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    output_per_million = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    cached_input_per_million = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.MANUAL)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "provider"], name="modelprice_one_per_model_provider",
                violation_error_message="This model already has a price for this provider.",
            ),
            models.UniqueConstraint(
                fields=["model"], condition=Q(provider__isnull=True), name="modelprice_one_default_per_model",
                violation_error_message="This model already has a price for every provider.",
            ),
            models.CheckConstraint(
                condition=Q(input_per_million__gte=0, output_per_million__gte=0, cached_input_per_million__gte=0),
                name="modelprice_not_negative", violation_error_message="Prices cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model} ({self.provider or 'any provider'})"


class Plan(models.Model):
    """What a subscription buys: a price and credits granted each monthly period."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=ZERO)
    currency = models.CharField(max_length=3, default="USD")
    monthly_credits = models.DecimalField(default=ZERO, **CREDIT_DIGITS)
    # Free-form limits shown to clients (e.g. {"max_projects": 5}).
    limits = models.JSONField(default=dict, blank=True)
    polar_product_id = models.CharField(max_length=200, blank=True, db_index=True)
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "price", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(price__gte=0, monthly_credits__gte=0), name="plan_amounts_not_negative",
                violation_error_message="Price and credits cannot be negative.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.price == 0


class Subscription(models.Model):
    """A user's plan for a period; renewed by Polar's webhooks or, for staff-assigned plans, by beat."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        TRIALING = "trialing", "Trialing"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"
        INCOMPLETE = "incomplete", "Incomplete"

    LIVE = (Status.ACTIVE, Status.TRIALING)

    user = models.OneToOneField(settings.AUTH_USER_MODEL, related_name="subscription", on_delete=models.CASCADE)
    plan = models.ForeignKey(Plan, related_name="subscriptions", on_delete=models.PROTECT)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    current_period_start = models.DateTimeField()
    current_period_end = models.DateTimeField()
    cancel_at_period_end = models.BooleanField(default=False)
    external_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(current_period_end__gt=models.F("current_period_start")), name="subscription_period_order",
                violation_error_message="A period must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.plan} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class OpenRouterKey(models.Model):
    """A user's own OpenRouter key (BYOK): kept as the user's default provider, encrypted; never returned.

    While it exists the user's runs go through it and are metered but not charged.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, related_name="openrouter_key", on_delete=models.CASCADE)
    provider = models.OneToOneField(LLMProvider, related_name="byok_key", on_delete=models.CASCADE)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_test_ok = models.BooleanField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"OpenRouter key of {self.user}"


class WebhookEvent(models.Model):
    """A payment provider's event, kept by its id so a redelivery is handled once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=50, default="polar")
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=100)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "event_id"], name="webhookevent_once_per_event",
                violation_error_message="This event was already received.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.type} {self.event_id}"


class FeatureFlag(models.Model):
    """A switch edited in the admin and read by clients (when FEATURE_FLAGS_ENABLED)."""

    class Audience(models.TextChoices):
        EVERYONE = "everyone", "Everyone"
        STAFF = "staff", "Staff only"
        PERCENTAGE = "percentage", "A percentage of users"

    name = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=False)
    audience = models.CharField(max_length=20, choices=Audience.choices, default=Audience.EVERYONE)
    percentage = models.PositiveSmallIntegerField(default=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percentage__lte=100), name="featureflag_percentage_range",
                violation_error_message="The percentage must be between 0 and 100.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class UsageByUserAndModel(UsageRecord):
    """The admin's view of usage summed per user and model (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "usage per user and model"
        verbose_name_plural = "usage per user and model"
