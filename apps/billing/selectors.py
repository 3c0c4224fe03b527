"""Reads of billing, always about the user who asks (or, for staff routes, the users they name)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.billing import services
from apps.billing.models import ZERO, CreditLedgerEntry, FeatureFlag, OpenRouterKey, Plan, Subscription
from apps.core.errors import Invalid, NotFound
from apps.core.sessions import session_titles
from apps.providers.models import UsageRecord

MAX_HISTORY_DAYS = 366
_SPENT = Q(ledger_entries__kind=CreditLedgerEntry.Kind.SPEND)


def user_get(*, user_id: UUID) -> Any:
    """A user named by staff (003's ``credits/add``); unknown is 404."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found.")
    return user


def openrouter_key_status(*, user: Any) -> dict[str, Any]:
    """Whether the user has a BYOK key, with a hint of it; never the key itself."""
    record = OpenRouterKey.objects.select_related("provider").filter(user=user).first()
    if record is None:
        return {"has_key": False, "active": False}
    return {"has_key": True, "active": True, "key_hint": record.provider.api_key_hint,
            "model": record.provider.model, "base_url": record.provider.base_url, "created_at": record.created_at,
            "last_tested_at": record.last_tested_at, "last_test_ok": record.last_test_ok}


def balance(*, user: Any) -> dict[str, Any]:
    account = services.account_for(user=user)
    return {"user_id": user.pk, "credits": account.credits, "bonus_credits": account.bonus_credits,
            "total_credits": account.total_credits, "updated_at": account.updated_at}


def session_usage(*, user: Any, page: int, per_page: int) -> dict[str, Any]:
    """Credits spent per session (thread or task), newest first."""
    sessions = (
        CreditLedgerEntry.objects.filter(user=user, kind=CreditLedgerEntry.Kind.SPEND).exclude(session_id="")
        .values("session_id").annotate(spent=Sum("amount"), shortfall=Sum("shortfall"), updated_at=Max("created_at"))
        .order_by("-updated_at", "session_id")
    )
    total = sessions.count()
    rows = list(sessions[(page - 1) * per_page: page * per_page])
    ids = [row["session_id"] for row in rows]
    titles = session_titles(user=user, session_ids=ids)
    return {
        "sessions": [
            {"session_id": row["session_id"], "session_title": titles.get(row["session_id"], ""),
             "credits": -row["spent"], "updated_at": row["updated_at"]}
            for row in rows
        ],
        "total": total,
        "page": page,
        "per_page": per_page,
    }


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field} must be a date (YYYY-MM-DD).", field_errors={field: ["Use YYYY-MM-DD."]}) from None


def _range(start_date: str | None, end_date: str | None) -> tuple[date, date]:
    end = _day(end_date, "end_date") or timezone.now().date()
    start = _day(start_date, "start_date") or end - timedelta(days=29)
    if start > end:
        raise Invalid("start_date is after end_date.", field_errors={"start_date": ["Must not be after end_date."]})
    if (end - start).days >= MAX_HISTORY_DAYS:
        raise Invalid(f"At most {MAX_HISTORY_DAYS} days at once.", field_errors={"start_date": ["Range too long."]})
    return start, end


def _usage_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "requests": row["requests"],
        "input_tokens": row["input_tokens"],
        "output_tokens": row["output_tokens"],
        "cached_tokens": row["cached_tokens"],
        "total_tokens": row["input_tokens"] + row["output_tokens"],
        "cost": (row["shortfall"] or ZERO) - (row["spent"] or ZERO),
    }


def usage_history(*, user: Any, start_date: str | None = None, end_date: str | None = None,
                  model: str | None = None) -> dict[str, Any]:
    """Tokens and cost per day and per model between two dates (inclusive, UTC; the last 30 days by default)."""
    start, end = _range(start_date, end_date)
    tz = timezone.get_current_timezone()
    records = UsageRecord.objects.filter(
        user=user, created_at__gte=datetime.combine(start, time.min, tzinfo=tz),
        created_at__lt=datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz),
    )
    if model:
        records = records.filter(model=model)
    sums = {
        "requests": Count("id", distinct=True),
        "input_tokens": Sum("input_tokens", default=0),
        "output_tokens": Sum("output_tokens", default=0),
        "cached_tokens": Sum("cached_tokens", default=0),
        "spent": Sum("ledger_entries__amount", filter=_SPENT, default=ZERO),
        "shortfall": Sum("ledger_entries__shortfall", filter=_SPENT, default=ZERO),
    }
    # One spend entry at most per usage row (its idempotency key), so the join does not double the tokens.
    daily = records.annotate(day=TruncDate("created_at")).values("day").annotate(**sums).order_by("day")
    by_model = records.values("model").annotate(**sums).order_by("model")
    total = records.aggregate(**sums)
    return {
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "daily": [{"date": row["day"].isoformat(), **_usage_row(row)} for row in daily],
        "by_model": [{"model": row["model"], **_usage_row(row)} for row in by_model],
        "total": _usage_row(total),
    }


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.filter(is_active=True)


