"""Request and response shapes of the health and system routes."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictBooleanField(serializers.BooleanField):
    """Only JSON ``true``/``false``: a setting switched by ``"no"`` or ``0`` is a client bug to report."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictSerializer(serializers.Serializer):
    """Rejects keys it does not declare instead of silently dropping them."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(self.initial_data) - set(self.fields)) if isinstance(self.initial_data, dict) else []
        if unknown:
            raise serializers.ValidationError({key: ["Unknown setting."] for key in unknown})
        return attrs


class AdminHealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    timestamp = serializers.DateTimeField()
    version = serializers.CharField()
    service = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    timestamp = serializers.DateTimeField()
    service = serializers.CharField()
    instance_id = serializers.CharField()
    version = serializers.CharField()


class CheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "down"])
    critical = serializers.BooleanField()
    latency_ms = serializers.FloatField()
    detail = serializers.CharField()


class DeepHealthSerializer(HealthSerializer):
    status = serializers.ChoiceField(choices=["healthy", "degraded", "unhealthy"])
    checks = serializers.DictField(child=CheckSerializer())


class ProviderSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()


class SystemInfoSerializer(serializers.Serializer):
    app_name = serializers.CharField()
    version = serializers.CharField()
    allow_registration = serializers.BooleanField()
    registration_invite_only = serializers.BooleanField()
    local_login_enabled = serializers.BooleanField()
    captcha_enabled = serializers.BooleanField()
    upstream_providers = ProviderSerializer(many=True)


class SystemSettingsUpdateSerializer(StrictSerializer):
    allow_registration = StrictBooleanField(required=False)
    registration_invite_only = StrictBooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if not attrs:
            raise serializers.ValidationError("Give at least one setting to change.")
        return attrs


def sage_envelope(name: str, data: serializers.Field) -> serializers.Serializer:
    """The schema of a Sage ``BaseResponse`` around ``data`` (the view adds the envelope itself)."""
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(
        name,
        {
            "code": serializers.IntegerField(),
            "message": serializers.CharField(),
            "data": data,
            "timestamp": serializers.FloatField(),
        },
    )
