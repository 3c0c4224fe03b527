"""/api/send-welcome-email (once, to the caller only) and /api/feature-flags (only when enabled)."""
from __future__ import annotations

import pytest
from django.core import mail

from apps.billing import services
from apps.billing.tests.factories import FeatureFlagFactory

pytestmark = pytest.mark.django_db


def test_the_welcome_email_goes_to_the_caller_once(alice_client):
    first = alice_client.post("/api/send-welcome-email", {}, format="json")
    assert first.status_code == 200 and first.json()["sent"] is True
    assert [message.to for message in mail.outbox] == [["alice@example.com"]]
    again = alice_client.post("/api/send-welcome-email", {}, format="json")
    assert again.json()["sent"] is False and len(mail.outbox) == 1


def test_the_welcome_email_goes_to_nobody_else(alice_client, bob_client):
    response = alice_client.post("/api/send-welcome-email", {"email": "bob@example.com"}, format="json")
    assert response.status_code == 400 and not mail.outbox
    assert alice_client.post("/api/send-welcome-email", {"email": "nope"}, format="json").status_code == 400
    bob_client.post("/api/send-welcome-email", {}, format="json")
    assert [message.to for message in mail.outbox] == [["bob@example.com"]]


def test_feature_flags_are_404_unless_enabled(alice_client, settings):
    FeatureFlagFactory(name="beta")
    settings.FEATURE_FLAGS_ENABLED = False
    assert alice_client.get("/api/feature-flags").status_code == 404
    assert alice_client.get("/api/feature-flags/beta").status_code == 404


def test_feature_flags_target_everyone_staff_or_a_percentage(alice, admin_user, alice_client, client_for, settings):
    settings.FEATURE_FLAGS_ENABLED = True
    FeatureFlagFactory(name="all")
    FeatureFlagFactory(name="off", enabled=False)
    FeatureFlagFactory(name="staff", audience="staff")
    FeatureFlagFactory(name="half", audience="percentage", percentage=50)
    flags = alice_client.get("/api/feature-flags").json()["flags"]
    in_half = services.flag_bucket(flag_name="half", user_id=alice.pk) < 50
    assert flags == {"all": True, "off": False, "staff": False, "half": in_half}
    assert client_for(admin_user).get("/api/feature-flags/staff").json()["enabled"] is True
    detail = alice_client.get("/api/feature-flags/half").json()
    assert (detail["flag_name"], detail["enabled"]) == ("half", in_half)
    assert alice_client.get("/api/feature-flags/unknown").status_code == 404


def test_percentage_buckets_are_stable_and_spread():
    buckets = [services.flag_bucket(flag_name="f", user_id=n) for n in range(1000)]
    assert buckets == [services.flag_bucket(flag_name="f", user_id=n) for n in range(1000)]
    assert 400 < sum(1 for bucket in buckets if bucket < 50) < 600
