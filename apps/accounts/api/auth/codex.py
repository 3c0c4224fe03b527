"""000 — CodexEngine: ``/register``, ``/login``, ``/user/me``; errors are ``{"detail"}``."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api.auth import serializers as s
from apps.accounts.services.auth import local_login_authenticate, tokens_issue
from apps.accounts.services.users import user_register
from apps.core.api.views import CodexApiView
from apps.core.client_ip import client_ip

TAGS = ["000 auth"]


class CodexRegisterApi(CodexApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(tags=TAGS, request=s.CodexRegisterInput, responses={200: s.CodexRegisterOutput}, auth=[])
    def post(self, request: Request) -> Response:
        data = s.CodexRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(
            username=data.validated_data["username"],
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            ip=client_ip(request),
            invite_code=data.validated_data.get("invite_code") or None,
            verification_code=data.validated_data.get("verification_code") or None,
        )
        return Response({"message": "User registered successfully", "user_id": str(user.pk)})


class CodexLoginApi(CodexApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(tags=TAGS, request=s.CodexLoginInput, responses={200: s.CodexLoginOutput}, auth=[])
    def post(self, request: Request) -> Response:
        data = s.CodexLoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = local_login_authenticate(
            request=request._request,
            login=data.validated_data["email"],
            password=data.validated_data["password"],
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            api="000",
        )
        tokens = tokens_issue(user=user)
        return Response(
            {"access_token": tokens.access, "token_type": "bearer", "email": user.email, "username": user.username}
        )


class CodexUserMeApi(CodexApiView):
    @extend_schema(tags=TAGS, responses={200: s.CodexUserOutput})
    def get(self, request: Request) -> Response:
        return Response(s.CodexUserOutput(request.user).data)
