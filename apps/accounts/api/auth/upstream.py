"""Upstream OAuth/OIDC login through django-allauth: 002's ``/api/auth/upstream/*`` and 003's ``/api/v1/admin/oauth2/*``."""
from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from apps.accounts.api.auth import serializers as s
from apps.accounts.authentication import CsrfSessionAuthentication
from apps.accounts.services.upstream import upstream_callback, upstream_login_redirect
from apps.core.api.views import AdminApiView, SageApiView

REDIRECT = {302: OpenApiResponse(description="Redirect to the provider, or back to the site after a callback.")}


class _UpstreamLogin:
    # The session user must reach allauth intact (DRF replaces ``request._request.user`` with its own).
    authentication_classes = [CsrfSessionAuthentication]
    permission_classes = [AllowAny]

    def get(self, request: Request, provider_id: str | None = None) -> HttpResponse:
        params = s.UpstreamLoginParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        next_url = params.validated_data.get("next") or params.validated_data.get("redirect_uri") or None
        return upstream_login_redirect(request=request._request, provider_id=provider_id, next_url=next_url)


class _UpstreamCallback:
    authentication_classes = [CsrfSessionAuthentication]
    permission_classes = [AllowAny]

    def get(self, request: Request, provider_id: str) -> HttpResponse:
        return upstream_callback(request=request._request, provider_id=provider_id)


class UpstreamLoginApi(_UpstreamLogin, SageApiView):
    @extend_schema(tags=["002 auth"], parameters=[s.UpstreamLoginParams], responses=REDIRECT, auth=[])
    def get(self, request: Request, provider_id: str | None = None) -> HttpResponse:
        return super().get(request, provider_id)


class UpstreamCallbackApi(_UpstreamCallback, SageApiView):
    @extend_schema(tags=["002 auth"], responses=REDIRECT, auth=[])
    def get(self, request: Request, provider_id: str) -> HttpResponse:
        return super().get(request, provider_id)


class AdminOAuth2AuthorizeApi(_UpstreamLogin, AdminApiView):
    """``/api/v1/admin/oauth2/{github,google}/authorize``; the provider comes from the URL."""

    @extend_schema(tags=["003 oauth2"], parameters=[s.UpstreamLoginParams], responses=REDIRECT, auth=[])
    def get(self, request: Request, provider_id: str | None = None) -> HttpResponse:
        return super().get(request, provider_id)


class AdminOAuth2CallbackApi(_UpstreamCallback, AdminApiView):
    @extend_schema(tags=["003 oauth2"], responses=REDIRECT, auth=[])
    def get(self, request: Request, provider_id: str) -> HttpResponse:
        return super().get(request, provider_id)
