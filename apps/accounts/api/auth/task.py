"""001 — task agent: ``/auth/register``, ``/auth/login``, ``/users/me``, ``/users/me/password``.

Errors are ``{path, message, statusCode, timestamp, validationErrors}``.
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api.auth import serializers as s
from apps.accounts.services.auth import local_login_authenticate, tokens_issue
from apps.accounts.services.users import user_change_password, user_register, user_update
from apps.core.api.views import TaskApiView
from apps.core.client_ip import client_ip

TAGS = ["001 auth"]


def _auth_body(user: object) -> dict:
    return {"token": tokens_issue(user=user).access, "user": s.TaskUserOutput(user).data}  # type: ignore[arg-type]


class TaskRegisterApi(TaskApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(tags=TAGS, request=s.TaskRegisterInput, responses={200: s.TaskAuthOutput}, auth=[])
    def post(self, request: Request) -> Response:
        data = s.TaskRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(
            username=data.validated_data["username"],
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            name=data.validated_data["name"],
            ip=client_ip(request),
            invite_code=data.validated_data.get("inviteCode") or None,
            verification_code=data.validated_data.get("verificationCode") or None,
        )
        return Response(_auth_body(user))


class TaskLoginApi(TaskApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    @extend_schema(tags=TAGS, request=s.TaskLoginInput, responses={200: s.TaskAuthOutput}, auth=[])
    def post(self, request: Request) -> Response:
        data = s.TaskLoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = local_login_authenticate(
            request=request._request,
            login=data.validated_data["username"],
            password=data.validated_data["password"],
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            api="001",
        )
        return Response(_auth_body(user))


class TaskUserMeApi(TaskApiView):
    @extend_schema(tags=TAGS, responses={200: s.TaskUserOutput})
    def get(self, request: Request) -> Response:
        return Response(s.TaskUserOutput(request.user).data)

    @extend_schema(tags=TAGS, request=s.TaskProfileInput, responses={200: s.TaskUserOutput})
    def patch(self, request: Request) -> Response:
        data = s.TaskProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_update(user=request.user, **data.validated_data)
        return Response(s.TaskUserOutput(user).data)


class TaskPasswordApi(TaskApiView):
    @extend_schema(tags=TAGS, request=s.TaskPasswordInput, responses={200: s.AccountMessageOutput})
    def put(self, request: Request) -> Response:
        data = s.TaskPasswordInput(data=request.data)
        data.is_valid(raise_exception=True)
        user_change_password(
            user=request.user,
            current_password=data.validated_data["currentPassword"],
            new_password=data.validated_data["newPassword"],
        )
        return Response({"message": "Password changed."})
