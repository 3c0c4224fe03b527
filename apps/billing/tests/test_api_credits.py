"""003's /api/v1/agent/credits/*: balance, usage per session, and the admin-only add."""
from __future__ import annotations

from decimal import Decimal

import pytest

from apps.billing import services
from apps.billing.models import CreditLedgerEntry
from apps.billing.tests.factories import ModelPriceFactory, UsageRecordFactory
from apps.conversations.tests.factories import ThreadFactory

pytestmark = pytest.mark.django_db


def test_balance_answers_the_documented_fields(alice, alice_client, fund):
    fund(alice, credits=3, bonus=2)
    body = alice_client.get("/api/v1/agent/credits/balance").json()
    assert set(body) == {"user_id", "credits", "bonus_credits", "total_credits", "updated_at"}
    assert (body["user_id"], body["credits"], body["bonus_credits"], body["total_credits"]) == (str(alice.pk), 3, 2, 5)


def test_balance_is_only_ever_the_callers(alice, bob_client, fund):
    fund(alice, credits=3)
    assert bob_client.get("/api/v1/agent/credits/balance").json()["total_credits"] == 0


def test_a_new_user_sees_the_welcome_grant(alice_client, settings):
    settings.BILLING_SIGNUP_CREDITS = "2.5"
    assert alice_client.get("/api/v1/agent/credits/balance").json()["bonus_credits"] == 2.5


def test_usage_lists_credits_per_session_with_titles(alice, bob, alice_client, bob_client, fund):
    fund(alice, credits=10)
    fund(bob, credits=10)
    ModelPriceFactory()
    ThreadFactory(owner=alice, id="s-1", title="Trip plan")
    for _ in range(2):
        services.usage_charge(usage=UsageRecordFactory(user=alice, session_id="s-1", input_tokens=1000))
    services.usage_charge(usage=UsageRecordFactory(user=bob, session_id="s-2", input_tokens=1000))
    body = alice_client.get("/api/v1/agent/credits/usage").json()
    assert body["total"] == 1
    assert body["sessions"][0]["session_id"] == "s-1"
    assert body["sessions"][0]["session_title"] == "Trip plan"
    assert body["sessions"][0]["credits"] == 2
    assert [s["session_id"] for s in bob_client.get("/api/v1/agent/credits/usage").json()["sessions"]] == ["s-2"]


def test_usage_pages(alice, alice_client, fund):
    fund(alice, credits=10)
    ModelPriceFactory()
    for index in range(3):
        services.usage_charge(usage=UsageRecordFactory(user=alice, session_id=f"s-{index}"))
    body = alice_client.get("/api/v1/agent/credits/usage?page=2&per_page=2").json()
    assert (body["total"], len(body["sessions"]), body["page"]) == (3, 1, 2)


@pytest.mark.parametrize("query", ["per_page=101", "per_page=0", "page=0", "page=x"])
def test_usage_validates_paging(alice_client, query):
    response = alice_client.get(f"/api/v1/agent/credits/usage?{query}")
    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}


def test_add_is_admin_only_and_writes_a_ledger_row(alice, admin_user, alice_client, client_for):
    body = {"user_id": alice.pk, "amount": "5", "reason": "support"}
    assert alice_client.post("/api/v1/agent/credits/add", body, format="json").status_code == 403
    response = client_for(admin_user).post("/api/v1/agent/credits/add", body, format="json")
    assert response.status_code == 201
    assert response.json()["total_credits"] == 5
    entry = CreditLedgerEntry.objects.get(user=alice)
    assert (entry.kind, entry.amount, entry.reason, entry.actor_id) == ("grant", Decimal("5"), "support", admin_user.pk)


def test_add_validates_its_input(alice, admin_user, client_for):
    admin = client_for(admin_user)
    assert admin.post("/api/v1/agent/credits/add", {"user_id": alice.pk}, format="json").status_code == 400
    zero = admin.post("/api/v1/agent/credits/add", {"user_id": alice.pk, "amount": "0"}, format="json")
    assert zero.status_code == 400 and zero.json()["code"] == "INVALID"
    missing = admin.post("/api/v1/agent/credits/add", {"user_id": "00000000-0000-0000-0000-000000000000", "amount": "1"}, format="json")
    assert missing.status_code == 404


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/v1/agent/credits/balance"), ("get", "/api/v1/agent/credits/usage"),
    ("post", "/api/v1/agent/credits/add"),
])
def test_credit_routes_need_a_token(anon, method, path):
    response = getattr(anon, method)(path)
    assert response.status_code == 401
    assert set(response.json()) >= {"detail", "code"}
