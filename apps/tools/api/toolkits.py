"""004's toolkit routes, self-hosted over MCP: ``/api/composio/*`` and ``/api/composio-secure/*``.

Bodies follow the 004 platform's answers (``{"success": true, ...}``); errors are 004's
``{"detail"}``. A toolkit is a template of the shared catalog; a profile is the user's
(another user's is a 404). Secrets never leave: profiles say which fields are set.
"""
from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.core.api.views import AnyAcceptNegotiation, PlatformApiView
from apps.core.errors import Conflict, NotFound
from apps.tools.api import serializers as s
from apps.tools.models import Toolkit, ToolkitProfile
from apps.tools.toolkits import catalog
from apps.tools.toolkits import profiles as p

#: An icon is drawn, never run: no scripts, no fetches, no forms, even if opened on its own.
ICON_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
TAGS = ["composio"]


def _valid(serializer_class: type, data: Any) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _query(serializer_class: type, request: Request) -> dict:
    # A plain dict: a QueryDict would read a missing boolean as False.
    return _valid(serializer_class, request.query_params.dict())


# ------------------------------------------------------------------------------
# Shapes
# ------------------------------------------------------------------------------
def toolkit_out(toolkit: Toolkit, request: Request) -> dict[str, Any]:
    secret = any(field.get("field_type") == "secret" for field in toolkit.fields)
    return {
        "slug": toolkit.slug,
        "name": toolkit.name,
        "description": toolkit.description,
        "icon_url": request.build_absolute_uri(f"/api/composio/toolkits/{toolkit.slug}/icon") if toolkit.icon_svg else None,
        "category": toolkit.category,
        "categories": [toolkit.category],
        "auth_schemes": ["API_KEY"] if secret else ["NO_AUTH"],
        "supported_auth_type": "API_KEY" if secret else "NO_AUTH",
        "enabled": toolkit.is_enabled,
        "tool_count": len(toolkit.tools),
        "custom_auth_supported": False,
        "initiation_fields": [
            {"name": field["name"], "display_name": field.get("display_name") or field["name"],
             "description": field.get("description", ""), "field_type": field["field_type"],
             "required": bool(field.get("required")), "default_value": field.get("default_value")}
            for field in toolkit.fields
        ],
    }


def toolkit_details_out(toolkit: Toolkit, request: Request) -> dict[str, Any]:
    return {
        **toolkit_out(toolkit, request),
        "docs_url": toolkit.docs_url,
        "mcp_url_template": toolkit.mcp_url_template,
        "transport": toolkit.transport,
        # Header names only: their templates name the secret fields.
        "headers": sorted(toolkit.header_templates),
        "tools": toolkit.tools,
    }


def _when(value: Any) -> str | None:
    return value.isoformat() if value else None


def connection_status(profile: ToolkitProfile) -> str:
    return profile.status.upper() if profile.connection_id else "DISCONNECTED"


def profile_out(profile: ToolkitProfile) -> dict[str, Any]:
    return {
        "profile_id": str(profile.pk),
        "user_id": str(profile.owner_id),
        "toolkit_slug": profile.toolkit.slug,
        "toolkit_name": profile.toolkit.name,
        "profile_name": profile.profile_name,
        "display_name": profile.display_name or profile.profile_name,
        "connected_account_id": str(profile.connection_id) if profile.connection_id else None,
        "mcp_qualified_name": p.QUALIFIED_PREFIX + profile.toolkit.slug,
        "server_name": profile.server_name,
        "is_active": profile.is_active,
        "is_default": profile.is_default,
        "is_default_for_dashboard": profile.is_default_for_dashboard,
        "is_connected": bool(profile.connection_id) and profile.status == ToolkitProfile.Status.ACTIVE,
        "connection_status": connection_status(profile),
        "error": profile.error,
        "enabled_tools": p.profile_enabled_tools(profile),
        "tools_count": len(profile.tools or []),
        "fields": p.profile_fields(profile),
        "allow_private": profile.allow_private,
        "created_at": _when(profile.created_at),
        "updated_at": _when(profile.updated_at),
        "last_used_at": _when(profile.last_used_at),
        "refreshed_at": _when(profile.refreshed_at),
    }


