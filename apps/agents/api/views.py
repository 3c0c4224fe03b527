"""Agent routes: 002 ``/api/agent/*`` and 003 ``/api/v1/agent/config``."""
from __future__ import annotations

from uuid import UUID

from asgiref.sync import async_to_sync
from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.agents import selectors, services, workspace
from apps.agents.api import serializers as s
from apps.agents.defaults import default_system_prompt
from apps.core.api.views import AdminApiView, SageApiView

SAGE_AUTHENTICATION = [BearerAuthentication, CsrfSessionAuthentication]
SESSION_PARAM = OpenApiParameter("session_id", str, required=False)
FILE_PARAM = OpenApiParameter("file_path", str, required=True)


class SageAgentApi(SageApiView):
    authentication_classes = SAGE_AUTHENTICATION


class AgentListApi(SageAgentApi):
    @extend_schema(responses=s.AgentConfigDTOSerializer(many=True), tags=["agent"])
    def get(self, request: Request) -> Response:
        agents = selectors.agent_list(user=request.user)
        return Response(s.AgentConfigDTOSerializer(agents, many=True, context={"user": request.user}).data)


class AgentDefaultSystemPromptApi(SageAgentApi):
    @extend_schema(parameters=[OpenApiParameter("language", str, required=False)], responses=s.ContentSerializer,
                   tags=["agent"])
    def get(self, request: Request) -> Response:
        query = s.DefaultPromptQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response({"content": default_system_prompt(query.validated_data["language"])})


class AgentCreateApi(SageAgentApi):
    @extend_schema(request=s.AgentConfigDTOSerializer, responses=s.AgentIdSerializer, tags=["agent"])
    def post(self, request: Request) -> Response:
        data = s.AgentConfigDTOSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        agent = services.agent_create(owner=request.user, **data.validated_data)
        return Response({"agent_id": str(agent.pk)})


class AgentDetailApi(SageAgentApi):
    @extend_schema(responses=s.AgentConfigDTOSerializer, tags=["agent"])
    def get(self, request: Request, agent_id: UUID) -> Response:
        agent = selectors.agent_get(user=request.user, agent_id=agent_id)
        return Response(s.AgentConfigDTOSerializer(agent, context={"user": request.user}).data)

    @extend_schema(request=s.AgentConfigDTOSerializer, responses=s.AgentIdSerializer, tags=["agent"])
    def put(self, request: Request, agent_id: UUID) -> Response:
        agent = selectors.agent_get_owned(user=request.user, agent_id=agent_id)
        data = s.AgentConfigDTOSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.agent_update(agent=agent, **data.validated_data)
        return Response({"agent_id": str(agent.pk)})

    @extend_schema(responses=s.AgentIdSerializer, tags=["agent"])
    def delete(self, request: Request, agent_id: UUID) -> Response:
        agent = selectors.agent_get_owned(user=request.user, agent_id=agent_id)
        pk = agent.pk
        services.agent_delete(agent=agent)
        return Response({"agent_id": str(pk)})


class AgentAutoGenerateApi(SageAgentApi):
    @extend_schema(request=s.AutoGenerateInputSerializer, responses=s.AutoGenerateOutputSerializer, tags=["agent"])
    def post(self, request: Request) -> Response:
        data = s.AutoGenerateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        draft = async_to_sync(services.agent_auto_generate)(user=request.user, **data.validated_data)
        return Response(s.AutoGenerateOutputSerializer(draft).data)


class AgentPromptOptimizeApi(SageAgentApi):
    @extend_schema(request=s.OptimizeInputSerializer, responses=s.OptimizeOutputSerializer, tags=["agent"])
    def post(self, request: Request) -> Response:
        data = s.OptimizeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = async_to_sync(services.agent_prompt_optimize)(user=request.user, **data.validated_data)
        return Response(s.OptimizeOutputSerializer(result).data)


class AgentAuthApi(SageAgentApi):
    """Who the agent is shared with; only its owner may read or change that."""

    def _shape(self, agent, grants) -> dict:
        return {"agent_id": agent.pk, "users": grants, "user_ids": [grant.user_id for grant in grants]}

    @extend_schema(responses=s.GrantListSerializer, tags=["agent"])
    def get(self, request: Request, agent_id: UUID) -> Response:
        agent = selectors.agent_get_owned(user=request.user, agent_id=agent_id)
        grants = list(selectors.agent_grant_list(agent=agent))
        return Response(s.GrantListSerializer(self._shape(agent, grants)).data)

    @extend_schema(request=s.GrantInputSerializer, responses=s.GrantListSerializer, tags=["agent"])
    def post(self, request: Request, agent_id: UUID) -> Response:
        agent = selectors.agent_get_owned(user=request.user, agent_id=agent_id)
        data = s.GrantInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        grants = services.agent_grants_set(agent=agent, user_ids=data.validated_data["user_ids"])
        return Response(s.GrantListSerializer(self._shape(agent, grants)).data)


class AgentWorkspaceListApi(SageAgentApi):
    @extend_schema(request=None, parameters=[SESSION_PARAM], responses=s.WorkspaceListSerializer, tags=["agent"])
    def post(self, request: Request, agent_id: UUID) -> Response:
        agent = selectors.agent_get(user=request.user, agent_id=agent_id)
        query = s.WorkspaceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        session_id = query.validated_data.get("session_id") or None
        files = workspace.workspace_list(user=request.user, agent=agent, session_id=session_id)
        return Response(s.WorkspaceListSerializer({"agent_id": agent.pk, "session_id": session_id, "files": files}).data)


class AgentWorkspaceDownloadApi(SageAgentApi):
    @extend_schema(parameters=[FILE_PARAM, SESSION_PARAM], responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
                   tags=["agent"])
    def get(self, request: Request, agent_id: UUID) -> FileResponse:
        agent = selectors.agent_get(user=request.user, agent_id=agent_id)
        query = s.WorkspaceFileQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        name = workspace.workspace_file(
            user=request.user, agent=agent, session_id=query.validated_data.get("session_id") or None,
            file_path=query.validated_data["file_path"],
        )
        return FileResponse(default_storage.open(name, "rb"), as_attachment=True, filename=name.rsplit("/", 1)[-1])


class AgentWorkspaceDeleteApi(SageAgentApi):
    @extend_schema(parameters=[FILE_PARAM, SESSION_PARAM], responses=s.WorkspaceDeleteSerializer, tags=["agent"])
    def delete(self, request: Request, agent_id: UUID) -> Response:
        agent = selectors.agent_get(user=request.user, agent_id=agent_id)
        query = s.WorkspaceFileQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        path = workspace.workspace_delete(
            user=request.user, agent=agent, session_id=query.validated_data.get("session_id") or None,
            file_path=query.validated_data["file_path"],
        )
        return Response({"file_path": path, "deleted": True})


class AgentConfigurationApi(AdminApiView):
    @extend_schema(responses=s.AgentConfigurationSerializer, tags=["agent"])
    def get(self, request: Request) -> Response:
        return Response(s.AgentConfigurationSerializer(selectors.agent_configuration(user=request.user)).data)
