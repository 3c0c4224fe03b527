"""The 003 admin console: sign-in with a captcha, users, roles, departments, menus, logs, monitor.

Each view names the permission code it needs per method; ``HasMenuPermission``
checks it and nothing else does. Errors come out as ``{"detail", "code"}``.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import permissions_catalog as perms
from apps.accounts.api.console import serializers as s
from apps.accounts.captcha import captcha_issue
from apps.accounts.selectors import console as selectors
from apps.accounts.services import console as services
from apps.accounts.services.auth import TokenPair, tokens_refresh, tokens_revoke
from apps.core import throttle
from apps.core.api.pagination import paginate
from apps.core.api.views import AdminApiView
from apps.core.client_ip import client_ip
from apps.core.permissions import HasMenuPermission

ERRORS = {
    400: OpenApiResponse(s.DetailSerializer, description="Invalid input: {detail, code}."),
    401: OpenApiResponse(s.DetailSerializer, description="Not signed in."),
    403: OpenApiResponse(s.DetailSerializer, description="Missing the permission code."),
    404: OpenApiResponse(s.DetailSerializer, description="Not found."),
    409: OpenApiResponse(s.DetailSerializer, description="Conflicts with existing rows."),
}


def _errors(*statuses: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in statuses}


def _tokens(pair: TokenPair) -> dict[str, Any]:
    return {
        "access_token": pair.access,
        "refresh_token": pair.refresh,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
    }


def _page(request: Request, queryset: QuerySet, item_serializer: type[serializers.Serializer]) -> dict[str, Any]:
    params = {"page": request.query_params.get("page", 1)}
    size = request.query_params.get("size") or request.query_params.get("page_size")
    if size is not None:
        params["size"] = size
    paging = s.PageQuerySerializer(data=params)
    paging.is_valid(raise_exception=True)
    page = paginate(queryset, page=paging.validated_data["page"], page_size=paging.validated_data["size"])
    return {
        "items": item_serializer(page.items, many=True).data,
        "total": page.total,
        "page": page.page,
        "size": page.page_size,
    }


class PublicConsoleApi(AdminApiView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class ConsoleApi(AdminApiView):
    permission_classes = [HasMenuPermission]
    required_permissions: dict[str, str] = {}


# ------------------------------------------------------------------------------
# Auth
# ------------------------------------------------------------------------------
class CaptchaApi(PublicConsoleApi):
    @extend_schema(tags=["admin: auth"], responses={200: s.CaptchaOutputSerializer})
    def get(self, request: Request) -> Response:
        # Drawing an image costs CPU; a per-IP limit keeps it from being a cheap DoS.
        throttle.check("captcha", client_ip(request) or "unknown", "60/min")
        captcha = captcha_issue()
        return Response(
            {"captcha_id": captcha.id, "image": captcha.image_data_uri, "expires_in": settings.CAPTCHA_TTL_SECONDS}
        )


class LoginApi(PublicConsoleApi):
    @extend_schema(
        tags=["admin: auth"],
        request=s.LoginInputSerializer,
        responses={200: s.LoginOutputSerializer, **_errors(400, 401)},
    )
    def post(self, request: Request) -> Response:
        data = s.LoginInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user, pair = services.console_login(
            request=request._request,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            **data.validated_data,
        )
        body = _tokens(pair) | {"user": {"id": user.pk, "username": user.username, "nickname": user.nickname}}
        return Response(s.LoginOutputSerializer(body).data)


class LogoutApi(AdminApiView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["admin: auth"], request=s.LogoutInputSerializer, responses={200: s.DetailSerializer, **_errors(401)}
    )
    def post(self, request: Request) -> Response:
        data = s.LogoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tokens_revoke(refresh=data.validated_data["refresh_token"] or None, user=request.user)
        return Response({"detail": "Signed out."})


class TokenRefreshApi(PublicConsoleApi):
    @extend_schema(
        tags=["admin: auth"],
        request=s.RefreshInputSerializer,
        responses={200: s.TokenOutputSerializer, **_errors(400, 401)},
    )
    def post(self, request: Request) -> Response:
        data = s.RefreshInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pair = tokens_refresh(refresh=data.validated_data["refresh_token"])
        return Response(s.TokenOutputSerializer(_tokens(pair)).data)


# ------------------------------------------------------------------------------
# Users
# ------------------------------------------------------------------------------
class UserListApi(ConsoleApi):
    required_permissions = {"GET": perms.USER_LIST, "POST": perms.USER_ADD}

    @extend_schema(
        tags=["admin: sys"],
        parameters=[s.UserFilterSerializer],
        responses={200: s.UserPageSerializer, **_errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        users = selectors.user_list(actor=request.user, params=request.query_params)
        return Response(_page(request, users, s.UserOutputSerializer))

    @extend_schema(
        tags=["admin: sys"],
        request=s.UserInputSerializer,
        responses={201: s.UserOutputSerializer, **_errors(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        data = s.UserInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.console_user_create(actor=request.user, **data.validated_data)
        return Response(s.UserOutputSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetailApi(ConsoleApi):
    required_permissions = {"GET": perms.USER_LIST, "PUT": perms.USER_EDIT, "DELETE": perms.USER_DEL}

    @extend_schema(tags=["admin: sys"], responses={200: s.UserOutputSerializer, **_errors(401, 403, 404)})
    def get(self, request: Request, id: Any) -> Response:
        return Response(s.UserOutputSerializer(selectors.user_get(actor=request.user, user_id=id)).data)

    @extend_schema(
        tags=["admin: sys"],
        request=s.UserUpdateSerializer,
        responses={200: s.UserOutputSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def put(self, request: Request, id: Any) -> Response:
        data = s.UserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.console_user_update(actor=request.user, user_id=id, **data.validated_data)
        return Response(s.UserOutputSerializer(user).data)

    @extend_schema(tags=["admin: sys"], responses={204: None, **_errors(401, 403, 404, 409)})
    def delete(self, request: Request, id: Any) -> Response:
        services.console_user_delete(actor=request.user, user_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------
# Roles
# ------------------------------------------------------------------------------
class RoleListApi(ConsoleApi):
    required_permissions = {"GET": perms.ROLE_LIST, "POST": perms.ROLE_ADD}

    @extend_schema(tags=["admin: sys"], responses={200: s.RoleOutputSerializer(many=True), **_errors(401, 403)})
    def get(self, request: Request) -> Response:
        return Response(s.RoleOutputSerializer(selectors.role_list(actor=request.user), many=True).data)

    @extend_schema(
        tags=["admin: sys"],
        request=s.RoleInputSerializer,
        responses={201: s.RoleOutputSerializer, **_errors(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        data = s.RoleInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = services.role_create(actor=request.user, **data.validated_data)
        return Response(s.RoleOutputSerializer(role).data, status=status.HTTP_201_CREATED)


class RoleDetailApi(ConsoleApi):
    required_permissions = {"PUT": perms.ROLE_EDIT, "DELETE": perms.ROLE_DEL}

    @extend_schema(
        tags=["admin: sys"],
        request=s.RoleUpdateSerializer,
        responses={200: s.RoleOutputSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def put(self, request: Request, id: int) -> Response:
        data = s.RoleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = services.role_update(actor=request.user, role_id=id, **data.validated_data)
        return Response(s.RoleOutputSerializer(role).data)

    @extend_schema(tags=["admin: sys"], responses={204: None, **_errors(401, 403, 404, 409)})
    def delete(self, request: Request, id: int) -> Response:
        services.role_delete(actor=request.user, role_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RoleMenusApi(ConsoleApi):
    required_permissions = {"GET": perms.ROLE_LIST, "PUT": perms.ROLE_EDIT}

    @extend_schema(tags=["admin: sys"], responses={200: s.RoleMenusSerializer, **_errors(401, 403, 404)})
    def get(self, request: Request, id: int) -> Response:
        return Response({"menu_ids": selectors.role_menu_ids(actor=request.user, role_id=id)})

    @extend_schema(
        tags=["admin: sys"],
        request=s.RoleMenusSerializer,
        responses={200: s.RoleMenusSerializer, **_errors(400, 401, 403, 404)},
    )
    def put(self, request: Request, id: int) -> Response:
        data = s.RoleMenusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        role = services.role_set_menus(actor=request.user, role_id=id, **data.validated_data)
        return Response({"menu_ids": sorted(role.menus.values_list("pk", flat=True))})


# ------------------------------------------------------------------------------
# Departments
# ------------------------------------------------------------------------------
class DepartmentListApi(ConsoleApi):
    required_permissions = {"GET": perms.DEPT_LIST, "POST": perms.DEPT_ADD}

    @extend_schema(tags=["admin: sys"], responses={200: s.DepartmentTreeSerializer(many=True), **_errors(401, 403)})
    def get(self, request: Request) -> Response:
        return Response(s.DepartmentTreeSerializer(selectors.department_tree(actor=request.user), many=True).data)

    @extend_schema(
        tags=["admin: sys"],
        request=s.DepartmentInputSerializer,
        responses={201: s.DepartmentNodeSerializer, **_errors(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        data = s.DepartmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        department = services.department_create(**data.validated_data)
        return Response(s.DepartmentNodeSerializer(department).data, status=status.HTTP_201_CREATED)


class DepartmentDetailApi(ConsoleApi):
    required_permissions = {"PUT": perms.DEPT_EDIT, "DELETE": perms.DEPT_DEL}

    @extend_schema(
        tags=["admin: sys"],
        request=s.DepartmentUpdateSerializer,
        responses={200: s.DepartmentNodeSerializer, **_errors(400, 401, 403, 404, 409)},
    )
    def put(self, request: Request, id: int) -> Response:
        data = s.DepartmentUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        department = services.department_update(
            actor=request.user, department_id=id, **data.validated_data
        )
        return Response(s.DepartmentNodeSerializer(department).data)

    @extend_schema(tags=["admin: sys"], responses={204: None, **_errors(401, 403, 404, 409)})
    def delete(self, request: Request, id: int) -> Response:
        services.department_delete(actor=request.user, department_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------
# Menus
# ------------------------------------------------------------------------------
class MenuListApi(ConsoleApi):
    required_permissions = {"GET": perms.MENU_LIST, "POST": perms.MENU_ADD}

    @extend_schema(tags=["admin: sys"], responses={200: s.MenuTreeSerializer(many=True), **_errors(401, 403)})
    def get(self, request: Request) -> Response:
        return Response(s.MenuTreeSerializer(selectors.menu_tree(actor=request.user), many=True).data)

    @extend_schema(
        tags=["admin: sys"],
        request=s.MenuInputSerializer,
        responses={201: s.MenuNodeSerializer, **_errors(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        data = s.MenuInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        menu = services.menu_create(actor=request.user, **data.validated_data)
        return Response(s.MenuNodeSerializer(menu).data, status=status.HTTP_201_CREATED)


class MenuDetailApi(ConsoleApi):
    required_permissions = {"PUT": perms.MENU_EDIT, "DELETE": perms.MENU_DEL}

    @extend_schema(
        tags=["admin: sys"],
        request=s.MenuUpdateSerializer,
        responses={200: s.MenuNodeSerializer, **_errors(400, 401, 403, 404)},
    )
    def put(self, request: Request, id: int) -> Response:
        data = s.MenuUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        menu = services.menu_update(actor=request.user, menu_id=id, **data.validated_data)
        return Response(s.MenuNodeSerializer(menu).data)

    @extend_schema(tags=["admin: sys"], responses={204: None, **_errors(401, 403, 404, 409)})
    def delete(self, request: Request, id: int) -> Response:
        services.menu_delete(actor=request.user, menu_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------
# Logs
# ------------------------------------------------------------------------------
class LoginLogListApi(ConsoleApi):
    required_permissions = {"GET": perms.LOGIN_LOG_LIST}

    @extend_schema(
        tags=["admin: log"],
        parameters=[s.LoginLogFilterSerializer],
        responses={200: s.LoginLogPageSerializer, **_errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        logs = selectors.login_log_list(actor=request.user, params=request.query_params)
        return Response(_page(request, logs, s.LoginLogSerializer))


class LoginLogDetailApi(ConsoleApi):
    required_permissions = {"DELETE": perms.LOGIN_LOG_DEL}

    @extend_schema(tags=["admin: log"], responses={204: None, **_errors(401, 403, 404)})
    def delete(self, request: Request, id: int) -> Response:
        services.login_log_delete(actor=request.user, log_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OperationLogListApi(ConsoleApi):
    required_permissions = {"GET": perms.OPERATION_LOG_LIST}

    @extend_schema(
        tags=["admin: log"],
        parameters=[s.OperationLogFilterSerializer],
        responses={200: s.OperationLogPageSerializer, **_errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        logs = selectors.operation_log_list(actor=request.user, params=request.query_params)
        return Response(_page(request, logs, s.OperationLogSerializer))


class OperationLogDetailApi(ConsoleApi):
    required_permissions = {"DELETE": perms.OPERATION_LOG_DEL}

    @extend_schema(tags=["admin: log"], responses={204: None, **_errors(401, 403, 404)})
    def delete(self, request: Request, id: int) -> Response:
        services.operation_log_delete(actor=request.user, log_id=id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# ------------------------------------------------------------------------------
# Monitor
# ------------------------------------------------------------------------------
class ServerMonitorApi(ConsoleApi):
    required_permissions = {"GET": perms.MONITOR_SERVER}

    @extend_schema(tags=["admin: monitor"], responses={200: s.ServerStatsSerializer, **_errors(401, 403)})
    def get(self, request: Request) -> Response:
        return Response(s.ServerStatsSerializer(selectors.server_stats(actor=request.user)).data)


class RedisMonitorApi(ConsoleApi):
    required_permissions = {"GET": perms.MONITOR_REDIS}

    @extend_schema(
        tags=["admin: monitor"],
        responses={
            200: s.RedisStatsSerializer,
            **_errors(401, 403),
            503: OpenApiResponse(s.DetailSerializer, description="Redis does not answer."),
        },
    )
    def get(self, request: Request) -> Response:
        return Response(s.RedisStatsSerializer(selectors.redis_stats(actor=request.user)).data)
