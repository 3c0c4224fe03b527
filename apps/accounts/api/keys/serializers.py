"""Shapes of ``/api/keys``: a key as listed (never its secret) and as made (its secret, once)."""
from __future__ import annotations

from rest_framework import serializers

from apps.accounts.models import ApiKey


class ApiKeyOutput(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "active"]

    def get_active(self, key: ApiKey) -> bool:
        return key.is_active()


class ApiKeyCreated(ApiKeyOutput):
    key = serializers.SerializerMethodField(help_text="The secret: shown only in this answer.")

    class Meta(ApiKeyOutput.Meta):
        fields = [*ApiKeyOutput.Meta.fields, "key"]

    def get_key(self, key: ApiKey) -> str:
        return self.context["secret"]


class ApiKeyList(serializers.Serializer):
    keys = ApiKeyOutput(many=True)


class ApiKeyInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
