"""Request and response shapes of 002's tool routes."""
from __future__ import annotations

from rest_framework import serializers


class ToolQuerySerializer(serializers.Serializer):
    type = serializers.CharField(required=False, allow_blank=True, max_length=50)


class ToolSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    type = serializers.CharField()
    parameters = serializers.DictField()


class ToolListSerializer(serializers.Serializer):
    tools = ToolSerializer(many=True)


class ToolExecInputSerializer(serializers.Serializer):
    tool_name = serializers.CharField(max_length=200)
    tool_params = serializers.JSONField(required=False, default=dict)


class ToolExecOutputSerializer(serializers.Serializer):
    tool_name = serializers.CharField()
    result = serializers.CharField(allow_blank=True)