def plan_get(*, plan_id: Any) -> Plan:
    """An active plan by slug or id; anything else is 404."""
    value = str(plan_id or "").strip()
    lookup = Q(slug=value) | Q(pk=int(value)) if value.isdigit() else Q(slug=value)
    plan = plan_list().filter(lookup).first() if value else None
    if plan is None:
        raise NotFound("Plan not found.")
    return plan


def subscription_of(*, user: Any) -> Subscription | None:
    return Subscription.objects.select_related("plan").filter(user=user).first()


def billing_status(*, user: Any) -> dict[str, Any]:
    subscription = subscription_of(user=user)
    account = balance(user=user)
    byok = OpenRouterKey.objects.filter(user=user).exists()
    can_run = services.credits_available(user=user)
    return {
        "can_run": can_run,
        "message": "OK" if can_run else services.INSUFFICIENT,
        "billing_enabled": settings.BILLING_ENABLED,
        "byok_active": byok,
        "plan": subscription.plan.slug if subscription and subscription.is_live else None,
        "plan_name": subscription.plan.name if subscription and subscription.is_live else None,
        "subscription_status": subscription.status if subscription else "none",
        **{key: account[key] for key in ("credits", "bonus_credits", "total_credits")},
    }


def quota_status(*, user_ids: list[UUID] | None = None, limit: int = 100) -> dict[str, Any]:
    """Each subscribed user's plan quota, what is left and what they spent this period (staff route)."""
    subscriptions = Subscription.objects.select_related("plan", "user", "user__credit_account").order_by("user_id")
    if user_ids is not None:
        subscriptions = subscriptions.filter(user_id__in=user_ids)
    rows = []
    for sub in subscriptions[:limit]:
        spent = CreditLedgerEntry.objects.filter(
            user_id=sub.user_id, kind=CreditLedgerEntry.Kind.SPEND, created_at__gte=sub.current_period_start
        ).aggregate(total=Sum("amount", default=ZERO))["total"]
        account = getattr(sub.user, "credit_account", None)
        rows.append({
            "user_id": sub.user_id, "plan": sub.plan.slug, "status": sub.status,
            "quota": sub.plan.monthly_credits, "spent_this_period": -spent,
            "credits": account.credits if account else ZERO,
            "bonus_credits": account.bonus_credits if account else ZERO,
            "current_period_start": sub.current_period_start, "current_period_end": sub.current_period_end,
        })
    return {"users": rows, "total": subscriptions.count()}


def flag_enabled(flag: FeatureFlag, *, user: Any) -> bool:
    if not flag.enabled:
        return False
    if flag.audience == FeatureFlag.Audience.STAFF:
        return bool(user.is_staff or user.is_superuser)
    if flag.audience == FeatureFlag.Audience.PERCENTAGE:
        return services.flag_bucket(flag_name=flag.name, user_id=user.pk) < flag.percentage
    return True


def _flags_on() -> None:
    if not settings.FEATURE_FLAGS_ENABLED:
        raise NotFound("Not found.")


def flag_list(*, user: Any) -> dict[str, Any]:
    _flags_on()
    flags = {flag.name: flag_enabled(flag, user=user) for flag in FeatureFlag.objects.all()}
    return {"flags": flags, "total_flags": len(flags), "timestamp": timezone.now()}


def flag_get(*, user: Any, flag_name: str) -> dict[str, Any]:
    _flags_on()
    flag = FeatureFlag.objects.filter(name=flag_name).first()
    if flag is None:
        raise NotFound("Feature flag not found.")
    return {"flag_name": flag.name, "enabled": flag_enabled(flag, user=user),
            "details": {"description": flag.description, "audience": flag.audience,
                        "updated_at": flag.updated_at}}
