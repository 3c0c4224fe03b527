"""004's /api/billing/* for users: status, subscription, usage history, plans, checkout and BYOK keys."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.billing import services
from apps.billing.models import CreditLedgerEntry, OpenRouterKey, Subscription
from apps.billing.tests.factories import ModelPriceFactory, PlanFactory, UsageRecordFactory
from apps.providers.models import LLMProvider, UsageRecord
from apps.providers.testing import FAKE_MODEL

pytestmark = pytest.mark.django_db

USER_ROUTES = [
    ("get", "/api/billing/status"), ("get", "/api/billing/subscription"), ("get", "/api/billing/usage-history"),
    ("get", "/api/billing/plans"), ("post", "/api/billing/create-checkout-session"),
    ("post", "/api/billing/upgrade-plan"), ("post", "/api/billing/openrouter-key"),
    ("get", "/api/billing/openrouter-key/status"), ("delete", "/api/billing/openrouter-key"),
    ("post", "/api/billing/openrouter-key/test"), ("get", "/api/billing/payment-methods/regions"),
    ("get", "/api/billing/payment-methods/all"), ("get", "/api/billing/payment-methods/region/DE"),
    ("post", "/api/billing/payment-methods/validate"), ("get", "/api/billing/payment-methods/presets"),
    ("get", "/api/billing/payment-methods/detect"), ("post", "/api/send-welcome-email"),
    ("get", "/api/feature-flags"), ("get", "/api/feature-flags/x"),
]


@pytest.mark.parametrize(("method", "path"), USER_ROUTES)
def test_user_routes_need_a_token(anon, method, path):
    response = getattr(anon, method)(path)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_status_says_whether_the_user_can_run(alice, alice_client, fund):
    body = alice_client.get("/api/billing/status").json()
    assert (body["can_run"], body["total_credits"], body["billing_enabled"]) == (False, 0, True)
    assert "insufficient" in body["message"].lower()
    fund(alice, credits=2)
    body = alice_client.get("/api/billing/status").json()
    assert (body["can_run"], body["total_credits"], body["subscription_status"]) == (True, 2, "none")


def test_subscription_shows_the_callers_plan_only(alice, alice_client, bob_client):
    plan = PlanFactory(name="Pro", slug="pro", monthly_credits=Decimal("50"))
    services.subscription_assign(user=alice, plan=plan)
    body = alice_client.get("/api/billing/subscription").json()
    assert body["subscription"]["plan"]["id"] == "pro" and body["status"] == "active"
    assert body["balance"]["credits"] == 50
    assert bob_client.get("/api/billing/subscription").json() == {
        "subscription": None, "status": "none", "balance": bob_client.get("/api/billing/subscription").json()["balance"]
    }


def test_plans_lists_active_plans_and_marks_the_current_one(alice, alice_client):
    pro = PlanFactory(slug="pro")
    PlanFactory(slug="old", is_active=False)
    services.subscription_assign(user=alice, plan=pro)
    body = alice_client.get("/api/billing/plans").json()
    assert [(plan["id"], plan["is_current"]) for plan in body["plans"]] == [("pro", True)]


def test_usage_history_sums_tokens_and_cost_per_day_and_model(alice, bob, alice_client, fund):
    fund(alice, credits=100)
    ModelPriceFactory(input_per_million=Decimal("1000"))
    services.usage_charge(usage=UsageRecordFactory(user=alice, input_tokens=1000, output_tokens=10))
    services.usage_charge(usage=UsageRecordFactory(user=alice, input_tokens=2000, output_tokens=0))
    UsageRecordFactory(user=alice, model="free-model", input_tokens=7)
    UsageRecordFactory(user=bob, input_tokens=99999)
    old = UsageRecordFactory(user=alice, input_tokens=5)
    UsageRecord.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=60))
    body = alice_client.get("/api/billing/usage-history").json()
    assert body["total"]["requests"] == 3
    assert body["total"]["input_tokens"] == 3007
    by_model = {row["model"]: row for row in body["by_model"]}
    assert by_model[FAKE_MODEL]["cost"] == pytest.approx(3.02)
    assert by_model["free-model"]["cost"] == 0
    assert len(body["daily"]) == 1 and body["daily"][0]["date"] == timezone.now().date().isoformat()
    start = (timezone.now() - timedelta(days=61)).date().isoformat()
    wider = alice_client.get(f"/api/billing/usage-history?start_date={start}").json()
    assert wider["total"]["requests"] == 4
    only = alice_client.get("/api/billing/usage-history?model=free-model").json()
    assert only["total"]["input_tokens"] == 7


@pytest.mark.parametrize("query", ["start_date=yesterday", "start_date=2026-02-01&end_date=2026-01-01",
                                   "start_date=2020-01-01&end_date=2026-01-01"])
def test_usage_history_validates_dates(alice_client, query):
    response = alice_client.get(f"/api/billing/usage-history?{query}")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_checkout_answers_503_without_polar(alice_client):
    PlanFactory(slug="pro")
    response = alice_client.post("/api/billing/create-checkout-session", {"plan_id": "pro"}, format="json")
    assert response.status_code == 503
    assert "not configured" in response.json()["detail"]


def test_checkout_validates_the_plan(alice_client):
    assert alice_client.post("/api/billing/create-checkout-session", {}, format="json").status_code == 400
    missing = alice_client.post("/api/billing/create-checkout-session", {"plan_id": "nope"}, format="json")
    assert missing.status_code == 404


def test_upgrading_to_a_free_plan_switches_at_once_and_grants_its_credits(alice, alice_client):
    PlanFactory(slug="free", price=Decimal("0"), monthly_credits=Decimal("3"))
    response = alice_client.post("/api/billing/upgrade-plan", {"plan_id": "free"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "updated"
    assert Subscription.objects.get(user=alice).plan.slug == "free"
    assert alice_client.get("/api/v1/agent/credits/balance").json()["credits"] == 3


def test_upgrading_to_a_paid_plan_needs_polar(alice_client):
    PlanFactory(slug="pro")
    assert alice_client.post("/api/billing/upgrade-plan", {"plan_id": "pro"}, format="json").status_code == 503
    assert alice_client.post("/api/billing/upgrade-plan", {"plan_id": ""}, format="json").status_code == 400


# ------------------------------------------------------------------------------
# BYOK
# ------------------------------------------------------------------------------
def test_a_stored_key_is_encrypted_never_returned_and_becomes_the_default(alice, alice_client, settings, fake_llm):
    settings.OPENROUTER_BASE_URL = fake_llm.base_url
    response = alice_client.post("/api/billing/openrouter-key", {"api_key": "sk-or-secret-123456"}, format="json")
    assert response.status_code == 201
    assert "sk-or-secret-123456" not in response.content.decode()
    status = alice_client.get("/api/billing/openrouter-key/status").json()
    assert status["has_key"] and status["base_url"] == fake_llm.base_url
    assert "sk-or-secret-123456" not in str(status)
    provider = LLMProvider.objects.get(owner=alice)
    assert provider.is_default and provider.api_key == "sk-or-secret-123456"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM providers_llmprovider WHERE id = %s", [provider.pk])
        assert "sk-or-secret" not in cursor.fetchone()[0]


def test_a_key_must_be_one_line(alice_client):
    assert alice_client.post("/api/billing/openrouter-key", {"api_key": ""}, format="json").status_code == 400
    response = alice_client.post("/api/billing/openrouter-key", {"api_key": "a\nb"}, format="json")
    assert response.status_code == 400


def test_testing_a_key_calls_the_configured_base_url(alice, alice_client, settings, fake_llm):
    settings.OPENROUTER_BASE_URL = fake_llm.base_url
    assert alice_client.post("/api/billing/openrouter-key/test").status_code == 404
    alice_client.post("/api/billing/openrouter-key", {"api_key": "sk-or-1", "model": FAKE_MODEL}, format="json")
    response = alice_client.post("/api/billing/openrouter-key/test")
    assert response.status_code == 200 and response.json()["success"] is True
    assert fake_llm.headers[-1]["Authorization"] == "Bearer sk-or-1"
    assert OpenRouterKey.objects.get(user=alice).last_test_ok is True


def test_a_refused_key_fails_its_test(alice, alice_client, settings, fake_llm):
    fake_llm.api_key = "the-real-key"
    settings.OPENROUTER_BASE_URL = fake_llm.base_url
    alice_client.post("/api/billing/openrouter-key", {"api_key": "wrong", "model": FAKE_MODEL}, format="json")
    response = alice_client.post("/api/billing/openrouter-key/test")
    assert response.status_code == 400
    assert OpenRouterKey.objects.get(user=alice).last_test_ok is False


def test_deleting_a_key_is_per_user(alice, alice_client, bob_client):
    alice_client.post("/api/billing/openrouter-key", {"api_key": "sk-or-1"}, format="json")
    assert bob_client.delete("/api/billing/openrouter-key").status_code == 404
    assert bob_client.get("/api/billing/openrouter-key/status").json()["has_key"] is False
    assert alice_client.delete("/api/billing/openrouter-key").status_code == 200
    assert not LLMProvider.objects.filter(owner=alice).exists()


def test_runs_on_the_users_own_key_are_metered_but_not_charged(alice, alice_client):
    ModelPriceFactory()
    alice_client.post("/api/billing/openrouter-key", {"api_key": "sk-or-1", "model": FAKE_MODEL}, format="json")
    provider = LLMProvider.objects.get(owner=alice)
    services.credits_require(user=alice)  # no balance, yet allowed: they pay upstream
    usage = UsageRecordFactory(user=alice, provider=provider, input_tokens=5000)
    assert services.usage_charge(usage=usage).entry is None
    assert not CreditLedgerEntry.objects.filter(kind="spend").exists()
