"""The gate in front of the Jaeger UI: a short-lived signed cookie for users who may see traces.

A reverse proxy in front of Jaeger asks ``/api/observability/jaeger/auth`` on every request
(nginx ``auth_request``, Traefik ``forwardAuth``) and lets it through on 204.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing

from apps.accounts import permissions_catalog as perms
from apps.accounts.models import User
from apps.core.errors import Forbidden, NotFound, Unauthorized

COOKIE_NAME = "codex_jaeger"
_SALT = "apps.system.observability.jaeger"
#: Who may see traces: the holders of the server-monitoring permission (superusers hold every code).
PERMISSION = perms.MONITOR_SERVER


def jaeger_url() -> str:
    if not settings.JAEGER_UI_URL:
        raise NotFound("Tracing UI is not configured (set JAEGER_UI_URL).")
    return settings.JAEGER_UI_URL.rstrip("/")


def may_see_traces(user: Any) -> bool:
    return bool(user and user.is_authenticated and user.has_menu_permission(PERMISSION))


def cookie_issue(*, user: Any) -> str:
    """The cookie value for a user allowed in; 401/403 otherwise."""
    if not (user and user.is_authenticated):
        raise Unauthorized("Sign in to see traces.")
    if not may_see_traces(user):
        raise Forbidden("You do not have permission to see traces.")
    return signing.dumps({"uid": str(user.pk)}, salt=_SALT, compress=True)


def cookie_check(value: str | None) -> User:
    """The user a cookie was issued to, still allowed in; 401 for none, forged or expired, 403 if revoked."""
    if not value:
        raise Unauthorized("No tracing session.")
    try:
        payload = signing.loads(value, salt=_SALT, max_age=settings.JAEGER_COOKIE_SECONDS)
    except signing.BadSignature:
        raise Unauthorized("The tracing session is invalid or has expired.") from None
    user = User.objects.filter(pk=payload.get("uid"), is_active=True).first()
    if user is None:
        raise Unauthorized("The tracing session's user no longer exists.")
    if not may_see_traces(user):
        raise Forbidden("You do not have permission to see traces.")
    return user


def safe_next(next_url: str) -> str:
    """Where login may send the browser: a path of ours or the Jaeger UI, never another site."""
    default = "/api/observability/jaeger/"
    if not next_url:
        return default
    parts = urlsplit(next_url)
    if not parts.scheme and not parts.netloc and next_url.startswith("/") and not next_url.startswith("//"):
        return next_url
    ui = urlsplit(settings.JAEGER_UI_URL)
    if (parts.scheme, parts.netloc) == (ui.scheme, ui.netloc):
        return next_url
    return default


def redirect_target(*, full_path: str, query: str) -> str:
    url = f"{jaeger_url()}/{full_path.lstrip('/')}"
    return f"{url}?{query}" if query else url