def tools_out(profile: ToolkitProfile) -> list[dict[str, Any]]:
    enabled = set(p.profile_enabled_tools(profile))
    return [{"name": tool["name"], "description": tool.get("description", ""),
             "input_schema": tool.get("input_schema") or {}, "enabled": tool["name"] in enabled}
            for tool in profile.tools or []]


class ComposioView(PlatformApiView):
    parser_classes = [JSONParser]

    def profile(self, request: Request, profile_id: str) -> ToolkitProfile:
        return p.profile_get(user=request.user, profile_id=profile_id)


# ------------------------------------------------------------------------------
# /api/composio — the catalog
# ------------------------------------------------------------------------------
class ComposioHealthApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS, summary="Whether the toolkit catalog is loaded")
    def get(self, request: Request) -> Response:
        return Response(catalog.catalog_health())


class ComposioCategoriesApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request) -> Response:
        categories = catalog.toolkit_categories()
        return Response({"success": True, "categories": categories, "total": len(categories)})


class ComposioToolkitsApi(ComposioView):
    @extend_schema(parameters=[s.ToolkitListQuerySerializer], responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request) -> Response:
        page, next_cursor, total = catalog.toolkit_list(**_query(s.ToolkitListQuerySerializer, request))
        return Response({"success": True, "toolkits": [toolkit_out(toolkit, request) for toolkit in page],
                         "next_cursor": next_cursor, "has_more": next_cursor is not None, "total": total})


class ComposioToolkitIconApi(ComposioView):
    # An <img> asks for image/*, which no JSON renderer offers: the view answers the SVG itself.
    content_negotiation_class = AnyAcceptNegotiation
    # An <img> cannot send a bearer token; the web UI's session cookie signs it in (a GET changes nothing).
    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]

    @extend_schema(responses={(200, "image/svg+xml"): OpenApiTypes.BINARY}, tags=TAGS,
                   summary="The toolkit's SVG icon (JSON {icon_url} when Accept asks for application/json only)")
    def get(self, request: Request, slug: str) -> Response | HttpResponse:
        toolkit = catalog.toolkit_get(slug=slug)
        if not toolkit.icon_svg:
            raise NotFound(f"Toolkit '{slug}' has no icon.")
        accept = request.headers.get("Accept", "")
        if "application/json" in accept and "image/" not in accept:
            return Response({"success": True, "toolkit_slug": slug, "icon_url": request.build_absolute_uri(request.path)})
        response = HttpResponse(toolkit.icon_svg, content_type="image/svg+xml; charset=utf-8")
        response["Content-Security-Policy"] = ICON_CSP
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, max-age=3600"
        return response


class ComposioToolkitDetailsApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request, slug: str) -> Response:
        return Response({"success": True, "toolkit": toolkit_details_out(catalog.toolkit_get(slug=slug), request)})


class ComposioToolsListApi(ComposioView):
    @extend_schema(parameters=[s.ToolkitToolsQuerySerializer], responses=OpenApiTypes.OBJECT, tags=TAGS,
                   summary="A toolkit's tools before connecting: the catalog's, then those your profiles discovered")
    def get(self, request: Request) -> Response:
        query = _query(s.ToolkitToolsQuerySerializer, request)
        toolkit = catalog.toolkit_get(slug=query["toolkit_slug"])
        tools = p.toolkit_tools(user=request.user, toolkit=toolkit, limit=query["limit"])
        return Response({"success": True, "tools": tools, "count": len(tools)})


# ------------------------------------------------------------------------------
# /api/composio — profiles and connections
# ------------------------------------------------------------------------------
class ComposioProfilesApi(ComposioView):
    @extend_schema(parameters=[s.ProfileListQuerySerializer], responses=OpenApiTypes.OBJECT, tags=TAGS,
                   operation_id="api_composio_profiles_list")
    def get(self, request: Request) -> Response:
        query = _query(s.ProfileListQuerySerializer, request)
        profiles = [profile_out(profile) for profile in p.profile_list(user=request.user, **query)]
        return Response({"success": True, "profiles": profiles, "count": len(profiles)})

    @extend_schema(request=s.ProfileCreateSerializer, responses=OpenApiTypes.OBJECT, tags=TAGS)
    def post(self, request: Request) -> Response:
        profile = p.profile_create(user=request.user, **_valid(s.ProfileCreateSerializer, request.data))
        return Response({"success": True, "profile_id": str(profile.pk), "redirect_url": None,
                         "connection_id": str(profile.connection_id),
                         "message": "Profile created. Discover its tools to connect it.",
                         "profile": profile_out(profile)}, status=201)


