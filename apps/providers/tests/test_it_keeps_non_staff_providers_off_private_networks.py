"""Non-staff LLM providers follow the URL fetcher's outbound policy; staff may allow private hosts."""
from __future__ import annotations

import pytest

from apps.core import fetch
from apps.providers.models import LLMProvider
from apps.providers.testing import Reply

pytestmark = pytest.mark.django_db

ROUTES = ["/api/llm-provider/verify", "/api/llm-provider/verify-multimodal", "/api/llm-provider/create"]


def body(base_url: str, **extra) -> dict:
    return {"name": "Mine", "base_url": base_url, "api_keys": ["sk-test-123456"], "model": "m", **extra}


@pytest.fixture
def private_dns(monkeypatch):
    """internal.example resolves to a private address, public.example to a public one."""
    real = fetch.resolve

    async def resolve(host: str, port: int) -> list[str]:
        if host == "internal.example":
            return ["10.1.2.3"]
        if host == "public.example":
            return ["93.184.216.34"]
        return await real(host, port)

    monkeypatch.setattr(fetch, "resolve", resolve)


@pytest.fixture
def loopback_is_private(settings, fake_llm):
    settings.FETCH_ALLOW_LOOPBACK = False
    return fake_llm


def _decimal(fake_llm) -> str:
    return f"http://2130706433:{fake_llm.port}/v1"


def _octal(fake_llm) -> str:
    return f"http://0177.0.0.1:{fake_llm.port}/v1"


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("url", [_decimal, _octal, lambda server: f"http://localhost:{server.port}/v1",
                                 lambda server: "http://internal.example/v1"])
def test_it_refuses_addresses_that_are_not_public(alice_client, loopback_is_private, private_dns, route, url):
    response = alice_client.post(route, body(url(loopback_is_private)), format="json")
    assert response.status_code == 400, response.content
    assert "public" in response.json()["message"]
    assert loopback_is_private.requests == []
    assert not LLMProvider.objects.exists()


def test_a_query_cannot_pick_the_path(alice_client, fake_llm):
    response = alice_client.post("/api/llm-provider/verify", body(f"{fake_llm.base_url}/admin?"), format="json")
    assert response.status_code == 400
    assert fake_llm.requests == []


def test_a_saved_provider_whose_host_turned_private_is_refused_at_call_time(alice, alice_client, private_dns, fake_llm):
    from asgiref.sync import async_to_sync

    from apps.providers.client import OpenAICompatibleModel
    from apps.providers.llm import ProviderError
    from apps.providers.selectors import model_config_from_provider

    response = alice_client.post("/api/llm-provider/create", body("http://public.example/v1"), format="json")
    assert response.status_code == 200
    provider = LLMProvider.objects.get()
    provider.base_url = "http://internal.example/v1"  # as a DNS change would do
    provider.save()
    model = OpenAICompatibleModel(model_config_from_provider(provider))
    with pytest.raises(ProviderError, match="public"):
        async_to_sync(model.complete)([{"role": "user", "content": "hi"}])


def test_non_staff_cannot_allow_private_networks(alice_client, fake_llm):
    response = alice_client.post("/api/llm-provider/create", body(fake_llm.base_url, allow_private_network=True),
                                 format="json")
    assert response.status_code == 400
    assert "allow_private_network" in str(response.json())


@pytest.mark.parametrize("route", ROUTES)
def test_staff_may_allow_a_private_host_explicitly(admin_client, loopback_is_private, route):
    loopback_is_private.script(Reply(text="ok"))
    refused = admin_client.post(route, body(loopback_is_private.base_url), format="json")
    assert refused.status_code == 400
    allowed = admin_client.post(route, body(loopback_is_private.base_url, allow_private_network=True), format="json")
    assert allowed.status_code == 200, allowed.content


def test_staff_update_can_allow_and_non_staff_update_cannot(alice, alice_client, admin_user, admin_client, fake_llm):
    own = LLMProvider.objects.create(owner=alice, name="a", base_url=fake_llm.base_url, model="m", api_key="k")
    response = alice_client.put(f"/api/llm-provider/update/{own.pk}", {"allow_private_network": True}, format="json")
    assert response.status_code == 400
    staff = LLMProvider.objects.create(owner=admin_user, name="b", base_url=fake_llm.base_url, model="m", api_key="k")
    response = admin_client.put(f"/api/llm-provider/update/{staff.pk}", {"allow_private_network": True}, format="json")
    assert response.status_code == 200
    staff.refresh_from_db()
    assert staff.allow_private_network is True


def test_upstream_error_bodies_are_summarised_not_echoed(alice_client, fake_llm):
    fake_llm.script(Reply(status=500, error_message="root:x:0:0:root:/root:/bin/bash"),
                    Reply(status=418, error_message="internal secret page"))
    response = alice_client.post("/api/llm-provider/verify", body(fake_llm.base_url), format="json")
    assert response.status_code == 400
    assert "root:x" not in response.content.decode()
    assert "HTTP 500" in response.json()["message"]
    response = alice_client.post("/api/llm-provider/verify", body(fake_llm.base_url), format="json")
    assert "secret" not in response.content.decode()
