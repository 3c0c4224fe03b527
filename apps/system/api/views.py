"""Health and platform information, for whichever API documents them."""
from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from apps.accounts import permissions_catalog as perms
from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.core import throttle
from apps.core.api.views import AdminApiView, CodexApiView, PlatformApiView, SageApiView
from apps.core.client_ip import client_ip
from apps.core.permissions import HasMenuPermission
from apps.system import selectors, services
from apps.system.api import serializers as s

SERVICE_NAME = "codexengine"


class RootApi(CodexApiView):
    """000 ``GET /``: the service banner."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        tags=["system"],
        responses=inline_serializer(
            "RootResponse", {"status": serializers.CharField(), "app": serializers.CharField(), "version": serializers.CharField()}
        ),
    )
    def get(self, request):
        return Response({"status": "ok", "app": settings.APP_NAME, "version": settings.APP_VERSION})


class AdminHealthApi(AdminApiView):
    """003 ``GET /health``: liveness for load balancers; touches nothing but the process."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["system"], responses=s.AdminHealthSerializer)
    def get(self, request):
        data = {"status": "healthy", "timestamp": timezone.now(), "version": settings.APP_VERSION, "service": SERVICE_NAME}
        return Response(s.AdminHealthSerializer(data).data)


def _health(status: str) -> dict:
    return {
        "status": status,
        "timestamp": timezone.now(),
        "service": SERVICE_NAME,
        "instance_id": settings.INSTANCE_ID,
        "version": settings.APP_VERSION,
    }


class HealthApi(PlatformApiView):
    """``GET /api/health`` of both 002 and 004 (one path, one view): not enveloped, as 004 says."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["system"], responses=s.HealthSerializer)
    def get(self, request):
        return Response(s.HealthSerializer(_health("ok")).data)


def _is_staff(request) -> bool:
    """Staff by Bearer token or session; a missing or bad token is simply anonymous on a public route."""
    user = getattr(request._request, "user", None)
    if not (user is not None and user.is_authenticated):
        try:
            authenticated = BearerAuthentication().authenticate(request)
        except AuthenticationFailed:
            authenticated = None
        user = authenticated[0] if authenticated else None
    return bool(user is not None and user.is_active and (user.is_staff or user.is_superuser))


class DeepHealthApi(PlatformApiView):
    """004 ``GET /api/health/deep``: every dependency checked; 503 when a critical one is down."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=["system"], responses={200: s.DeepHealthSerializer, 503: s.DeepHealthSerializer})
    def get(self, request):
        throttle.check("health-deep", client_ip(request) or "unknown", settings.HEALTH_DEEP_THROTTLE,
                       message="Too many health checks; results are cached for a few seconds anyway.")
        results = selectors.health_checks_cached()
        critical_down = any(r.critical and not r.ok for r in results)
        status = "unhealthy" if critical_down else ("degraded" if any(not r.ok for r in results) else "healthy")
        data = _health(status)
        # Component versions help an attacker more than a monitor: staff see them, others see states.
        staff = _is_staff(request)
        data["checks"] = {
            r.name: {"status": "ok" if r.ok else "down", "critical": r.critical, "latency_ms": r.latency_ms,
                     "detail": r.detail if staff or not r.ok else ""}
            for r in results
        }
        return Response(s.DeepHealthSerializer(data).data, status=503 if critical_down else 200)


class SystemInfoApi(SageApiView):
    """002 ``GET /api/system/info``: public configuration a front end reads before sign-in."""

    permission_classes = [AllowAny]
    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]

    @extend_schema(tags=["system"], responses=s.sage_envelope("SystemInfoResponse", s.SystemInfoSerializer()))
    def get(self, request):
        return Response(s.SystemInfoSerializer(selectors.system_info()).data)


class SystemSettingsUpdateApi(SageApiView):
    """002 ``POST /api/system/update_settings``: admins switch registration on and off."""

    permission_classes = [HasMenuPermission]
    required_permission = perms.SETTINGS_EDIT
    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]

    @extend_schema(
        tags=["system"],
        request=s.SystemSettingsUpdateSerializer,
        responses=s.sage_envelope("SystemSettingsUpdateResponse", serializers.DictField()),
    )
    def post(self, request):
        serializer = s.SystemSettingsUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.settings_update(changes=serializer.validated_data)
        return Response({})
