"""Payments through Polar: checkout sessions, plan changes, and its Standard Webhooks events.

Without POLAR_ACCESS_TOKEN checkout answers 503 (staff may still assign plans in the admin);
without POLAR_WEBHOOK_SECRET the webhook answers 503. Payment state changes only on a verified
webhook, never on a success redirect.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from apps.billing import services
from apps.billing.models import Plan, Subscription, WebhookEvent
from apps.core.errors import BadGateway, Invalid, ServiceUnavailable, Unauthorized

if TYPE_CHECKING:
    from polar.v2026_10 import Polar

# Polar's SDK is imported by the calls that use it, not with the URLconf: it weighs about 30 MiB
# in every process that loads Django, and a self-hosted server mostly never pays through Polar.

logger = logging.getLogger(__name__)

NOT_CONFIGURED = "Payments are not configured on this server (POLAR_ACCESS_TOKEN is unset)."
#: Polar's subscription statuses, as ours.
STATUSES = {
    "active": Subscription.Status.ACTIVE,
    "trialing": Subscription.Status.TRIALING,
    "past_due": Subscription.Status.PAST_DUE,
    "unpaid": Subscription.Status.PAST_DUE,
    "canceled": Subscription.Status.CANCELED,
    "revoked": Subscription.Status.CANCELED,
    "incomplete": Subscription.Status.INCOMPLETE,
    "incomplete_expired": Subscription.Status.CANCELED,
}


def _client() -> Polar:
    if not settings.POLAR_ACCESS_TOKEN:
        raise ServiceUnavailable(NOT_CONFIGURED, code="payments_not_configured")
    from polar.v2026_10 import Polar

    return Polar(settings.POLAR_ACCESS_TOKEN, environment=settings.POLAR_SERVER,
                 base_url=settings.POLAR_API_URL or None)


def _paid_plan(plan: Plan) -> str:
    if not plan.polar_product_id:
        raise Invalid("This plan cannot be bought online.", field_errors={"plan_id": ["No Polar product."]})
    return plan.polar_product_id


def checkout_create(*, user: Any, plan: Plan, success_url: str = "") -> dict[str, Any]:
    """A Polar checkout session for ``plan``; the browser goes to its URL."""
    from polar.base import PolarError

    product = _paid_plan(plan)
    with _client() as polar:
        try:
            checkout = polar.checkouts.create(
                products=[product], external_customer_id=str(user.pk), customer_email=user.email or None,
                success_url=success_url or settings.POLAR_SUCCESS_URL,
                metadata={"user_id": str(user.pk), "plan": plan.slug},
            )
        except PolarError as exc:
            logger.warning("Polar checkout failed: %s", exc)
            raise BadGateway("The payment provider refused or did not answer; try again later.") from exc
    return {"checkout_url": checkout.url, "session_id": checkout.id, "plan_id": plan.slug}


def plan_change(*, user: Any, plan: Plan, success_url: str = "") -> dict[str, Any]:
    """Move to ``plan``: a free plan at once; a paid one by changing the Polar subscription or checking out."""
    if plan.is_free:
        subscription = services.subscription_assign(user=user, plan=plan)
        return {"status": "updated", "plan_id": plan.slug, "subscription_status": subscription.status}
    current = Subscription.objects.filter(user=user, external_id__isnull=False).first()
    if current is None or not current.is_live:
        return {"status": "checkout_required", **checkout_create(user=user, plan=plan, success_url=success_url)}
    from polar.base import PolarError

    product = _paid_plan(plan)
    with _client() as polar:
        try:
            polar.subscriptions.update(current.external_id, product_id=product)
        except PolarError as exc:
            logger.warning("Polar plan change failed: %s", exc)
            raise BadGateway("The payment provider refused or did not answer; try again later.") from exc
    # The plan itself changes when Polar's subscription.updated webhook arrives.
    return {"status": "pending", "plan_id": plan.slug, "subscription_status": current.status}


# ------------------------------------------------------------------------------
# Webhooks
# ------------------------------------------------------------------------------
def _verifier() -> Webhook:
    secret = settings.POLAR_WEBHOOK_SECRET
    if not secret:
        raise ServiceUnavailable("Webhooks are not configured on this server (POLAR_WEBHOOK_SECRET is unset).")
    # Polar signs with the secret's own bytes; a ``whsec_`` secret is the Standard Webhooks base64 form.
    return Webhook(secret if secret.startswith("whsec_") else secret.encode())


def webhook_verify(*, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """The event, if its Standard Webhooks signature is good and it is at most 5 minutes old; else 401."""
    verifier = _verifier()
    wanted = {name: headers.get(name, "") for name in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    try:
        event = verifier.verify(body, wanted)
    except WebhookVerificationError as exc:
        raise Unauthorized(f"Invalid webhook signature: {exc}.", code="invalid_signature") from None
    except (ValueError, TypeError):
        raise Unauthorized("Invalid webhook signature headers.", code="invalid_signature") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) or not isinstance(event.get("data"), dict):
        raise Invalid("The event has no type or data.")
    return {"id": wanted["webhook-id"], **event}


def _when(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _user_of(data: dict[str, Any]) -> Any:
    customer = data.get("customer") if isinstance(data.get("customer"), dict) else {}
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    user_id = metadata.get("user_id") or customer.get("external_id") or data.get("external_customer_id")
    users = get_user_model().objects
    user = users.filter(pk=_uuid(user_id)).first() if _uuid(user_id) else None
    if user is None and customer.get("email"):
        user = users.filter(email__iexact=customer["email"]).first()
    return user


def _on_subscription(kind: str, data: dict[str, Any]) -> str:
    user = _user_of(data)
    plan = Plan.objects.filter(polar_product_id=data.get("product_id") or "").first()
    if user is None or plan is None:
        return "ignored: unknown customer or product"
    status = STATUSES.get(str(data.get("status")), Subscription.Status.INCOMPLETE)
    if kind in ("subscription.canceled", "subscription.revoked") and data.get("status") != "active":
        status = Subscription.Status.CANCELED
    services.subscription_assign(
        user=user, plan=plan, status=status, external_id=str(data.get("id") or "") or None,
        period_start=_when(data.get("current_period_start")), period_end=_when(data.get("current_period_end")),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
    )
    return f"subscription {status}"


def _on_order_paid(data: dict[str, Any]) -> str:
    subscription = Subscription.objects.select_related("plan", "user").filter(
        external_id=str(data.get("subscription_id") or "-")
    ).first()
    if subscription is not None:
        # A cycle's order: the period's grant (the same key as the subscription events and beat use).
        Subscription.objects.filter(pk=subscription.pk, status=Subscription.Status.PAST_DUE).update(
            status=Subscription.Status.ACTIVE
        )
        subscription.refresh_from_db()
        services.subscription_grant_period(subscription=subscription)
        return "period granted"
    user = _user_of(data)
    plan = Plan.objects.filter(polar_product_id=data.get("product_id") or "").first()
    if user is None or plan is None or plan.monthly_credits <= 0:
        return "ignored: unknown customer or product"
    services.credits_add(
        user=user, amount=plan.monthly_credits, kind=services.Kind.PURCHASE, reason=f"Polar order: {plan.name}",
        idempotency_key=f"polar-order:{data.get('id')}",
    )
    return "credits purchased"


@transaction.atomic
def webhook_handle(*, event: dict[str, Any]) -> dict[str, Any]:
    """Apply one verified event, once per event id; a redelivery answers ``duplicate``."""
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(source="polar", event_id=event["id"], type=event["type"],
                                        payload=json.loads(json.dumps(event["data"])))
    except IntegrityError:
        return {"received": True, "duplicate": True}
    kind, data = event["type"], event["data"]
    if kind.startswith("subscription."):
        outcome = _on_subscription(kind, data)
    elif kind == "order.paid":
        outcome = _on_order_paid(data)
    else:
        outcome = "ignored"
    return {"received": True, "duplicate": False, "type": kind, "outcome": outcome}
