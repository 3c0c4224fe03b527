"""The admin never shows a provider's key, and usage is read-only."""
from __future__ import annotations

import pytest
from django.test import Client

from apps.providers.models import LLMProvider
from apps.providers.tests.factories import LLMProviderFactory, UsageRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_provider_pages_never_show_the_key(staff, alice):
    provider = LLMProviderFactory(owner=alice, api_key="sk-very-secret-value")
    for url in ("/admin/providers/llmprovider/", f"/admin/providers/llmprovider/{provider.pk}/change/"):
        response = staff.get(url)
        assert response.status_code == 200
        assert "sk-very-secret-value" not in response.content.decode()


def test_saving_without_a_key_keeps_the_key(staff, alice):
    provider = LLMProviderFactory(owner=alice, api_key="sk-keep-me-1234")
    response = staff.post(f"/admin/providers/llmprovider/{provider.pk}/change/", {
        "owner": str(alice.pk), "name": "Renamed", "base_url": provider.base_url, "api_key": "",
        "model": provider.model,
    })
    assert response.status_code == 302
    provider = LLMProvider.objects.get(pk=provider.pk)
    assert (provider.name, provider.api_key) == ("Renamed", "sk-keep-me-1234")


def test_usage_records_are_read_only(staff, alice):
    record = UsageRecordFactory(user=alice)
    assert staff.get("/admin/providers/usagerecord/").status_code == 200
    assert staff.get("/admin/providers/usagerecord/add/").status_code == 403
    response = staff.post(f"/admin/providers/usagerecord/{record.pk}/change/", {"input_tokens": 0})
    assert response.status_code == 403

