"""Writes to providers, provider verification, and the usage record of every model call."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from asgiref.sync import async_to_sync
from django.db import transaction

from apps.core.errors import Conflict, Invalid
from apps.core.fetch import FetchRefused, HostUnresolved, checked_address
from apps.providers.client import OpenAICompatibleModel
from apps.providers.llm import ModelConfig, ProviderError, Usage
from apps.providers.models import LLMProvider, UsageRecord

# A 1x1 PNG: enough for a multimodal model to prove it accepts images.
PIXEL_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PROVIDER_FIELDS = (
    "name", "base_url", "model", "max_tokens", "temperature", "top_p", "presence_penalty",
    "max_model_len", "supports_multimodal",
)


def single_api_key(api_keys: Any) -> str:
    """Exactly one non-empty single-line key, or a 400."""
    if not isinstance(api_keys, list) or len(api_keys) != 1 or not isinstance(api_keys[0], str):
        raise Invalid("api_keys must contain exactly one key.", field_errors={"api_keys": ["Exactly one key."]})
    key = api_keys[0].strip()
    if not key or "\n" in key or "\r" in key:
        raise Invalid(
            "The API key must be a non-empty single line.", field_errors={"api_keys": ["Non-empty, single line."]}
        )
    return key


def provider_network_access(*, user: Any, allow_private_network: bool | None) -> bool:
    """Whether calls may reach private addresses: only staff may say so, and only explicitly."""
    if allow_private_network and not getattr(user, "is_staff", False):
        raise Invalid(
            "Only staff can let a provider reach private addresses.",
            field_errors={"allow_private_network": ["Staff only."]},
        )
    return bool(allow_private_network)


async def provider_address_check(*, base_url: str, allow_private_network: bool) -> None:
    """Refuse a base URL whose host resolves to a non-public address, unless private ones are allowed."""
    if allow_private_network:
        return
    try:
        await checked_address(base_url)
    except HostUnresolved:
        return  # a host that is down now may be saved; every call checks its addresses again
    except FetchRefused as exc:
        raise Invalid(
            "The base URL must resolve to public addresses only (an administrator can allow a private one).",
            field_errors={"base_url": ["Not a public address."]},
        ) from exc


def _clear_other_defaults(provider: LLMProvider) -> None:
    LLMProvider.objects.filter(owner=provider.owner, is_default=True).exclude(pk=provider.pk).update(is_default=False)


@transaction.atomic
def llm_provider_create(
    *, owner: Any, api_keys: Any, is_default: bool = False, allow_private_network: bool = False, **fields: Any
) -> LLMProvider:
    """A new provider, never the default (002: "the create path stores non-default").

    A pasted example body says ``"is_default": true``; honouring it would make an untested
    URL every chat's provider. The default is chosen with update, once the provider works.
    """
    private = provider_network_access(user=owner, allow_private_network=allow_private_network)
    if "base_url" in fields:
        async_to_sync(provider_address_check)(base_url=fields["base_url"], allow_private_network=private)
    provider = LLMProvider(owner=owner, api_key=single_api_key(api_keys), is_default=False, allow_private_network=private)
    for name in PROVIDER_FIELDS:
        if name in fields:
            setattr(provider, name, fields[name])
    provider.full_clean()
    provider.save()
    return provider


@transaction.atomic
def llm_provider_update(
    *,
    provider: LLMProvider,
    user: Any,
    api_keys: Any = None,
    is_default: bool | None = None,
    allow_private_network: bool | None = None,
    **fields: Any,
) -> LLMProvider:
    provider = LLMProvider.objects.select_for_update().get(pk=provider.pk)
    if allow_private_network is not None:
        provider.allow_private_network = provider_network_access(user=user, allow_private_network=allow_private_network)
    if "base_url" in fields or allow_private_network is not None:
        async_to_sync(provider_address_check)(
            base_url=fields.get("base_url", provider.base_url), allow_private_network=provider.allow_private_network
        )
    if api_keys is not None:
        provider.api_key = single_api_key(api_keys)
    for name in PROVIDER_FIELDS:
        if name in fields:
            setattr(provider, name, fields[name])
    if is_default is not None:
        if is_default:
            list(LLMProvider.objects.select_for_update().filter(owner=provider.owner))
            _clear_other_defaults(provider)
        provider.is_default = is_default
    provider.full_clean()
    provider.save()
    return provider


@transaction.atomic
def llm_provider_delete(*, provider: LLMProvider) -> None:
    if provider.is_default:
        raise Conflict("Cannot delete the default provider; make another provider the default first.")
    provider.delete()


async def llm_provider_verify(
    *,
    user: Any,
    base_url: str,
    api_keys: Any,
    model: str,
    multimodal: bool = False,
    allow_private_network: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """Really call the endpoint: a tiny completion, with an image when ``multimodal``.

    The client applies the outbound policy at call time too (addresses resolved, checked and
    pinned), so a DNS answer that changes after this check cannot reach a private host."""
    config = ModelConfig(
        allow_private_network=provider_network_access(user=user, allow_private_network=allow_private_network),
        base_url=base_url,
        api_key=single_api_key(api_keys),
        model=model,
        temperature=fields.get("temperature"),
        top_p=fields.get("top_p"),
        presence_penalty=fields.get("presence_penalty"),
    )
    if multimodal:
        content: Any = [
            {"type": "text", "text": "What colour is this pixel? Answer in one word."},
            {"type": "image_url", "image_url": {"url": PIXEL_PNG}},
        ]
    else:
        content = "Reply with the word: ok"
    try:
        reply = await OpenAICompatibleModel(config).complete([{"role": "user", "content": content}], max_tokens=8)
    except ProviderError as exc:
        raise Invalid(f"Verification failed: {exc.message}", code="provider_unreachable") from exc
    return {"success": True, "model": config.model, "multimodal": multimodal, "reply": reply[:200]}


def _run_uuid(run_id: str | None) -> UUID | None:
    try:
        return UUID(str(run_id)) if run_id else None
    except ValueError:
        return None


async def usage_record_add(
    *,
    user: Any,
    provider_id: UUID | None,
    model: str,
    usage: Usage,
    run_id: str | None = None,
    session_id: str | None = None,
    endpoint: str = "",
) -> UsageRecord:
    """One row per model call, written once the call ends (never per token)."""
    fields = {
        "user": user,
        "user_label": f"{user.pk}:{user.username}"[:300],
        "model": model[:200],
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cached_tokens": usage.cached_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "run_id": _run_uuid(run_id),
        "session_id": (session_id or "")[:200],
        "endpoint": endpoint[:200],
    }
    if provider_id is not None:
        provider_name = await LLMProvider.objects.filter(pk=provider_id).values_list("name", flat=True).afirst()
        if provider_name is None:
            provider_id = None  # deleted mid-run: the tokens were still spent
        fields["provider_label"] = (provider_name or "")[:300]
    return await UsageRecord.objects.acreate(provider_id=provider_id, **fields)
