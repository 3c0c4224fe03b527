"""003's ``/api/v1/admin/gen/business*``: code generator configurations and the generated app (a zip)."""
from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.views import AdminApiView
from apps.core.permissions import IsAdminUser
from apps.system.codegen import configs
from apps.system.models import CodeGenConfig

TAGS = ["003 code generator"]


class CodeGenConfigSerializer(serializers.ModelSerializer):
    class Meta:
        model = CodeGenConfig
        fields = ["id", "app_label", "table_name", "business_name", "class_name", "options", "created_at"]


class CodeGenConfigCreate(serializers.Serializer):
    app_label = serializers.CharField(max_length=60)
    table_name = serializers.CharField(max_length=120)
    business_name = serializers.CharField(max_length=200)
    class_name = serializers.CharField(max_length=60)
    options = serializers.DictField(required=False, default=dict)


class CodeGenConfigListApi(AdminApiView):
    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, responses=CodeGenConfigSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(CodeGenConfigSerializer(configs.config_list(), many=True).data)

    @extend_schema(tags=TAGS, request=CodeGenConfigCreate, responses={201: CodeGenConfigSerializer})
    def post(self, request: Request) -> Response:
        serializer = CodeGenConfigCreate(data=request.data)
        serializer.is_valid(raise_exception=True)
        config = configs.config_create(created_by=request.user, **serializer.validated_data)
        return Response(CodeGenConfigSerializer(config).data, status=201)


class CodeGenGenerateApi(AdminApiView):
    permission_classes = [IsAdminUser]

    @extend_schema(tags=TAGS, request=None, responses={200: OpenApiResponse(description="application/zip")})
    def post(self, request: Request, config_id: str) -> Any:
        config = configs.config_get(config_id=config_id)
        response = HttpResponse(configs.config_generate(config=config), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{config.app_label}.zip"'
        return response
