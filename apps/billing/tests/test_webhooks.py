"""/api/webhooks/polar: Standard Webhooks signatures, replays, once per event, and what each event changes."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from standardwebhooks.webhooks import Webhook

from apps.billing.models import CreditAccount, CreditLedgerEntry, Subscription, WebhookEvent
from apps.billing.tests.factories import PlanFactory

pytestmark = pytest.mark.django_db
SECRET = "polar-webhook-secret"
URL = "/api/webhooks/polar"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.POLAR_WEBHOOK_SECRET = SECRET


def _post(client, event: dict, *, secret: str = SECRET, when: datetime | None = None, event_id: str | None = None):
    body = json.dumps(event)
    msg_id = event_id or f"msg_{uuid.uuid4().hex}"
    when = when or datetime.now(tz=UTC)
    signature = Webhook(secret.encode()).sign(msg_id, when, body)  # Polar signs with the raw secret
    return client.generic("POST", URL, body, content_type="application/json", HTTP_WEBHOOK_ID=msg_id,
                          HTTP_WEBHOOK_TIMESTAMP=str(int(when.timestamp())), HTTP_WEBHOOK_SIGNATURE=signature)


def _subscription_event(kind: str, user, plan, *, status: str = "active", start: str = "2026-12-01T00:00:00Z",
                        end: str = "2027-01-01T00:00:00Z") -> dict:
    return {"type": kind, "timestamp": "2026-12-01T00:00:00Z", "data": {
        "id": "sub_1", "status": status, "product_id": plan.polar_product_id, "current_period_start": start,
        "current_period_end": end, "cancel_at_period_end": False,
        "customer": {"external_id": str(user.pk), "email": user.email}, "metadata": {}}}


def test_a_subscription_created_event_subscribes_and_grants_the_period(anon, alice):
    plan = PlanFactory(monthly_credits=Decimal("30"))
    response = _post(anon, _subscription_event("subscription.created", alice, plan))
    assert response.status_code == 200 and response.json()["duplicate"] is False
    subscription = Subscription.objects.get(user=alice)
    assert (subscription.plan, subscription.status, subscription.external_id) == (plan, "active", "sub_1")
    assert CreditAccount.objects.get(user=alice).credits == 30


def test_an_event_is_handled_once_by_its_id(anon, alice):
    plan = PlanFactory(monthly_credits=Decimal("30"))
    event = _subscription_event("subscription.created", alice, plan)
    _post(anon, event, event_id="msg_same")
    again = _post(anon, event, event_id="msg_same")
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1
    assert CreditAccount.objects.get(user=alice).credits == 30


def test_an_update_with_the_same_period_grants_nothing_more_and_a_new_period_grants_again(anon, alice):
    plan = PlanFactory(monthly_credits=Decimal("30"))
    _post(anon, _subscription_event("subscription.created", alice, plan))
    _post(anon, _subscription_event("subscription.updated", alice, plan))
    assert CreditAccount.objects.get(user=alice).credits == 30
    _post(anon, _subscription_event("subscription.updated", alice, plan, start="2027-01-01T00:00:00Z",
                                    end="2027-02-01T00:00:00Z"))
    assert CreditAccount.objects.get(user=alice).credits == 60


def test_a_cancelled_subscription_is_marked_so(anon, alice):
    plan = PlanFactory()
    _post(anon, _subscription_event("subscription.created", alice, plan))
    _post(anon, _subscription_event("subscription.canceled", alice, plan, status="canceled"))
    assert Subscription.objects.get(user=alice).status == "canceled"


def test_an_order_paid_for_a_cycle_grants_that_period_once(anon, alice):
    plan = PlanFactory(monthly_credits=Decimal("30"))
    _post(anon, _subscription_event("subscription.created", alice, plan))
    order = {"type": "order.paid", "data": {"id": "ord_1", "subscription_id": "sub_1", "product_id": plan.polar_product_id,
                                             "billing_reason": "subscription_cycle", "customer": {}}}
    assert _post(anon, order).json()["outcome"] == "period granted"
    assert CreditAccount.objects.get(user=alice).credits == 30


def test_a_one_off_order_buys_the_products_credits(anon, alice):
    plan = PlanFactory(monthly_credits=Decimal("12"))
    order = {"type": "order.paid", "data": {"id": "ord_2", "subscription_id": None, "product_id": plan.polar_product_id,
                                             "customer": {"external_id": str(alice.pk)}}}
    _post(anon, order)
    _post(anon, order)  # a new delivery id, the same order: still once
    entry = CreditLedgerEntry.objects.get(user=alice)
    assert (entry.kind, entry.amount) == ("purchase", Decimal("12"))


def test_a_wrong_signature_is_refused(anon, alice):
    response = _post(anon, _subscription_event("subscription.created", alice, PlanFactory()), secret="not-the-secret")
    assert response.status_code == 401 and "detail" in response.json()
    assert not WebhookEvent.objects.exists()


def test_a_replay_older_than_five_minutes_is_refused(anon, alice):
    stale = datetime.now(tz=UTC) - timedelta(minutes=6)
    response = _post(anon, _subscription_event("subscription.created", alice, PlanFactory()), when=stale)
    assert response.status_code == 401
    assert not Subscription.objects.exists()


def test_missing_signature_headers_are_refused(anon):
    response = anon.post(URL, {"type": "order.paid", "data": {}}, format="json")
    assert response.status_code == 401


def test_a_signed_body_without_type_is_a_400(anon):
    assert _post(anon, {"hello": "world"}).status_code == 400


def test_without_a_secret_the_webhook_answers_503(anon, settings):
    settings.POLAR_WEBHOOK_SECRET = ""
    assert _post(anon, {"type": "x", "data": {}}, secret="whatever").status_code == 503


def test_a_form_body_is_a_400_not_a_500(anon):
    # Found by fuzzing: a multipart body is parsed as it streams in (the edge reads every field),
    # after which the raw body the signature covers cannot be read.
    response = anon.post(URL, {"type": "order.paid", "data": "x"}, format="multipart")
    assert response.status_code == 400 and "raw body" in response.json()["detail"]
