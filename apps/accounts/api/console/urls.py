"""The 003 admin console paths under ``/api/v1/admin/`` (auth, sys, log, monitor).

Path parameters are named ``id`` as in the document, so the schema shows its exact paths.
"""
from django.urls import path

from apps.accounts.api.console import views

PREFIX = "api/v1/admin/"

urlpatterns = [
    path(f"{PREFIX}auth/captcha", views.CaptchaApi.as_view(), name="admin-auth-captcha"),
    path(f"{PREFIX}auth/login", views.LoginApi.as_view(), name="admin-auth-login"),
    path(f"{PREFIX}auth/logout", views.LogoutApi.as_view(), name="admin-auth-logout"),
    path(f"{PREFIX}auth/token/refresh", views.TokenRefreshApi.as_view(), name="admin-auth-token-refresh"),
    path(f"{PREFIX}sys/users", views.UserListApi.as_view(), name="admin-sys-users"),
    path(f"{PREFIX}sys/users/<uuid:id>", views.UserDetailApi.as_view(), name="admin-sys-user"),
    path(f"{PREFIX}sys/roles", views.RoleListApi.as_view(), name="admin-sys-roles"),
    path(f"{PREFIX}sys/roles/<bigint:id>", views.RoleDetailApi.as_view(), name="admin-sys-role"),
    path(f"{PREFIX}sys/roles/<bigint:id>/menus", views.RoleMenusApi.as_view(), name="admin-sys-role-menus"),
    path(f"{PREFIX}sys/depts", views.DepartmentListApi.as_view(), name="admin-sys-depts"),
    path(f"{PREFIX}sys/depts/<bigint:id>", views.DepartmentDetailApi.as_view(), name="admin-sys-dept"),
    path(f"{PREFIX}sys/menus", views.MenuListApi.as_view(), name="admin-sys-menus"),
    path(f"{PREFIX}sys/menus/<bigint:id>", views.MenuDetailApi.as_view(), name="admin-sys-menu"),
    path(f"{PREFIX}log/login-logs", views.LoginLogListApi.as_view(), name="admin-log-login-logs"),
    path(f"{PREFIX}log/login-logs/<bigint:id>", views.LoginLogDetailApi.as_view(), name="admin-log-login-log"),
    path(f"{PREFIX}log/opera-logs", views.OperationLogListApi.as_view(), name="admin-log-opera-logs"),
    path(f"{PREFIX}log/opera-logs/<bigint:id>", views.OperationLogDetailApi.as_view(), name="admin-log-opera-log"),
    path(f"{PREFIX}monitor/server", views.ServerMonitorApi.as_view(), name="admin-monitor-server"),
    path(f"{PREFIX}monitor/redis", views.RedisMonitorApi.as_view(), name="admin-monitor-redis"),
]
