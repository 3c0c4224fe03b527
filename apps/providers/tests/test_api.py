"""The provider routes: 002 /api/llm-provider/* and 004 /api/models/available."""
from __future__ import annotations

import pytest

from apps.providers.models import LLMProvider
from apps.providers.testing import Reply
from apps.providers.tests.factories import LLMProviderFactory

pytestmark = pytest.mark.django_db


def create_body(**overrides) -> dict:
    return {"name": "My LLM", "base_url": "https://llm.example.com/v1", "api_keys": ["sk-secret-123456"],
            "model": "gpt-4o", "temperature": 0.5, "is_default": True, **overrides}


def test_it_creates_a_provider_without_returning_the_key(alice, alice_client):
    response = alice_client.post("/api/llm-provider/create", create_body(), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == 200
    data = body["data"]
    assert data["name"] == "My LLM" and data["is_default"] is False
    assert "sk-secret-123456" not in response.content.decode()
    assert data["api_key_hint"] == "sk-…3456"
    provider = LLMProvider.objects.get(pk=data["id"])
    assert provider.owner == alice and provider.api_key == "sk-secret-123456"


def test_it_stores_the_key_encrypted(alice_client):
    from django.db import connection

    alice_client.post("/api/llm-provider/create", create_body(), format="json")
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key FROM providers_llmprovider")
        stored = cursor.fetchone()[0]
    assert "sk-secret" not in stored


@pytest.mark.parametrize("keys", [[], ["a", "b"], [""], ["   "], ["line\nbreak"], "sk-not-a-list"])
def test_it_refuses_anything_but_exactly_one_single_line_key(alice_client, keys):
    response = alice_client.post("/api/llm-provider/create", create_body(api_keys=keys), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert not LLMProvider.objects.exists()


def test_it_rejects_a_bad_url_and_out_of_range_values(alice_client):
    response = alice_client.post("/api/llm-provider/create", create_body(base_url="ftp://x", temperature=7),
                                 format="json")
    assert response.status_code == 400
    assert set(response.json()["data"]["errors"]) == {"base_url", "temperature"}


def test_create_stores_non_default_even_when_asked_and_keeps_the_current_default(alice, alice_client):
    first = LLMProviderFactory(owner=alice, is_default=True)
    response = alice_client.post("/api/llm-provider/create", create_body(is_default=True), format="json")
    assert response.json()["data"]["is_default"] is False
    first.refresh_from_db()
    assert first.is_default is True
    assert LLMProvider.objects.filter(owner=alice, is_default=True).get() == first


def test_a_users_first_provider_is_not_made_default_by_create(alice, alice_client):
    alice_client.post("/api/llm-provider/create", create_body(is_default=True), format="json")
    assert not LLMProvider.objects.filter(owner=alice, is_default=True).exists()


def test_it_lists_own_and_system_providers_only(alice, bob, alice_client):
    own = LLMProviderFactory(owner=alice)
    system = LLMProviderFactory(owner=None, name="Shared")
    LLMProviderFactory(owner=bob)
    response = alice_client.get("/api/llm-provider/list")
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["data"]}
    assert ids == {str(own.pk), str(system.pk)}
    assert all("api_key" not in item for item in response.json()["data"])


def test_it_updates_a_provider_and_replaces_the_key(alice, alice_client):
    provider = LLMProviderFactory(owner=alice)
    response = alice_client.put(f"/api/llm-provider/update/{provider.pk}",
                                {"model": "gpt-4.1", "api_keys": ["sk-new-key-9999"]}, format="json")
    assert response.status_code == 200
    provider.refresh_from_db()
    assert provider.model == "gpt-4.1" and provider.api_key == "sk-new-key-9999"


def test_it_refuses_two_keys_on_update(alice, alice_client):
    provider = LLMProviderFactory(owner=alice)
    response = alice_client.put(f"/api/llm-provider/update/{provider.pk}", {"api_keys": ["a", "b"]}, format="json")
    assert response.status_code == 400


def test_another_users_provider_is_not_found(alice, bob_client):
    provider = LLMProviderFactory(owner=alice)
    assert bob_client.put(f"/api/llm-provider/update/{provider.pk}", {"model": "x"}, format="json").status_code == 404
    assert bob_client.delete(f"/api/llm-provider/delete/{provider.pk}").status_code == 404
    assert bob_client.delete("/api/llm-provider/delete/not-a-uuid").json()["code"] == 404
    assert LLMProvider.objects.filter(pk=provider.pk).exists()


def test_it_deletes_a_provider(alice, alice_client):
    provider = LLMProviderFactory(owner=alice, is_default=False)
    response = alice_client.delete(f"/api/llm-provider/delete/{provider.pk}")
    assert response.status_code == 200
    assert response.json()["data"] == {"provider_id": str(provider.pk), "success": True}
    assert not LLMProvider.objects.filter(pk=provider.pk).exists()


def test_it_refuses_to_delete_the_default_provider(alice, alice_client):
    provider = LLMProviderFactory(owner=alice, is_default=True)
    response = alice_client.delete(f"/api/llm-provider/delete/{provider.pk}")
    assert response.status_code == 409
    assert "default provider" in response.json()["message"]
    assert LLMProvider.objects.filter(pk=provider.pk).exists()


def test_it_verifies_a_working_provider(alice_client, fake_llm):
    fake_llm.script(Reply(text="ok"))
    response = alice_client.post("/api/llm-provider/verify", create_body(base_url=fake_llm.base_url), format="json")
    assert response.status_code == 200
    assert response.json()["data"]["success"] is True
    assert fake_llm.chat_requests[-1]["messages"][0]["role"] == "user"
    assert fake_llm.headers[-1]["Authorization"] == "Bearer sk-secret-123456"


def test_it_verifies_multimodal_with_an_image(alice_client, fake_llm):
    response = alice_client.post("/api/llm-provider/verify-multimodal", create_body(base_url=fake_llm.base_url),
                                 format="json")
    assert response.status_code == 200
    parts = fake_llm.chat_requests[-1]["messages"][0]["content"]
    assert [part["type"] for part in parts] == ["text", "image_url"]


def test_it_reports_an_upstream_401_clearly(alice_client, fake_llm):
    fake_llm.script(Reply(status=401))
    response = alice_client.post("/api/llm-provider/verify", create_body(base_url=fake_llm.base_url), format="json")
    assert response.status_code == 400
    assert "rejected the API key" in response.json()["message"]


def test_it_reports_an_unreachable_provider(alice_client, settings):
    from apps.providers.testing import FakeLLMServer

    settings.FETCH_ALLOW_LOOPBACK = True

    closed = FakeLLMServer()
    closed.stop()
    response = alice_client.post("/api/llm-provider/verify", create_body(base_url=closed.base_url), format="json")
    assert response.status_code == 400
    assert "Could not connect" in response.json()["message"]


def test_it_validates_verify_input(alice_client):
    response = alice_client.post("/api/llm-provider/verify", {"name": "x"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == 400


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/llm-provider/verify"), ("post", "/api/llm-provider/verify-multimodal"),
     ("get", "/api/llm-provider/list"), ("post", "/api/llm-provider/create"),
     ("put", "/api/llm-provider/update/00000000-0000-0000-0000-000000000000"),
     ("delete", "/api/llm-provider/delete/00000000-0000-0000-0000-000000000000")],
)
def test_it_requires_sign_in(anon, method, path):
    response = getattr(anon, method)(path, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == 401


def test_available_models_lists_own_providers_and_the_offline_model(alice, bob, alice_client):
    LLMProviderFactory(owner=alice, model="gpt-4o")
    LLMProviderFactory(owner=bob, model="bobs-model")
    response = alice_client.get("/api/models/available")
    assert response.status_code == 200
    models = [item["model"] for item in response.json()["models"]]
    assert models == ["gpt-4o", "codex-offline"]


def test_available_models_requires_sign_in(anon):
    response = anon.get("/api/models/available")
    assert response.status_code == 401
    assert "detail" in response.json()


def test_a_partial_update_keeps_the_other_fields(alice, alice_client):
    provider = LLMProviderFactory(owner=alice, is_default=True, supports_multimodal=True, temperature=0.2)
    response = alice_client.put(f"/api/llm-provider/update/{provider.pk}", {"name": "New name"}, format="json")
    assert response.status_code == 200
    provider.refresh_from_db()
    assert (provider.name, provider.is_default, provider.supports_multimodal, provider.temperature) == (
        "New name", True, True, 0.2)


def test_an_update_can_move_the_default(alice, alice_client):
    first = LLMProviderFactory(owner=alice, is_default=True)
    second = LLMProviderFactory(owner=alice)
    alice_client.put(f"/api/llm-provider/update/{second.pk}", {"is_default": True}, format="json")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.is_default, second.is_default) == (False, True)
    assert alice_client.delete(f"/api/llm-provider/delete/{first.pk}").status_code == 200


@pytest.mark.parametrize("base_url", ["http://169.254.169.254/latest", "http://[fe80::1]/v1",
                                      "http://metadata.google.internal/v1", "http://0.0.0.0:80/v1",
                                      "http://[::ffff:169.254.169.254]/"])
def test_it_refuses_metadata_addresses_as_providers(alice_client, base_url):
    for path in ("/api/llm-provider/create", "/api/llm-provider/verify"):
        response = alice_client.post(path, create_body(base_url=base_url), format="json")
        assert response.status_code == 400
        assert "base_url" in response.json()["data"]["errors"]


def test_available_models_include_the_environment_default(alice_client, settings):
    settings.LLM_BASE_URL, settings.LLM_MODEL = "http://llm.internal/v1", "env-model"
    models = alice_client.get("/api/models/available").json()["models"]
    assert [(m["model"], m["is_default"]) for m in models] == [("env-model", True), ("codex-offline", False)]
