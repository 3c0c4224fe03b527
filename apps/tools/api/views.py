"""Tool routes: 002's tools, skills and MCP servers; 003's MCP servers and per-user MCP settings."""
from __future__ import annotations

from asgiref.sync import async_to_sync
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.core.api.views import AdminApiView, SageApiView
from apps.core.errors import NotFound, PayloadTooLarge
from apps.tools import selectors, services, skills
from apps.tools.api import serializers as s
from apps.tools.mcp import servers, usersettings
from apps.tools.skillfiles import MAX_UNPACKED_BYTES


class SageView(SageApiView):
    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]


class ToolListApi(SageView):
    @extend_schema(parameters=[OpenApiParameter("type", str, required=False)], responses=s.ToolListSerializer,
                   tags=["tools"])
    def get(self, request: Request) -> Response:
        query = s.ToolQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tools = selectors.tool_list(user=request.user, type=query.validated_data.get("type") or None)
        return Response(s.ToolListSerializer({"tools": tools}).data)


class ToolExecApi(SageView):
    @extend_schema(request=s.ToolExecInputSerializer, responses=s.ToolExecOutputSerializer, tags=["tools"])
    def post(self, request: Request) -> Response:
        data = s.ToolExecInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = async_to_sync(services.tool_execute_direct)(user=request.user, **data.validated_data)
        return Response(s.ToolExecOutputSerializer(outcome).data)


# ------------------------------------------------------------------------------
# 002 — skills
# ------------------------------------------------------------------------------
def _skills(queryset) -> dict:
    return s.SkillListSerializer({"skills": queryset.prefetch_related("files")}).data


def _saved(request: Request, skill) -> Response:
    return Response(s.SkillSavedSerializer({"user_id": str(request.user.pk), "name": skill.name,
                                            "version": skill.version}).data)


class SkillsApi(SageView):
    @extend_schema(parameters=[s.SkillQuerySerializer], responses=s.SkillListSerializer, tags=["skills"])
    def get(self, request: Request) -> Response:
        query = s.SkillQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        dimension = query.validated_data["dimension"]
        return Response(_skills(skills.skill_list(user=request.user, agent_id=query.validated_data["agent_id"] or None,
                                                  dimension="" if dimension == "all" else dimension)))

    @extend_schema(parameters=[s.SkillNameQuerySerializer], responses=None, tags=["skills"])
    def delete(self, request: Request) -> Response:
        query = s.SkillNameQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        skill = skills.skill_get_editable(user=request.user, name=query.validated_data["name"],
                                          agent_id=query.validated_data["agent_id"] or None)
        skills.skill_delete(skill=skill)
        return Response(None)


class SkillAgentAvailableApi(SageView):
    @extend_schema(parameters=[s.SkillAgentQuerySerializer], responses=s.SkillListSerializer, tags=["skills"])
    def get(self, request: Request) -> Response:
        query = s.SkillAgentQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(_skills(skills.skill_agent_available(user=request.user, agent_id=query.validated_data["agent_id"])))


