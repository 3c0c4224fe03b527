"""002's ``/api/system/version*`` (the desktop release feed) and ``/api/observability/jaeger*`` (the tracing gate)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import permissions_catalog as perms
from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.core.api.views import SageApiView, raw
from apps.core.permissions import HasMenuPermission
from apps.system import observability, versions
from apps.system.api.serializers import sage_envelope
from apps.system.models import AppVersion

TAGS = ["002 system"]
AUTHS = [BearerAuthentication, CsrfSessionAuthentication]


class VersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = AppVersion
        fields = ["version", "notes", "pub_date", "platforms", "source", "created_at"]


class CreateVersionRequest(serializers.Serializer):
    version = serializers.CharField(max_length=50)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    pub_date = serializers.DateTimeField(required=False, allow_null=True, default=None)
    platforms = serializers.JSONField(required=False, default=dict)


class ImportGithubRequest(serializers.Serializer):
    repo = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class CheckQuery(serializers.Serializer):
    current_version = serializers.CharField(max_length=50)
    target = serializers.RegexField(r"^[a-z0-9_]+$", max_length=30)
    arch = serializers.RegexField(r"^[a-z0-9_]+$", max_length=30)


class VersionListApi(SageApiView):
    """``GET`` lists versions, newest first (anyone); ``POST`` creates one (admins)."""

    authentication_classes = AUTHS

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [HasMenuPermission()]

    required_permission = perms.SETTINGS_EDIT

    @extend_schema(tags=TAGS, responses=sage_envelope("VersionList", VersionSerializer(many=True)))
    def get(self, request: Request) -> Response:
        return Response(VersionSerializer(versions.version_list(), many=True).data)

    @extend_schema(tags=TAGS, request=CreateVersionRequest, responses=sage_envelope("VersionRecord", VersionSerializer()))
    def post(self, request: Request) -> Response:
        serializer = CreateVersionRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        record = versions.version_create(**serializer.validated_data)
        return Response(VersionSerializer(record).data)


class VersionLatestApi(SageApiView):
    permission_classes = [AllowAny]
    authentication_classes = AUTHS

    @extend_schema(tags=TAGS, responses=sage_envelope("VersionLatest", VersionSerializer()))
    def get(self, request: Request) -> Response:
        return Response(VersionSerializer(versions.version_latest()).data)


class VersionCheckApi(SageApiView):
    """The Tauri updater's endpoint: its own JSON (not enveloped), or 204 when the client is up to date."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=TAGS, parameters=[CheckQuery], responses={200: OpenApiResponse(description="Tauri update"),
                                                                    204: None})
    def get(self, request: Request) -> Any:
        query = CheckQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = versions.update_for(**query.validated_data)
        if found is None:
            return HttpResponse(status=204)
        version, build = found
        platform = f"{query.validated_data['target']}-{query.validated_data['arch']}"
        return raw(Response({
            "version": version.version, "notes": version.notes, "pub_date": version.pub_date.isoformat(),
            "platforms": {platform: build}, "url": build["url"], "signature": build["signature"],
        }))


class VersionImportGithubApi(SageApiView):
    permission_classes = [HasMenuPermission]
    required_permission = perms.SETTINGS_EDIT
    authentication_classes = AUTHS

    @extend_schema(tags=TAGS, request=ImportGithubRequest, responses=sage_envelope("VersionImported", VersionSerializer()))
    def post(self, request: Request) -> Response:
        serializer = ImportGithubRequest(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(VersionSerializer(versions.version_import_github(repo=serializer.validated_data["repo"])).data)


class VersionDeleteApi(SageApiView):
    permission_classes = [HasMenuPermission]
    required_permission = perms.SETTINGS_EDIT
    authentication_classes = AUTHS

    @extend_schema(tags=TAGS, responses=sage_envelope("VersionDeleted", serializers.DictField()))
    def delete(self, request: Request, version_str: str) -> Response:
        versions.version_delete(version=version_str)
        return Response({"success": True})


class JaegerLoginApi(SageApiView):
    """Sets the tracing cookie for a user who may see traces, then redirects to ``next``."""

    permission_classes = [AllowAny]
    authentication_classes = AUTHS

    @extend_schema(tags=TAGS, parameters=[OpenApiParameter("next", str)], responses={302: None})
    def get(self, request: Request) -> Any:
        observability.jaeger_url()
        value = observability.cookie_issue(user=request.user)
        response = HttpResponseRedirect(observability.safe_next(request.query_params.get("next", "")))
        response.set_cookie(observability.COOKIE_NAME, value, max_age=settings.JAEGER_COOKIE_SECONDS, httponly=True,
                            samesite="Lax", secure=request.is_secure(), path="/")
        return response


class JaegerAuthApi(SageApiView):
    """For a proxy's auth subrequest: 204 with a valid cookie, 401 without, 403 when no longer allowed."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(tags=TAGS, responses={204: None, 401: None, 403: None})
    def get(self, request: Request) -> Any:
        user = observability.cookie_check(request.COOKIES.get(observability.COOKIE_NAME))
        response = HttpResponse(status=204)
        response["X-Auth-User"] = user.username
        return response


class JaegerRedirectApi(SageApiView):
    """307 to the Jaeger UI, keeping the path and query (and, with 307, the method and body)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    def _redirect(self, request: Request, full_path: str = "") -> Any:
        response = HttpResponseRedirect(
            observability.redirect_target(full_path=full_path, query=request.META.get("QUERY_STRING", ""))
        )
        response.status_code = 307
        return response

    @extend_schema(tags=TAGS, request=None, responses={307: None})
    def get(self, request: Request, full_path: str = "") -> Any:
        return self._redirect(request, full_path)

    post = put = patch = delete = head = options = get
