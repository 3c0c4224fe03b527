"""002's tool routes: list the registry, run one tool directly."""
from __future__ import annotations

from asgiref.sync import async_to_sync
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.core.api.views import SageApiView
from apps.tools import selectors, services
from apps.tools.api import serializers as s


class ToolListApi(SageApiView):
    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]

    @extend_schema(parameters=[OpenApiParameter("type", str, required=False)], responses=s.ToolListSerializer,
                   tags=["tools"])
    def get(self, request: Request) -> Response:
        query = s.ToolQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tools = selectors.tool_list(user=request.user, type=query.validated_data.get("type") or None)
        return Response(s.ToolListSerializer({"tools": tools}).data)


class ToolExecApi(SageApiView):
    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]

    @extend_schema(request=s.ToolExecInputSerializer, responses=s.ToolExecOutputSerializer, tags=["tools"])
    def post(self, request: Request) -> Response:
        data = s.ToolExecInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = async_to_sync(services.tool_execute_direct)(user=request.user, **data.validated_data)
        return Response(s.ToolExecOutputSerializer(outcome).data)
