"""Billing in the Django admin: grant or adjust credits with a reason, a read-only ledger, editable prices
(and the models that have none), usage per user and model, plans, subscriptions and feature flags."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.billing import services
from apps.billing.models import (
    CreditAccount,
    CreditLedgerEntry,
    FeatureFlag,
    ModelPrice,
    OpenRouterKey,
    Plan,
    Subscription,
    UsageByUserAndModel,
    WebhookEvent,
)
from apps.core.errors import ServiceError
from apps.providers.models import UsageRecord


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CreditChangeForm(forms.Form):
    KINDS = [("grant", "Grant"), ("bonus", "Bonus credits"), ("refund", "Refund"), ("adjust", "Adjustment (may be negative)")]

    kind = forms.ChoiceField(choices=KINDS, initial="grant")
    amount = forms.DecimalField(max_digits=20, decimal_places=8, help_text="Credits; negative only for an adjustment.")
    reason = forms.CharField(max_length=500, help_text="Kept in the ledger with your name.")


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["user", "credits", "bonus_credits", "total", "updated_at"]
    search_fields = ["user__username", "user__email"]
    readonly_fields = ["user", "credits", "bonus_credits", "welcome_email_sent_at", "created_at", "updated_at"]
    actions = ["change_credits"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Total")
    def total(self, account: CreditAccount) -> Any:
        return account.total_credits

    @admin.action(description="Grant or adjust credits (with a reason)", permissions=["change"])
    def change_credits(self, request: HttpRequest, queryset: QuerySet[CreditAccount]) -> HttpResponse | None:
        form = CreditChangeForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            data = form.cleaned_data
            changed = 0
            for account in queryset.select_related("user"):
                try:
                    services.credits_add(user=account.user, amount=data["amount"], kind=data["kind"],
                                         bonus=data["kind"] == "bonus", reason=data["reason"], actor=request.user)
                    changed += 1
                except ServiceError as exc:
                    self.message_user(request, f"{account.user}: {exc.message}", messages.ERROR)
            self.message_user(request, f"Credits changed for {changed} account(s).", messages.SUCCESS)
            return HttpResponseRedirect(request.get_full_path())
        context = {**self.admin_site.each_context(request), "title": "Grant or adjust credits", "form": form,
                   "accounts": queryset, "action": "change_credits", "opts": self.model._meta}
        return TemplateResponse(request, "admin/billing/credits_change.html", context)


@admin.register(CreditLedgerEntry)
class CreditLedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user_label", "kind", "amount", "bonus_delta", "credits_after", "bonus_after",
                    "shortfall", "reason", "actor_label"]
    list_filter = ["kind"]
    search_fields = ["user_label", "reason", "session_id", "idempotency_key"]
    date_hierarchy = "created_at"


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    list_display = ["model", "provider", "input_per_million", "output_per_million", "cached_input_per_million",
                    "source", "updated_at"]
    list_filter = ["source"]
    search_fields = ["model"]

    def save_model(self, request: HttpRequest, obj: ModelPrice, form: Any, change: bool) -> None:
        obj.source = ModelPrice.Source.MANUAL  # staff's price is never replaced by the catalog
        super().save_model(request, obj, form, change)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        priced = ModelPrice.objects.values_list("model", flat=True)
        unpriced = (UsageRecord.objects.exclude(model__in=priced).values_list("model", flat=True)
                    .distinct().order_by("model")[:50])
        return super().changelist_view(request, {**(extra_context or {}), "unpriced_models": list(unpriced)})


@admin.register(UsageByUserAndModel)
class UsageByUserAndModelAdmin(ReadOnlyAdmin):
    """Tokens and credits per user and model between two dates (``?start=YYYY-MM-DD&end=YYYY-MM-DD``)."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_staff

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        today = timezone.now().date()
        start = _date(request.GET.get("start")) or today - timedelta(days=29)
        end = _date(request.GET.get("end")) or today
        rows = (
            UsageRecord.objects.filter(created_at__date__gte=start, created_at__date__lte=end)
            .values("user_label", "model")
            .annotate(calls=Count("id", distinct=True), input_tokens=Sum("input_tokens"),
                      output_tokens=Sum("output_tokens"), cached_tokens=Sum("cached_tokens"),
                      spent=Sum("ledger_entries__amount"))
            .order_by("user_label", "model")
        )
        context = {**self.admin_site.each_context(request), "title": "Usage per user and model", "rows": rows,
                   "start": start, "end": end, "opts": self.model._meta}
        return TemplateResponse(request, "admin/billing/usage_summary.html", context)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "price", "currency", "monthly_credits", "polar_product_id", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """Staff may put a user on a plan here (payments or not); saving grants the period's credits once."""

    list_display = ["user", "plan", "status", "current_period_start", "current_period_end", "external_id"]
    list_filter = ["status", "plan"]
    search_fields = ["user__username", "external_id"]
    raw_id_fields = ["user"]

    def save_model(self, request: HttpRequest, obj: Subscription, form: Any, change: bool) -> None:
        services.subscription_assign(
            user=obj.user, plan=obj.plan, status=obj.status, period_start=obj.current_period_start,
            period_end=obj.current_period_end, external_id=obj.external_id,
            cancel_at_period_end=obj.cancel_at_period_end,
        )


@admin.register(OpenRouterKey)
class OpenRouterKeyAdmin(ReadOnlyAdmin):
    list_display = ["user", "created_at", "last_tested_at", "last_test_ok"]
    exclude = ["provider"]  # the key lives (encrypted) on the provider; it is never shown


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "type", "event_id"]
    list_filter = ["source", "type"]
    search_fields = ["event_id"]


@admin.register(FeatureFlag)
class FeatureFlagAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "audience", "percentage", "updated_at"]
    list_filter = ["enabled", "audience"]
    search_fields = ["name", "description"]


