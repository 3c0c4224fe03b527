"""Sign-in, registration and profile paths of the 000, 001 and 002 APIs, upstream login, and the OAuth2 server."""
from __future__ import annotations

from allauth.socialaccount.providers import registry
from django.urls import path

from apps.accounts.api.auth import codex, oauth2, sage, task, upstream


def _upstream_callback_names() -> list:
    """Our documented callback path under the names allauth reverses for its redirect URI.

    These are included after ``allauth.urls``, and ``reverse()`` prefers the pattern
    defined last, so the redirect URI sent to a provider (and checked again when the
    code is exchanged) is ``/api/auth/upstream/callback/{provider_id}``.
    """
    patterns = []
    for provider_class in registry.get_class_list():
        if provider_class.id == "openid_connect":
            continue  # its callback name takes a provider_id: the generic pattern below carries it
        patterns.append(
            path(
                f"api/auth/upstream/callback/{provider_class.id}",
                upstream.UpstreamCallbackApi.as_view(),
                {"provider_id": provider_class.id},
                name=f"{provider_class.id}_callback",
            )
        )
    return patterns


login_view = sage.LoginApi.as_view()
register_view = sage.RegisterApi.as_view()
send_code_view = sage.SendCodeApi.as_view()
providers_view = sage.ProvidersApi.as_view()
logout_view = sage.LogoutApi.as_view()
session_view = sage.SessionApi.as_view()
upstream_login_view = upstream.UpstreamLoginApi.as_view()
upstream_callback_view = upstream.UpstreamCallbackApi.as_view()
metadata_view = oauth2.OAuth2MetadataApi.as_view()
authorize_view = oauth2.OAuth2AuthorizeApi.as_view()
token_view = oauth2.OAuth2TokenApi.as_view()
userinfo_view = oauth2.OAuth2UserInfoApi.as_view()

urlpatterns = [
    # 000 — CodexEngine
    path("register", codex.CodexRegisterApi.as_view(), name="codex-register"),
    path("login", codex.CodexLoginApi.as_view(), name="codex-login"),
    path("user/me", codex.CodexUserMeApi.as_view(), name="codex-user-me"),
    # 001 — task agent
    path("auth/register", task.TaskRegisterApi.as_view(), name="task-register"),
    path("auth/login", task.TaskLoginApi.as_view(), name="task-login"),
    path("users/me", task.TaskUserMeApi.as_view(), name="task-user-me"),
    path("users/me/password", task.TaskPasswordApi.as_view(), name="task-user-password"),
    # 002 — Sage
    path("api/auth/register/send-code", send_code_view, name="sage-send-code"),
    path("api/auth/register", register_view, name="sage-register"),
    path("api/auth/login", login_view, name="sage-login"),
    path("api/auth/session", session_view, name="sage-session"),
    path("api/auth/providers", providers_view, name="sage-providers"),
    path("api/auth/upstream/login/<str:provider_id>", upstream_login_view, name="upstream-login"),
    path("api/auth/upstream/login", upstream_login_view, name="upstream-login-default"),
    *_upstream_callback_names(),
    path("api/auth/upstream/callback/<str:provider_id>", upstream_callback_view, name="openid_connect_callback"),
    path("api/auth/logout", logout_view, name="sage-logout"),
    path("api/user/options", sage.UserOptionsApi.as_view(), name="sage-user-options"),
    path("api/user/change-password", sage.ChangePasswordApi.as_view(), name="sage-change-password"),
    path("api/user/list", sage.UserListApi.as_view(), name="sage-user-list"),
    path("api/user/add", sage.UserAddApi.as_view(), name="sage-user-add"),
    path("api/user/delete", sage.UserDeleteApi.as_view(), name="sage-user-delete"),
    path("api/user/config", sage.UserConfigApi.as_view(), name="sage-user-config"),
    # 002 — compatibility aliases of the /api/auth/* routes
    path("api/user/register/send-code", send_code_view, name="sage-compat-send-code"),
    path("api/user/register", register_view, name="sage-compat-register"),
    path("api/user/login", login_view, name="sage-compat-login"),
    path("api/user/auth-providers", providers_view, name="sage-compat-providers"),
    path("api/user/oauth/login/<str:provider_id>", upstream_login_view, name="sage-compat-oauth-login"),
    path("api/user/oauth/login", upstream_login_view, name="sage-compat-oauth-login-default"),
    path("api/user/oauth/callback/<str:provider_id>", upstream_callback_view, name="sage-compat-oauth-callback"),
    path("api/user/logout", logout_view, name="sage-compat-logout"),
    path("api/user/check_login", session_view, name="sage-compat-check-login"),
    # 002 — OAuth2 authorization server
    path(".well-known/oauth-authorization-server", metadata_view, name="oauth2-well-known"),
    path("api/oauth2/metadata", metadata_view, name="oauth2-metadata-api"),
    path("oauth2/metadata", metadata_view, name="oauth2-metadata"),
    path("api/oauth2/authorize", authorize_view, name="oauth2-authorize-api"),
    path("oauth2/authorize", authorize_view, name="oauth2-authorize"),
    path("api/oauth2/token", token_view, name="oauth2-token-api"),
    path("oauth2/token", token_view, name="oauth2-token"),
    path("api/oauth2/userinfo", userinfo_view, name="oauth2-userinfo-api"),
    path("oauth2/userinfo", userinfo_view, name="oauth2-userinfo"),
    # 003 — OAuth2 plugin routes of the admin API
    *[
        path(
            f"api/v1/admin/oauth2/{provider_id}/{step}",
            view.as_view(),
            {"provider_id": provider_id},
            name=f"admin-oauth2-{provider_id}-{step}",
        )
        for provider_id in ("github", "google")
        for step, view in (("authorize", upstream.AdminOAuth2AuthorizeApi), ("callback", upstream.AdminOAuth2CallbackApi))
    ],
]
