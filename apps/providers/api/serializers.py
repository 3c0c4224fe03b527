"""Request and response shapes of the provider routes (002 LLMProviderCreate/Update, 004 models)."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from rest_framework import serializers

from apps.providers.models import LLMProvider

METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def _http_url(value: str) -> str:
    """An http(s) URL. Local model servers (Ollama on localhost, vLLM on the LAN) are fine;
    cloud metadata and other link-local addresses never are."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise serializers.ValidationError("Must be an http:// or https:// URL.")
    # "/chat/completions" is appended to the base URL: a query or fragment would swallow it
    # and let the URL pick any path on the host.
    if parts.query or parts.fragment or "?" in value or "#" in value or parts.username or parts.password:
        raise serializers.ValidationError("The base URL takes no query, fragment or credentials.")
    host = parts.hostname.rstrip(".").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if host in METADATA_HOSTS or (
        address is not None and (address.is_link_local or address.is_multicast or address.is_unspecified)
    ):
        raise serializers.ValidationError("This address cannot be an LLM provider.")
    return value.strip()


class LLMProviderCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    base_url = serializers.CharField(max_length=500, validators=[_http_url])
    # Checked by the service: exactly one non-empty single-line key.
    api_keys = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False))
    model = serializers.CharField(max_length=200)
    max_tokens = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    temperature = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=2)
    top_p = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=1)
    presence_penalty = serializers.FloatField(required=False, allow_null=True, min_value=-2, max_value=2)
    max_model_len = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    supports_multimodal = serializers.BooleanField(required=False, default=False)
    is_default = serializers.BooleanField(required=False, default=False)
    # Staff only: let this provider reach private and loopback addresses (a LAN Ollama, vLLM).
    allow_private_network = serializers.BooleanField(required=False, default=False)


class LLMProviderUpdateSerializer(LLMProviderCreateSerializer):
    """Every field optional; ``api_keys`` given replaces the key."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, partial=True, **kwargs)


class LLMProviderSerializer(serializers.ModelSerializer):
    provider_id = serializers.UUIDField(source="pk", read_only=True)
    api_key_hint = serializers.CharField(read_only=True)
    is_system = serializers.SerializerMethodField()

    class Meta:
        model = LLMProvider
        fields = [
            "id", "provider_id", "name", "base_url", "model", "api_key_hint", "max_tokens", "temperature", "top_p",
            "presence_penalty", "max_model_len", "supports_multimodal", "is_default", "is_system",
            "created_at", "updated_at",
        ]

    def get_is_system(self, provider: LLMProvider) -> bool:
        return provider.owner_id is None


class VerifyResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    model = serializers.CharField()
    multimodal = serializers.BooleanField()
    reply = serializers.CharField(allow_blank=True)


class DeleteResultSerializer(serializers.Serializer):
    provider_id = serializers.UUIDField()
    success = serializers.BooleanField()


class AvailableModelSerializer(serializers.Serializer):
    id = serializers.CharField()
    model = serializers.CharField()
    name = serializers.CharField()
    provider_id = serializers.CharField(allow_null=True)
    supports_multimodal = serializers.BooleanField()
    is_default = serializers.BooleanField()
    max_model_len = serializers.IntegerField(allow_null=True)


class AvailableModelsSerializer(serializers.Serializer):
    models = AvailableModelSerializer(many=True)

