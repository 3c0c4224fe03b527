"""004's /api/billing/admin/*: the X-API-Key, quota reset and status, and the OpenRouter model cache."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache

from apps.billing import openrouter, services
from apps.billing.models import CreditAccount, ModelPrice
from apps.billing.tests.factories import ModelPriceFactory, PlanFactory

pytestmark = pytest.mark.django_db
KEY = "admin-key-123"
ADMIN_ROUTES = [
    ("post", "/api/billing/admin/reset-quotas"), ("get", "/api/billing/admin/quota-status"),
    ("get", "/api/billing/admin/openrouter-cache/info"), ("post", "/api/billing/admin/openrouter-cache/warm"),
    ("post", "/api/billing/admin/openrouter-cache/clear"),
]


@pytest.fixture(autouse=True)
def admin_key(settings):
    settings.BILLING_ADMIN_API_KEY = KEY
    cache.delete(openrouter.CACHE_KEY)
    yield
    cache.delete(openrouter.CACHE_KEY)


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_refuse_a_missing_or_wrong_key(anon, alice_client, method, path):
    assert getattr(anon, method)(path).status_code == 401
    assert getattr(anon, method)(path, HTTP_X_API_KEY="wrong").status_code == 403
    assert getattr(alice_client, method)(path).status_code == 401  # a user's token is not the key


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_answer_503_when_no_key_is_configured(anon, settings, method, path):
    settings.BILLING_ADMIN_API_KEY = ""
    response = getattr(anon, method)(path, HTTP_X_API_KEY="anything")
    assert response.status_code == 503 and "BILLING_ADMIN_API_KEY" in response.json()["detail"]


def test_reset_quotas_sets_credits_to_the_plan_quota(anon, alice, bob):
    plan = PlanFactory(monthly_credits=Decimal("10"))
    services.subscription_assign(user=alice, plan=plan)
    services.subscription_assign(user=bob, plan=plan)
    services.credits_add(user=alice, amount=Decimal("-7"), kind="adjust")
    response = anon.post("/api/billing/admin/reset-quotas", {"user_ids": [str(alice.pk)]}, format="json",
                         HTTP_X_API_KEY=KEY)
    assert response.status_code == 200 and response.json()["reset"] == 1
    assert CreditAccount.objects.get(user=alice).credits == 10
    everyone = anon.post("/api/billing/admin/reset-quotas", {}, format="json", HTTP_X_API_KEY=KEY)
    assert everyone.json()["reset"] == 2


def test_reset_quotas_validates_user_ids(anon):
    response = anon.post("/api/billing/admin/reset-quotas", {"user_ids": ["x"]}, format="json", HTTP_X_API_KEY=KEY)
    assert response.status_code == 400


def test_quota_status_lists_plan_quota_and_spend(anon, alice):
    services.subscription_assign(user=alice, plan=PlanFactory(slug="pro", monthly_credits=Decimal("10")))
    body = anon.get("/api/billing/admin/quota-status", HTTP_X_API_KEY=KEY).json()
    assert body["total"] == 1
    row = body["users"][0]
    assert (row["user_id"], row["plan"], row["quota"], row["credits"]) == (str(alice.pk), "pro", 10, 10)
    assert anon.get("/api/billing/admin/quota-status?user_id=bad", HTTP_X_API_KEY=KEY).status_code == 400


def test_the_model_cache_is_warmed_from_the_catalog_and_fills_prices(anon, settings, fake_llm):
    settings.OPENROUTER_BASE_URL = fake_llm.base_url
    fake_llm.models = [
        {"id": "vendor/small", "name": "Small", "pricing": {"prompt": "0.000001", "completion": "0.000002",
                                                            "input_cache_read": "0.0000001"}},
        {"id": "vendor/kept", "pricing": {"prompt": "0.5", "completion": "0.5"}},
    ]
    ModelPriceFactory(model="vendor/kept", input_per_million=Decimal("7"))  # staff's price stays
    assert anon.get("/api/billing/admin/openrouter-cache/info", HTTP_X_API_KEY=KEY).json()["cached"] is False
    warm = anon.post("/api/billing/admin/openrouter-cache/warm", HTTP_X_API_KEY=KEY).json()
    assert (warm["cached"], warm["models_count"], warm["prices_filled"]) == (True, 2, 1)
    small = ModelPrice.objects.get(model="vendor/small")
    assert (small.input_per_million, small.output_per_million, small.cached_input_per_million) == (
        Decimal("1"), Decimal("2"), Decimal("0.1"))
    assert ModelPrice.objects.get(model="vendor/kept").input_per_million == 7
    info = anon.get("/api/billing/admin/openrouter-cache/info", HTTP_X_API_KEY=KEY).json()
    assert info["cached"] is True and info["models"][0]["id"] == "vendor/small"
    cleared = anon.post("/api/billing/admin/openrouter-cache/clear", HTTP_X_API_KEY=KEY).json()
    assert cleared["cleared"] is True and cleared["cached"] is False


def test_warming_from_a_catalog_that_refuses_us_is_a_502(anon, settings, fake_llm):
    settings.OPENROUTER_BASE_URL = fake_llm.base_url
    fake_llm.api_key = "a-key-we-do-not-have"
    response = anon.post("/api/billing/admin/openrouter-cache/warm", HTTP_X_API_KEY=KEY)
    assert response.status_code == 502
