"""Every route that issue 2 (Foundation) names resolves at its documented path with its documented method.

The list is copied from ../shared/spec/endpoints-*.tsv. While the other parts are
being built, the failure message lists exactly the routes still missing.
"""
from __future__ import annotations

import uuid

from django.urls import Resolver404, resolve

FOUNDATION_ROUTES: list[tuple[str, str, str]] = [
    # 000
    ("000", "POST", "/register"),
    ("000", "POST", "/login"),
    ("000", "GET", "/user/me"),
    ("000", "GET", "/"),
    # 001
    ("001", "POST", "/auth/register"),
    ("001", "POST", "/auth/login"),
    ("001", "GET", "/users/me"),
    ("001", "PATCH", "/users/me"),
    ("001", "PUT", "/users/me/password"),
    # 002
    ("002", "POST", "/api/auth/register/send-code"),
    ("002", "POST", "/api/auth/register"),
    ("002", "POST", "/api/auth/login"),
    ("002", "GET", "/api/auth/session"),
    ("002", "GET", "/api/auth/providers"),
    ("002", "GET", "/api/auth/upstream/login/{provider_id}"),
    ("002", "GET", "/api/auth/upstream/login"),
    ("002", "GET", "/api/auth/upstream/callback/{provider_id}"),
    ("002", "POST", "/api/auth/logout"),
    ("002", "GET", "/api/user/options"),
    ("002", "POST", "/api/user/change-password"),
    ("002", "GET", "/api/user/list"),
    ("002", "POST", "/api/user/add"),
    ("002", "POST", "/api/user/delete"),
    ("002", "GET", "/api/user/config"),
    ("002", "POST", "/api/user/config"),
    ("002", "GET", "/.well-known/oauth-authorization-server"),
    ("002", "GET", "/api/oauth2/metadata"),
    ("002", "GET", "/oauth2/metadata"),
    ("002", "GET", "/api/oauth2/authorize"),
    ("002", "GET", "/oauth2/authorize"),
    ("002", "POST", "/api/oauth2/token"),
    ("002", "POST", "/oauth2/token"),
    ("002", "GET", "/api/oauth2/userinfo"),
    ("002", "POST", "/api/oauth2/userinfo"),
    ("002", "GET", "/oauth2/userinfo"),
    ("002", "POST", "/oauth2/userinfo"),
    ("002", "GET", "/api/system/info"),
    ("002", "POST", "/api/system/update_settings"),
    ("002", "GET", "/api/health"),
    ("002", "POST", "/api/user/register/send-code"),
    ("002", "POST", "/api/user/register"),
    ("002", "POST", "/api/user/login"),
    ("002", "GET", "/api/user/auth-providers"),
    ("002", "GET", "/api/user/oauth/login/{provider_id}"),
    ("002", "GET", "/api/user/oauth/login"),
    ("002", "GET", "/api/user/oauth/callback/{provider_id}"),
    ("002", "POST", "/api/user/logout"),
    ("002", "GET", "/api/user/check_login"),
    # 003
    ("003", "GET", "/health"),
    ("003", "POST", "/api/v1/admin/auth/login"),
    ("003", "POST", "/api/v1/admin/auth/logout"),
    ("003", "POST", "/api/v1/admin/auth/token/refresh"),
    ("003", "GET", "/api/v1/admin/auth/captcha"),
    ("003", "GET", "/api/v1/admin/sys/users"),
    ("003", "GET", "/api/v1/admin/sys/users/{id}"),
    ("003", "POST", "/api/v1/admin/sys/users"),
    ("003", "PUT", "/api/v1/admin/sys/users/{id}"),
    ("003", "DELETE", "/api/v1/admin/sys/users/{id}"),
    ("003", "GET", "/api/v1/admin/sys/roles"),
    ("003", "POST", "/api/v1/admin/sys/roles"),
    ("003", "PUT", "/api/v1/admin/sys/roles/{id}"),
    ("003", "DELETE", "/api/v1/admin/sys/roles/{id}"),
    ("003", "GET", "/api/v1/admin/sys/roles/{id}/menus"),
    ("003", "PUT", "/api/v1/admin/sys/roles/{id}/menus"),
    ("003", "GET", "/api/v1/admin/sys/depts"),
    ("003", "POST", "/api/v1/admin/sys/depts"),
    ("003", "PUT", "/api/v1/admin/sys/depts/{id}"),
    ("003", "DELETE", "/api/v1/admin/sys/depts/{id}"),
    ("003", "GET", "/api/v1/admin/sys/menus"),
    ("003", "POST", "/api/v1/admin/sys/menus"),
    ("003", "PUT", "/api/v1/admin/sys/menus/{id}"),
    ("003", "DELETE", "/api/v1/admin/sys/menus/{id}"),
    ("003", "GET", "/api/v1/admin/log/login-logs"),
    ("003", "GET", "/api/v1/admin/log/opera-logs"),
    ("003", "DELETE", "/api/v1/admin/log/login-logs/{id}"),
    ("003", "DELETE", "/api/v1/admin/log/opera-logs/{id}"),
    ("003", "GET", "/api/v1/admin/monitor/server"),
    ("003", "GET", "/api/v1/admin/monitor/redis"),
    ("003", "GET", "/api/v1/admin/oauth2/github/authorize"),
    ("003", "GET", "/api/v1/admin/oauth2/github/callback"),
    ("003", "GET", "/api/v1/admin/oauth2/google/authorize"),
    ("003", "GET", "/api/v1/admin/oauth2/google/callback"),
    # 004
    ("004", "GET", "/api/health"),
    ("004", "GET", "/api/health/deep"),
]

#: Path parameters are filled with each sample in turn, so an ``int`` or a ``uuid`` converter both match.
_SAMPLES = {"id": ["1", str(uuid.UUID(int=1))], "provider_id": ["github"]}


def _concrete_paths(path: str) -> list[str]:
    paths = [path]
    for name, samples in _SAMPLES.items():
        if "{" + name + "}" in path:
            paths = [p.replace("{" + name + "}", sample) for p in paths for sample in samples]
    return paths


def _allows(func, method: str) -> bool:
    actions = getattr(func, "actions", None)
    if actions is not None:  # a DRF viewset: the router's method → action map
        return method.lower() in actions
    view_class = getattr(func, "cls", None) or getattr(func, "view_class", None)
    if view_class is None:  # a plain function view names no methods; resolving is all we can check
        return True
    return method.lower() in view_class.http_method_names and hasattr(view_class, method.lower())


def _problem(method: str, path: str) -> str | None:
    for concrete in _concrete_paths(path):
        try:
            match = resolve(concrete)
        except Resolver404:
            continue
        return None if _allows(match.func, method) else "resolves but does not allow the method"
    return "does not resolve"


def test_every_foundation_route_resolves_with_its_documented_method():
    problems = [
        f"{api} {method} {path}: {problem}"
        for api, method, path in FOUNDATION_ROUTES
        if (problem := _problem(method, path)) is not None
    ]
    assert not problems, f"{len(problems)} of {len(FOUNDATION_ROUTES)} Foundation routes missing:\n" + "\n".join(problems)


def test_the_check_itself_rejects_an_unknown_path_and_a_wrong_method():
    assert _problem("GET", "/no/such/route") == "does not resolve"
    assert _problem("DELETE", "/api/health") == "resolves but does not allow the method"
    assert _problem("GET", "/api/health") is None