class ComposioProfileNameApi(ComposioView):
    @extend_schema(parameters=[s.ProfileNameQuerySerializer], responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request) -> Response:
        available = p.profile_name_available(user=request.user, **_query(s.ProfileNameQuerySerializer, request))
        return Response({"success": True, "available": available,
                         "message": "Profile name is available" if available else "Profile name already exists"})


class ComposioProfileApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request, profile_id: str) -> Response:
        return Response({"success": True, "profile": profile_out(self.profile(request, profile_id))})

    @extend_schema(request=s.ProfileUpdateSerializer, responses=OpenApiTypes.OBJECT, tags=TAGS)
    def put(self, request: Request, profile_id: str) -> Response:
        profile = self.profile(request, profile_id)
        data = _valid(s.ProfileUpdateSerializer, request.data)
        return Response({"success": True, "profile": profile_out(p.profile_update(user=request.user, profile=profile, **data))})

    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS)
    def delete(self, request: Request, profile_id: str) -> Response:
        p.profile_delete(profile=self.profile(request, profile_id))
        return Response({"success": True, "message": "Profile deleted"})


class ComposioProfileMcpConfigApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request, profile_id: str) -> Response:
        profile = self.profile(request, profile_id)
        url = p.profile_mcp_url(profile)
        p.profile_touch(profile=profile)
        return Response({"success": True, "profile_id": str(profile.pk), "mcp_url": url, "app_name": profile.toolkit.slug,
                         "server_name": profile.server_name, "transport": p.profile_spec(profile).transport,
                         "enabled_tools": p.profile_enabled_tools(profile)})


class ComposioDiscoverToolsApi(ComposioView):
    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, tags=TAGS,
                   summary="Connect to the profile's MCP server and list its tools (400 refused URL, 502 unreachable)")
    def post(self, request: Request, profile_id: str) -> Response:
        profile = async_to_sync(p.profile_discover)(profile=self.profile(request, profile_id))
        tools = tools_out(profile)
        return Response({"success": True, "profile_id": str(profile.pk), "toolkit_name": profile.toolkit.name,
                         "tools": tools, "count": len(tools), "total_tools": len(tools),
                         "mcp_url": p.profile_mcp_url(profile)})


class ComposioProfileToolsApi(ComposioView):
    @extend_schema(request={"application/json": {"type": "array", "items": {"type": "string"}}},
                   responses=OpenApiTypes.OBJECT, tags=TAGS, summary="Set the enabled tools (a list, or {enabled_tools})")
    def put(self, request: Request, profile_id: str) -> Response:
        profile = self.profile(request, profile_id)
        body = request.data if isinstance(request.data, dict) else {"enabled_tools": request.data}
        data = _valid(s.ProfileToolsSerializer, body)
        profile = p.profile_tools_update(profile=profile, enabled_tools=data["enabled_tools"])
        return Response({"success": True, "enabled_tools": p.profile_enabled_tools(profile)})


def connection_out(profile: ToolkitProfile) -> dict[str, Any]:
    return {"id": str(profile.connection_id), "app_name": profile.toolkit.slug, "profile_id": str(profile.pk),
            "status": connection_status(profile), "created_at": _when(profile.created_at)}


class ComposioConnectionsApi(ComposioView):
    @extend_schema(parameters=[s.ConnectionListQuerySerializer], responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request) -> Response:
        query = _query(s.ConnectionListQuerySerializer, request)
        connections = [connection_out(profile) for profile in p.connection_list(user=request.user, **query)]
        return Response({"success": True, "connections": connections, "count": len(connections)})


class ComposioConnectionStatusApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS, summary="A connection's status as its last discovery left it")
    def get(self, request: Request, connection_id: str) -> Response:
        profile = p.profile_by_connection(user=request.user, connection_id=connection_id)
        return Response({"success": True, "connection_id": str(profile.connection_id), "status": connection_status(profile),
                         "connected_account_id": str(profile.connection_id), "profile_id": str(profile.pk),
                         "error": profile.error or None, "refreshed_at": _when(profile.refreshed_at)})


class ComposioConnectionApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS, summary="Drop a connection: its credentials and tools go")
    def delete(self, request: Request, connection_id: str) -> Response:
        p.connection_delete(profile=p.profile_by_connection(user=request.user, connection_id=connection_id))
        return Response({"success": True, "message": "Connection deleted"})


