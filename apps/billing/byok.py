"""Bring your own key: a user's OpenRouter key becomes their default provider, metered but not charged."""
from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.billing.models import OpenRouterKey
from apps.core.errors import NotFound
from apps.providers.models import LLMProvider
from apps.providers.services import llm_provider_verify, single_api_key

PROVIDER_NAME = "OpenRouter (your key)"


@transaction.atomic
def openrouter_key_set(*, user: Any, api_key: str, model: str = "") -> OpenRouterKey:
    """Store (or replace) the user's key, encrypted, as their default provider at OPENROUTER_BASE_URL."""
    key = single_api_key([api_key])
    model = (model or "").strip() or settings.OPENROUTER_DEFAULT_MODEL
    existing = OpenRouterKey.objects.select_for_update().select_related("provider").filter(user=user).first()
    # Locks the user's providers: exactly one of them may be the default.
    list(LLMProvider.objects.select_for_update().filter(owner=user))
    LLMProvider.objects.filter(owner=user, is_default=True).update(is_default=False)
    if existing is not None:
        provider = existing.provider
        provider.api_key, provider.model, provider.base_url = key, model[:200], settings.OPENROUTER_BASE_URL
        provider.is_default = True
        provider.save()
        existing.last_tested_at = existing.last_test_ok = None
        existing.save(update_fields=["last_tested_at", "last_test_ok", "updated_at"])
        return existing
    provider = LLMProvider.objects.create(
        owner=user, name=PROVIDER_NAME, base_url=settings.OPENROUTER_BASE_URL, api_key=key, model=model[:200],
        is_default=True,
    )
    return OpenRouterKey.objects.create(user=user, provider=provider)


def _own_key(user: Any) -> OpenRouterKey:
    record = OpenRouterKey.objects.select_related("provider").filter(user=user).first()
    if record is None:
        raise NotFound("No OpenRouter key is stored.")
    return record


@transaction.atomic
def openrouter_key_delete(*, user: Any) -> None:
    """Forget the key and its provider; the usage it metered stays (its provider becomes empty)."""
    _own_key(user).provider.delete()


def openrouter_key_test(*, user: Any) -> dict[str, Any]:
    """Really call OPENROUTER_BASE_URL with the stored key (a tiny completion); 400 when it fails."""
    record = _own_key(user)
    provider = record.provider
    try:
        result = async_to_sync(llm_provider_verify)(
            user=user, base_url=provider.base_url, api_keys=[provider.api_key], model=provider.model,
            allow_private_network=provider.allow_private_network,
        )
    except Exception:
        OpenRouterKey.objects.filter(pk=record.pk).update(last_tested_at=timezone.now(), last_test_ok=False)
        raise
    OpenRouterKey.objects.filter(pk=record.pk).update(last_tested_at=timezone.now(), last_test_ok=True)
    return {"success": True, "model": result["model"], "base_url": provider.base_url}
