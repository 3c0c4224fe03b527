"""The OpenRouter model catalog: fetched from OPENROUTER_BASE_URL/models, kept in the cache (Redis),
and used to fill :class:`ModelPrice` for the models staff have not priced themselves."""
from __future__ import annotations

import time
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from apps.billing.models import ModelPrice
from apps.core.errors import BadGateway

CACHE_KEY = "billing:openrouter:models"
MILLION = Decimal(1_000_000)


def _per_million(value: Any) -> Decimal:
    """OpenRouter prices one token in dollars, as a string; we keep credits per million tokens."""
    try:
        price = Decimal(str(value)) * MILLION
    except (InvalidOperation, ValueError, TypeError):
        return Decimal(0)
    return price if price.is_finite() and price > 0 else Decimal(0)


def _fetch() -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {settings.OPENROUTER_API_KEY}"} if settings.OPENROUTER_API_KEY else {}
    url = settings.OPENROUTER_BASE_URL.rstrip("/") + "/models"
    try:
        response = httpx.get(url, headers=headers, timeout=settings.LLM_CONNECT_TIMEOUT + 20)
        response.raise_for_status()
        data = response.json().get("data")
    except (httpx.HTTPError, ValueError, AttributeError) as exc:
        raise BadGateway(f"The model catalog at {url} could not be read.") from exc
    if not isinstance(data, list):
        raise BadGateway(f"The model catalog at {url} is not a model list.")
    models = []
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        pricing = item.get("pricing") if isinstance(item.get("pricing"), dict) else {}
        models.append({
            "id": item["id"][:200],
            "name": str(item.get("name") or item["id"])[:200],
            "context_length": item.get("context_length"),
            "input_per_million": str(_per_million(pricing.get("prompt"))),
            "output_per_million": str(_per_million(pricing.get("completion"))),
            "cached_input_per_million": str(_per_million(pricing.get("input_cache_read"))),
        })
    return models


@transaction.atomic
def _prices_fill(models: list[dict[str, Any]]) -> int:
    """Create or refresh the catalog's prices; a price staff set by hand is never overwritten."""
    manual = set(ModelPrice.objects.filter(provider__isnull=True, source=ModelPrice.Source.MANUAL)
                 .values_list("model", flat=True))
    filled = 0
    for model in models:
        if model["id"] in manual:
            continue
        ModelPrice.objects.update_or_create(
            model=model["id"], provider=None,
            defaults={"source": ModelPrice.Source.OPENROUTER,
                      **{key: Decimal(model[key]) for key in
                         ("input_per_million", "output_per_million", "cached_input_per_million")}},
        )
        filled += 1
    return filled


def cache_warm() -> dict[str, Any]:
    """Fetch the catalog now, keep it for OPENROUTER_CACHE_SECONDS, and fill the prices from it."""
    models = _fetch()
    entry = {"fetched_at": time.time(), "models": models}
    cache.set(CACHE_KEY, entry, timeout=settings.OPENROUTER_CACHE_SECONDS)
    return {**cache_info(), "prices_filled": _prices_fill(models)}


def cache_info() -> dict[str, Any]:
    entry = cache.get(CACHE_KEY)
    if not entry:
        return {"cached": False, "models_count": 0, "fetched_at": None, "ttl_seconds": settings.OPENROUTER_CACHE_SECONDS,
                "base_url": settings.OPENROUTER_BASE_URL}
    return {"cached": True, "models_count": len(entry["models"]), "fetched_at": entry["fetched_at"],
            "ttl_seconds": settings.OPENROUTER_CACHE_SECONDS, "base_url": settings.OPENROUTER_BASE_URL,
            "models": entry["models"][:50]}


def cache_clear() -> dict[str, Any]:
    existed = cache.delete(CACHE_KEY)
    return {"cleared": bool(existed), **cache_info()}