# ------------------------------------------------------------------------------
# /api/composio-secure
# ------------------------------------------------------------------------------
class SecureProfilesApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS, summary="Your profiles grouped by toolkit")
    def get(self, request: Request) -> Response:
        groups: dict[str, dict[str, Any]] = {}
        for profile in p.profile_list(user=request.user):
            group = groups.setdefault(profile.toolkit.slug, {"toolkit_slug": profile.toolkit.slug,
                                                             "toolkit_name": profile.toolkit.name, "profiles": []})
            group["profiles"].append(profile_out(profile))
        toolkits = sorted(({**group, "profile_count": len(group["profiles"])} for group in groups.values()),
                          key=lambda group: group["toolkit_name"].lower())
        return Response({"success": True, "toolkits": toolkits,
                         "total_profiles": sum(group["profile_count"] for group in toolkits)})


class SecureProfileMcpUrlApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request, profile_id: str) -> Response:
        profile = self.profile(request, profile_id)
        url = p.profile_mcp_url(profile)
        p.profile_touch(profile=profile)
        return Response({"success": True, "mcp_url": url, "profile_id": str(profile.pk),
                         "profile_name": profile.profile_name, "toolkit_slug": profile.toolkit.slug})


class SecureProfileDeleteApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS)
    def delete(self, request: Request, profile_id: str) -> Response:
        p.profile_delete(profile=self.profile(request, profile_id))
        return Response({"success": True, "message": "Profile deleted"})


class SecureBulkDeleteApi(ComposioView):
    @extend_schema(request=s.BulkDeleteSerializer, responses=OpenApiTypes.OBJECT, tags=TAGS,
                   summary="Delete several of your profiles; ids that are not yours are not counted")
    def post(self, request: Request) -> Response:
        ids = list(dict.fromkeys(_valid(s.BulkDeleteSerializer, request.data)["profile_ids"]))
        deleted = p.profile_bulk_delete(user=request.user, profile_ids=ids)
        return Response({"success": True, "deleted_count": deleted, "requested_count": len(ids)})


class SecureSetDefaultApi(ComposioView):
    dashboard = False

    @extend_schema(request=None, responses=OpenApiTypes.OBJECT, tags=TAGS)
    def put(self, request: Request, profile_id: str) -> Response:
        p.profile_set_default(profile=self.profile(request, profile_id), dashboard=self.dashboard)
        return Response({"success": True,
                         "message": "Dashboard default profile updated" if self.dashboard else "Default profile updated"})


class SecureSetDashboardDefaultApi(SecureSetDefaultApi):
    dashboard = True


class SecureToggleActiveApi(ComposioView):
    @extend_schema(request=None, parameters=[s.ToggleActiveQuerySerializer], responses=OpenApiTypes.OBJECT, tags=TAGS,
                   summary="Set ?is_active=true|false, or flip the active flag when it is not given")
    def put(self, request: Request, profile_id: str) -> Response:
        profile = self.profile(request, profile_id)
        query = _query(s.ToggleActiveQuerySerializer, request)
        profile = p.profile_set_active(profile=profile, is_active=query["is_active"])
        return Response({"success": True, "profile_id": str(profile.pk), "is_active": profile.is_active})


class SecureDashboardProfilesApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS)
    def get(self, request: Request) -> Response:
        profiles = [profile_out(profile) for profile in p.profile_dashboard(user=request.user)]
        return Response({"success": True, "profiles": profiles, "count": len(profiles)})


class SecureDashboardMcpUrlsApi(ComposioView):
    @extend_schema(responses=OpenApiTypes.OBJECT, tags=TAGS, summary="MCP URLs of your dashboard profiles that have a connection")
    def get(self, request: Request) -> Response:
        configs = []
        for profile in p.profile_dashboard(user=request.user, connected_only=True):
            try:
                url = p.profile_mcp_url(profile)
            except Conflict:
                continue
            configs.append({"profile_id": str(profile.pk), "profile_name": profile.profile_name,
                            "toolkit_slug": profile.toolkit.slug, "mcp_url": url,
                            "enabled_tools": p.profile_enabled_tools(profile)})
        return Response({"success": True, "mcp_configs": configs, "count": len(configs)})
