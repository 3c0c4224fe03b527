"""API keys: made, listed and revoked under /api/keys and in the admin; only their hash is kept."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiKey
from apps.accounts.services.api_keys import api_key_create

pytestmark = pytest.mark.django_db


def key_client(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_it_makes_a_key_whose_secret_is_shown_once_and_stored_hashed(alice, alice_client):
    response = alice_client.post("/api/keys", {"name": "ci bot"}, format="json")

    assert response.status_code == 201
    body = response.json()
    secret = body["key"]
    assert secret.startswith("ce-") and len(secret) > 40
    assert body["prefix"] == secret[:11] and body["name"] == "ci bot" and body["active"] is True
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.owner == alice and stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(ApiKey.objects.filter(pk=body["id"]).values().get())
    listed = alice_client.get("/api/keys").json()["keys"]
    assert [item["id"] for item in listed] == [body["id"]]
    assert "key" not in listed[0] and listed[0]["prefix"] == body["prefix"]


def test_it_lists_only_the_callers_keys_newest_first(alice, bob, alice_client):
    older, _ = api_key_create(owner=alice, name="one")
    newer, _ = api_key_create(owner=alice, name="two")
    api_key_create(owner=bob, name="bob's")

    names = [item["name"] for item in alice_client.get("/api/keys").json()["keys"]]

    assert names == ["two", "one"]


def test_a_key_signs_requests_and_records_its_last_use(alice):
    key, secret = api_key_create(owner=alice, name="script")
    assert key.last_used_at is None

    response = key_client(secret).get("/api/keys")

    assert response.status_code == 200
    assert response.json()["keys"][0]["id"] == str(key.pk)
    key.refresh_from_db()
    assert key.last_used_at is not None


def test_it_rejects_a_blank_name_and_a_past_expiry(alice_client):
    blank = alice_client.post("/api/keys", {"name": "  "}, format="json")
    missing = alice_client.post("/api/keys", {}, format="json")
    past = alice_client.post(
        "/api/keys", {"name": "old", "expires_at": (timezone.now() - timedelta(days=1)).isoformat()}, format="json"
    )

    assert blank.status_code == missing.status_code == past.status_code == 400
    assert "name" in blank.json()["errors"] and "name" in missing.json()["errors"]
    assert past.json() == {"detail": "The expiry must be in the future.", "errors": {"expires_at": ["Must be in the future."]}}
    assert not ApiKey.objects.exists()


def test_it_caps_the_active_keys_a_user_holds(alice, alice_client, monkeypatch):
    monkeypatch.setattr("apps.accounts.services.api_keys.MAX_ACTIVE_KEYS", 2)
    first, _ = api_key_create(owner=alice, name="one")
    api_key_create(owner=alice, name="two")

    refused = alice_client.post("/api/keys", {"name": "three"}, format="json")
    alice_client.delete(f"/api/keys/{first.pk}")
    allowed = alice_client.post("/api/keys", {"name": "three"}, format="json")

    assert refused.status_code == 400 and "at most 2" in refused.json()["detail"]
    assert allowed.status_code == 201


def test_every_route_needs_a_sign_in_or_a_key(anon, alice):
    key, _ = api_key_create(owner=alice, name="x")

    for response in (anon.get("/api/keys"), anon.post("/api/keys", {"name": "x"}, format="json"),
                     anon.delete(f"/api/keys/{key.pk}")):
        assert response.status_code == 401
        assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert key_client("ce-not-a-real-key").get("/api/keys").status_code == 401
    assert key_client("ce-not-a-real-key").get("/api/keys").json() == {"detail": "Invalid, expired or revoked API key."}


def test_it_revokes_a_key_at_once(alice, alice_client):
    key, secret = api_key_create(owner=alice, name="leaked")
    assert key_client(secret).get("/api/keys").status_code == 200

    response = alice_client.delete(f"/api/keys/{key.pk}")
    again = alice_client.delete(f"/api/keys/{key.pk}")

    assert response.status_code == 200
    assert response.json()["active"] is False and response.json()["revoked_at"]
    assert again.status_code == 200 and again.json()["revoked_at"] == response.json()["revoked_at"]
    assert key_client(secret).get("/api/keys").status_code == 401
    assert alice_client.get("/api/keys").json()["keys"][0]["active"] is False


def test_an_expired_key_is_refused(alice):
    key, secret = api_key_create(owner=alice, name="short", expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert key_client(secret).get("/api/keys").status_code == 401


def test_a_disabled_users_keys_stop_working(alice):
    _, secret = api_key_create(owner=alice, name="x")
    alice.is_active = False
    alice.save()

    assert key_client(secret).get("/api/keys").status_code == 401


def test_another_users_key_is_not_found(alice, bob_client):
    key, secret = api_key_create(owner=alice, name="alice's")

    assert bob_client.delete(f"/api/keys/{key.pk}").status_code == 404
    assert bob_client.delete("/api/keys/not-a-uuid").json() == {"detail": "API key not found."}
    key.refresh_from_db()
    assert key.revoked_at is None and key_client(secret).get("/api/keys").status_code == 200


def test_keys_do_not_sign_routes_that_need_a_sign_in(alice):
    _, secret = api_key_create(owner=alice, name="x")

    assert key_client(secret).get("/user/me").status_code == 401


# ------------------------------------------------------------------------------
# The admin
# ------------------------------------------------------------------------------
@pytest.fixture
def site(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_admin_makes_a_key_and_shows_its_secret_once(site, alice):
    response = site.post(reverse("admin:accounts_apikey_add"), {"owner": alice.pk, "name": "from admin"}, follow=True)

    assert response.status_code == 200
    key = ApiKey.objects.get(name="from admin")
    shown = [str(message) for message in response.context["messages"]]
    secret = next(text.split(": ")[-1] for text in shown if "shown only now" in text)
    assert key.owner == alice and key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert key_client(secret).get("/api/keys").status_code == 200


def test_the_admin_shows_the_hash_read_only_and_revokes(site, alice):
    key, secret = api_key_create(owner=alice, name="x")

    page = site.get(reverse("admin:accounts_apikey_change", args=[key.pk]))
    changelist = site.get(reverse("admin:accounts_apikey_changelist"), {"q": "x"})
    revoked = site.post(reverse("admin:accounts_apikey_changelist"),
                        {"action": "revoke", "_selected_action": [str(key.pk)]}, follow=True)

    assert page.status_code == 200 and key.key_hash in page.content.decode()
    assert 'name="key_hash"' not in page.content.decode()
    assert changelist.status_code == 200 and key.prefix in changelist.content.decode()
    assert revoked.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None and key_client(secret).get("/api/keys").status_code == 401
    assert site.get(reverse("admin:accounts_apikey_delete", args=[key.pk])).status_code == 403
