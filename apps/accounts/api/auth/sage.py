"""002 — Sage: ``/api/auth/*`` and ``/api/user/*`` (and their compatibility aliases).

Success data travels in the ``BaseResponse`` envelope; a session cookie or a Bearer token
authenticates, with CSRF enforced when the session authenticates an unsafe method.
"""
from __future__ import annotations

from typing import Any

from django.contrib.auth import update_session_auth_hash
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import permissions_catalog as perms
from apps.accounts.api.auth import serializers as s
from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.accounts.selectors.users import session_info, user_config, user_list, user_options
from apps.accounts.services.auth import session_end, session_login
from apps.accounts.services.upstream import upstream_providers
from apps.accounts.services.users import (
    user_change_password,
    user_create,
    user_delete_by_admin,
    user_register,
    user_registration_code_send,
    user_set_config,
)
from apps.core.api.views import SageApiView
from apps.core.client_ip import client_ip
from apps.core.permissions import HasMenuPermission

TAGS = ["002 auth"]

#: The document's wording for these refusals; Sage clients show ``message`` as is.
DOCUMENTED_MESSAGES = {
    "local_login_disabled": "当前服务未启用本地账号密码登录",
    "registration_disabled": "当前服务未启用本地账号注册",
}


class SageAccountApi(SageApiView):
    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]

    def handle_exception(self, exc: Exception) -> Any:
        response = super().handle_exception(exc)
        message = DOCUMENTED_MESSAGES.get(getattr(exc, "code", ""))
        if message and isinstance(response.data, dict):
            response.data["message"] = message
        return response


class SagePublicApi(SageAccountApi):
    """Sign-up and sign-in: no credentials needed, JSON only (a cross-site form cannot post JSON)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]


class SendCodeApi(SagePublicApi):
    @extend_schema(
        tags=TAGS, request=s.SageSendCodeInput, responses={200: s.sage_envelope("SendCodeResponse", s.SageSendCodeOutput())}
    )
    def post(self, request: Request) -> Response:
        data = s.SageSendCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        sent = user_registration_code_send(email=data.validated_data["email"], ip=client_ip(request))
        return Response({"expires_in": sent.expires_in, "retry_after": sent.retry_after})


class RegisterApi(SagePublicApi):
    @extend_schema(
        tags=TAGS, request=s.SageRegisterInput, responses={200: s.sage_envelope("RegisterResponse", s.UserIdOutput())}
    )
    def post(self, request: Request) -> Response:
        data = s.SageRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(
            username=data.validated_data["username"],
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            phone=data.validated_data["phonenum"],
            ip=client_ip(request),
            invite_code=data.validated_data.get("invite_code") or None,
            verification_code=data.validated_data.get("verification_code") or None,
        )
        return Response({"user_id": str(user.pk)})


class LoginApi(SagePublicApi):
    @extend_schema(
        tags=TAGS, request=s.SageLoginInput, responses={200: s.sage_envelope("LoginResponse", s.SageLoginOutput())}
    )
    def post(self, request: Request) -> Response:
        data = s.SageLoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        _, tokens = session_login(
            request=request._request,
            login=data.validated_data["username_or_email"],
            password=data.validated_data["password"],
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            api="002",
        )
        return Response({"access_token": tokens.access, "refresh_token": tokens.refresh, "expires_in": tokens.expires_in})


class SessionApi(SageAccountApi):
    @extend_schema(tags=TAGS, responses={200: s.sage_envelope("UserInfoResponse", s.SageUserInfoOutput())})
    def get(self, request: Request) -> Response:
        return Response(s.SageUserInfoOutput(session_info(user=request.user)).data)


class ProvidersApi(SageAccountApi):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS, responses={200: s.sage_envelope("ProvidersResponse", s.SageProviderOutput(many=True))}, auth=[]
    )
    def get(self, request: Request) -> Response:
        return Response(s.SageProviderOutput(upstream_providers(request=request._request), many=True).data)


class LogoutApi(SageAccountApi):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS, request=s.SageLogoutInput, responses={200: s.sage_envelope("LogoutResponse", s.EmptyObject)}
    )
    def post(self, request: Request) -> Response:
        data = s.SageLogoutInput(data=request.data if isinstance(request.data, dict) else {})
        data.is_valid(raise_exception=True)
        session_end(request=request._request, refresh=data.validated_data.get("refresh_token") or None)
        return Response({})


class UserOptionsApi(SageAccountApi):
    @extend_schema(tags=TAGS, responses={200: s.sage_envelope("UserOptionsResponse", s.SageUserOptionOutput(many=True))})
    def get(self, request: Request) -> Response:
        return Response(s.SageUserOptionOutput(user_options(actor=request.user), many=True).data)


class ChangePasswordApi(SageAccountApi):
    @extend_schema(
        tags=TAGS,
        request=s.SageChangePasswordInput,
        responses={200: s.sage_envelope("ChangePasswordResponse", s.EmptyObject)},
    )
    def post(self, request: Request) -> Response:
        data = s.SageChangePasswordInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_change_password(
            user=request.user,
            current_password=data.validated_data["old_password"],
            new_password=data.validated_data["new_password"],
        )
        # A new password invalidates sessions; keep the one that made the change.
        update_session_auth_hash(request._request, user)
        return Response({})


class UserListApi(SageAccountApi):
    permission_classes = [HasMenuPermission]
    required_permissions = {"GET": perms.USER_LIST}

    @extend_schema(
        tags=TAGS, parameters=[s.SageListParams], responses={200: s.sage_envelope("UserListResponse", s.SageUserListOutput())}
    )
    def get(self, request: Request) -> Response:
        params = s.SageListParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        page = user_list(actor=request.user, **params.validated_data)
        return Response(s.SageUserListOutput({"items": page.items, "total": page.total}).data)


class UserAddApi(SageAccountApi):
    permission_classes = [HasMenuPermission]
    required_permissions = {"POST": perms.USER_ADD}

    @extend_schema(
        tags=TAGS, request=s.SageUserAddInput, responses={200: s.sage_envelope("UserAddResponse", s.UserIdOutput())}
    )
    def post(self, request: Request) -> Response:
        data = s.SageUserAddInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_create(
            username=data.validated_data["username"],
            email=data.validated_data["email"],
            password=data.validated_data["password"],
            nickname=data.validated_data["nickname"],
            phone=data.validated_data["phonenum"],
        )
        return Response({"user_id": str(user.pk)})


class UserDeleteApi(SageAccountApi):
    permission_classes = [HasMenuPermission]
    required_permissions = {"POST": perms.USER_DEL}

    @extend_schema(
        tags=TAGS, request=s.SageUserIdInput, responses={200: s.sage_envelope("UserDeleteResponse", s.EmptyObject)}
    )
    def post(self, request: Request) -> Response:
        data = s.SageUserIdInput(data=request.data)
        data.is_valid(raise_exception=True)
        user_delete_by_admin(actor=request.user, user_id=data.validated_data["user_id"])
        return Response({})


class UserConfigApi(SageAccountApi):
    @extend_schema(tags=TAGS, responses={200: s.sage_envelope("UserConfigResponse", s.SageConfigSerializer())})
    def get(self, request: Request) -> Response:
        return Response({"config": user_config(user=request.user)})

    @extend_schema(
        tags=TAGS,
        request=s.SageConfigSerializer,
        responses={200: s.sage_envelope("UserConfigUpdateResponse", s.SageConfigSerializer())},
    )
    def post(self, request: Request) -> Response:
        data = s.SageConfigSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_set_config(user=request.user, config=data.validated_data["config"])
        return Response({"config": user.config})
