"""Reads of providers, scoped to who asks, and the choice of model for a call."""
from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet, Sum

from apps.core.errors import NotFound
from apps.core.reads import shared
from apps.providers.client import OpenAICompatibleModel
from apps.providers.llm import ChatModel, ModelConfig
from apps.providers.models import LLMProvider, UsageRecord
from apps.providers.offline import OFFLINE_MODEL_NAME, OfflineModel


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def provider_list(*, user: Any) -> QuerySet[LLMProvider]:
    """The user's own providers and the system-wide ones."""
    return LLMProvider.objects.filter(Q(owner=user) | Q(owner__isnull=True))


def provider_get(*, user: Any, provider_id: Any) -> LLMProvider:
    """A provider the user may use; anyone else's is 404."""
    pk = _uuid(provider_id)
    provider = provider_list(user=user).filter(pk=pk).first() if pk else None
    if provider is None:
        raise NotFound("Provider not found.")
    return provider


def provider_get_owned(*, user: Any, provider_id: Any) -> LLMProvider:
    """A provider the user may change: only their own (system-wide ones live in the admin)."""
    pk = _uuid(provider_id)
    provider = LLMProvider.objects.filter(owner=user, pk=pk).first() if pk else None
    if provider is None:
        raise NotFound("Provider not found.")
    return provider


def model_config_from_provider(provider: LLMProvider, *, model: str | None = None) -> ModelConfig:
    return ModelConfig(
        base_url=provider.base_url,
        api_key=provider.api_key,
        model=model or provider.model,
        provider_id=provider.pk,
        max_tokens=provider.max_tokens,
        temperature=provider.temperature,
        top_p=provider.top_p,
        presence_penalty=provider.presence_penalty,
        supports_multimodal=provider.supports_multimodal,
        allow_private_network=provider.allow_private_network,
    )


def environment_model_config() -> ModelConfig | None:
    if not (settings.LLM_BASE_URL and settings.LLM_MODEL):
        return None
    # The operator's own endpoint: a private address is the usual case.
    return ModelConfig(base_url=settings.LLM_BASE_URL, api_key=settings.LLM_API_KEY, model=settings.LLM_MODEL,
                       allow_private_network=True)


def default_provider(*, user: Any) -> LLMProvider | None:
    """The user's default, else the system-wide default, else the user's only provider."""
    # One query (every run asks, and runs prepared together share it): the user's providers and
    # the system defaults, defaults first.
    candidates = shared(("default-provider", getattr(user, "pk", None)), lambda: list(
        LLMProvider.objects.filter(Q(owner=user) | Q(owner__isnull=True, is_default=True)).order_by(
            "-is_default", "created_at", "pk"
        )[:3]
    ))
    own = [provider for provider in candidates if provider.owner_id is not None]
    for provider in candidates:
        if provider.is_default and provider.owner_id is not None:
            return provider
    for provider in candidates:
        if provider.is_default:
            return provider
    return own[0] if len(own) == 1 else None


def model_config_for(
    *, user: Any, provider_id: Any = None, agent_provider: LLMProvider | None = None, model: str | None = None
) -> ModelConfig | None:
    """The model a call should use: the one asked for, the agent's, the user's default, the
    environment's; ``None`` means the built-in offline model."""
    if provider_id:
        return model_config_from_provider(provider_get(user=user, provider_id=provider_id), model=model)
    if agent_provider is not None:
        return model_config_from_provider(agent_provider, model=model)
    provider = default_provider(user=user)
    if provider is not None:
        return model_config_from_provider(provider, model=model)
    config = environment_model_config()
    if config is not None and model:
        return dataclasses.replace(config, model=model)
    return config


def chat_model(config: ModelConfig | None) -> ChatModel:
    return OpenAICompatibleModel(config) if config is not None else OfflineModel()


def available_models(*, user: Any) -> list[dict[str, Any]]:
    """Every model the user can pick: their providers', the environment's, and the offline model."""
    models = [
        {
            "id": str(provider.pk),
            "model": provider.model,
            "name": provider.name,
            "provider_id": str(provider.pk),
            "supports_multimodal": provider.supports_multimodal,
            "is_default": provider.is_default,
            "max_model_len": provider.max_model_len,
        }
        for provider in provider_list(user=user)
    ]
    env_config = environment_model_config()
    if env_config is not None:
        models.append(
            {"id": "environment", "model": env_config.model, "name": env_config.model, "provider_id": None,
             "supports_multimodal": False, "is_default": not models, "max_model_len": None}
        )
    models.append(
        {"id": OFFLINE_MODEL_NAME, "model": OFFLINE_MODEL_NAME, "name": "Built-in offline model", "provider_id": None,
         "supports_multimodal": False, "is_default": not models, "max_model_len": None}
    )
    return models


def usage_summary(*, user: Any, session_id: str) -> dict[str, Any]:
    """A session's token usage (002): totals, model calls, models, endpoints, first and last call."""
    records = UsageRecord.objects.filter(user=user, session_id=session_id)
    totals = records.aggregate(
        input_tokens=Sum("input_tokens", default=0),
        output_tokens=Sum("output_tokens", default=0),
        cached_tokens=Sum("cached_tokens", default=0),
        reasoning_tokens=Sum("reasoning_tokens", default=0),
        step_count=Count("id"),
        started_at=Min("created_at"),
        ended_at=Max("created_at"),
    )
    return {
        **totals,
        "total_tokens": totals["input_tokens"] + totals["output_tokens"],
        "models": sorted(set(records.values_list("model", flat=True))),
        "endpoints": sorted(set(records.exclude(endpoint="").values_list("endpoint", flat=True))),
    }
