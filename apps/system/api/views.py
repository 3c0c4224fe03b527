"""Health and platform information."""
from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.core.api.views import CodexApiView


class RootApi(CodexApiView):
    """000 ``GET /``: the service banner."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        responses=inline_serializer(
            "RootResponse", {"status": serializers.CharField(), "app": serializers.CharField(), "version": serializers.CharField()}
        )
    )
    def get(self, request):
        return Response({"status": "ok", "app": settings.APP_NAME, "version": settings.APP_VERSION})