class SkillUploadApi(SageView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(request=s.SkillUploadSerializer, responses=s.SkillSavedSerializer, tags=["skills"])
    def post(self, request: Request) -> Response:
        data = s.SkillUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data.pop("file")
        if upload.size > MAX_UNPACKED_BYTES:
            raise PayloadTooLarge(f"A skill archive may be at most {MAX_UNPACKED_BYTES // (1024 * 1024)} MB.")
        skill = skills.skill_upload(user=request.user, data=upload.read(), **data.validated_data)
        return _saved(request, skill)


class SkillImportUrlApi(SageView):
    @extend_schema(request=s.SkillImportSerializer, responses=s.SkillSavedSerializer, tags=["skills"])
    def post(self, request: Request) -> Response:
        data = s.SkillImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        skill = async_to_sync(skills.skill_import_url)(user=request.user, **data.validated_data)
        return _saved(request, skill)


class SkillContentApi(SageView):
    parser_classes = [JSONParser]

    @extend_schema(parameters=[s.SkillNameQuerySerializer], responses=s.SkillContentOutputSerializer, tags=["skills"])
    def get(self, request: Request) -> Response:
        query = s.SkillNameQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        skill = skills.skill_get(user=request.user, name=query.validated_data["name"],
                                 agent_id=query.validated_data["agent_id"] or None)
        return Response({"name": skill.name, "content": skill.content, "version": skill.version})

    @extend_schema(request=s.SkillContentSerializer, responses=None, tags=["skills"])
    def put(self, request: Request) -> Response:
        data = s.SkillContentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        skill = skills.skill_get_editable(user=request.user, name=data.validated_data["name"],
                                          agent_id=data.validated_data["agent_id"] or None)
        skills.skill_content_update(skill=skill, content=data.validated_data["content"])
        return Response(None)


# ------------------------------------------------------------------------------
# 002 — MCP servers
# ------------------------------------------------------------------------------
def _add_server(request: Request, *, source: str = "server"):
    data = s.MCPServerRequestSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    body = data.validated_data
    add = usersettings.custom_add if source == usersettings.CUSTOM else servers.mcp_server_add
    return async_to_sync(add)(
        user=request.user, name=body["name"], transport=body["transport"], url=body["url"],
        api_key=body.get("api_key") or "", command=body.get("command"), allow_private=body["allow_private"],
    )


class MCPAddApi(SageView):
    @extend_schema(request=s.MCPServerRequestSerializer, responses=s.MCPServerStatusSerializer, tags=["mcp"])
    def post(self, request: Request) -> Response:
        return Response(s.MCPServerStatusSerializer(_add_server(request)).data)


class MCPListApi(SageView):
    @extend_schema(responses=s.MCPServerOutputSerializer(many=True), tags=["mcp"])
    def get(self, request: Request) -> Response:
        return Response({"servers": s.MCPServerOutputSerializer(servers.mcp_server_list(user=request.user), many=True).data})


class MCPServerApi(SageView):
    @extend_schema(responses=None, tags=["mcp"])
    def delete(self, request: Request, server_name: str) -> Response:
        servers.mcp_server_delete(server=servers.mcp_server_get(user=request.user, name=server_name))
        return Response({"server_name": server_name})


class MCPRefreshApi(SageView):
    @extend_schema(request=None, responses=s.MCPServerStatusSerializer, tags=["mcp"])
    def post(self, request: Request, server_name: str) -> Response:
        server = servers.mcp_server_get(user=request.user, name=server_name)
        return Response(s.MCPServerStatusSerializer(async_to_sync(servers.mcp_server_refresh)(server=server)).data)


# ------------------------------------------------------------------------------
# 003 — MCP servers and per-user MCP settings
# ------------------------------------------------------------------------------
class AdminMCPServersApi(AdminApiView):
    @extend_schema(responses=s.MCPServerOutputSerializer(many=True), tags=["mcp"])
    def get(self, request: Request) -> Response:
        return Response({"servers": s.MCPServerOutputSerializer(servers.mcp_server_list(user=request.user), many=True).data})

    @extend_schema(request=s.MCPServerRequestSerializer, responses=s.MCPServerOutputSerializer, tags=["mcp"])
    def post(self, request: Request) -> Response:
        return Response(s.MCPServerOutputSerializer(_add_server(request)).data, status=201)


class AdminMCPServerApi(AdminApiView):
    @extend_schema(responses=None, tags=["mcp"])
    def delete(self, request: Request, name: str) -> Response:
        servers.mcp_server_delete(server=servers.mcp_server_get(user=request.user, name=name))
        return Response({"name": name, "deleted": True})


def _setting(server) -> dict:
    return s.UserMCPSettingSerializer(server).data


class UserMCPSettingsApi(AdminApiView):
    @extend_schema(responses=s.UserMCPSettingSerializer(many=True), tags=["mcp"])
    def get(self, request: Request) -> Response:
        return Response({"settings": s.UserMCPSettingSerializer(usersettings.user_mcp_settings(user=request.user),
                                                                many=True).data})


class _NamedSettingApi(AdminApiView):
    tool_type = ""

    def get(self, request: Request) -> Response:
        server = usersettings.user_mcp_setting(user=request.user, tool_type=self.tool_type)
        return Response({"tool_type": self.tool_type, "configured": server is not None,
                         "setting": _setting(server) if server else None})

    @extend_schema(responses=None, tags=["mcp"])
    def delete(self, request: Request) -> Response:
        # DELETE /user-settings/mcp/{tool_type} reaches this view for the two named settings.
        servers.mcp_server_delete(server=_user_setting(request, self.tool_type))
        return Response({"tool_type": self.tool_type, "deleted": True})


class UserMCPCodexApi(_NamedSettingApi):
    tool_type = usersettings.CODEX

    @extend_schema(responses=s.UserMCPSettingSerializer, tags=["mcp"])
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(request=s.CodexSettingSerializer, responses=s.UserMCPSettingSerializer, tags=["mcp"])
    def post(self, request: Request) -> Response:
        data = s.CodexSettingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_setting(async_to_sync(usersettings.codex_configure)(user=request.user, **data.validated_data)))


class UserMCPClaudeCodeApi(_NamedSettingApi):
    tool_type = usersettings.CLAUDE_CODE

    @extend_schema(responses=s.UserMCPSettingSerializer, tags=["mcp"])
    def get(self, request: Request) -> Response:
        return super().get(request)

    @extend_schema(request=s.ClaudeCodeSettingSerializer, responses=s.UserMCPSettingSerializer, tags=["mcp"])
    def post(self, request: Request) -> Response:
        data = s.ClaudeCodeSettingSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        server = async_to_sync(usersettings.claude_code_configure)(user=request.user, **data.validated_data)
        return Response(_setting(server))


class UserMCPCustomApi(AdminApiView):
    @extend_schema(request=s.MCPServerRequestSerializer, responses=s.UserMCPSettingSerializer, tags=["mcp"])
    def post(self, request: Request) -> Response:
        return Response(_setting(_add_server(request, source=usersettings.CUSTOM)), status=201)


def _user_setting(request: Request, tool_type: str):
    server = usersettings.user_mcp_setting(user=request.user, tool_type=tool_type)
    if server is None:
        raise NotFound("MCP setting not found.")
    return server


class UserMCPSettingApi(AdminApiView):
    @extend_schema(responses=None, tags=["mcp"])
    def delete(self, request: Request, tool_type: str) -> Response:
        servers.mcp_server_delete(server=_user_setting(request, tool_type))
        return Response({"tool_type": tool_type, "deleted": True})


class UserMCPSettingToggleApi(AdminApiView):
    @extend_schema(request=None, responses=s.UserMCPSettingSerializer, tags=["mcp"])
    def patch(self, request: Request, tool_type: str) -> Response:
        return Response(_setting(servers.mcp_server_toggle(server=_user_setting(request, tool_type))))
