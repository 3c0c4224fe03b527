"""How requests prove who they are: Bearer JWT everywhere, ``?token=`` on SSE GETs, sessions on Sage."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from apps.accounts.services.api_keys import KEY_PREFIX, api_key_authenticate
from apps.accounts.services.auth import TOKEN_VERSION_CLAIM


class BearerAuthentication(JWTAuthentication):
    """A simplejwt access token from ``Authorization: Bearer``.

    EventSource cannot set headers, so a view marked ``allow_query_token`` also takes
    ``?token=`` on GET; no other route does, keeping tokens out of most URLs and logs.
    """

    def authenticate(self, request: Any) -> Any:
        header = self.get_header(request)
        if header is None:
            view = request.parser_context.get("view") if getattr(request, "parser_context", None) else None
            token = request.query_params.get("token")
            if token and request.method == "GET" and getattr(view, "allow_query_token", False):
                validated = self.get_validated_token(token.encode())
                return self.get_user(validated), validated
            return None
        return super().authenticate(request)

    def get_user(self, validated_token: Any) -> Any:
        # A password change or a logout bumps the user's token version: older tokens stop here.
        user = super().get_user(validated_token)
        if validated_token.get(TOKEN_VERSION_CLAIM, 0) != user.token_version:
            raise AuthenticationFailed("Token has been revoked.", code="token_not_valid")
        return user


def bearer_user(secret: str) -> Any | None:
    """The active user a bearer secret signs in (a ``ce-`` API key or an access JWT), or ``None``.

    For the endpoints outside DRF (the MCP servers), with the same rules as the two
    authenticators above: a revoked key, an expired token or one older than a logout is refused.
    """
    if secret.startswith(KEY_PREFIX):
        key = api_key_authenticate(secret=secret)
        return key.owner if key is not None else None
    authenticator = BearerAuthentication()
    try:
        return authenticator.get_user(authenticator.get_validated_token(secret.encode()))
    except (InvalidToken, AuthenticationFailed, exceptions.AuthenticationFailed):
        return None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _trusted_origins() -> set[str]:
    return {origin.rstrip("/") for origin in (*settings.CSRF_TRUSTED_ORIGINS, *settings.CORS_ALLOWED_ORIGINS)}


def cross_site_refusal(request: Any) -> str | None:
    """Why an unsafe cookie-authenticated request looks cross-site, or ``None`` when it does not.

    The documented cookie flow is ``curl -c``/``curl -b``, and curl cannot hold a CSRF token,
    so the protection is the browser's own: the session cookie is ``SameSite=Lax`` (not sent on
    cross-site POSTs at all), and a browser that sends it anyway labels the request with
    ``Sec-Fetch-Site`` and ``Origin``, which must then say this site. A request with neither
    header comes from a non-browser client, which no other site can drive.
    """
    if request.method in SAFE_METHODS:
        return None
    origin = request.META.get("HTTP_ORIGIN")
    if origin and origin.rstrip("/") in _trusted_origins():
        return None
    fetch_site = request.META.get("HTTP_SEC_FETCH_SITE")
    if fetch_site is not None:
        return None if fetch_site in ("same-origin", "none") else f"Cross-site request refused (Sec-Fetch-Site: {fetch_site})."
    if origin is None:
        return None
    if origin == "null" or origin.rstrip("/") != f"{request.scheme}://{request.get_host()}":
        return "Cross-site request refused (Origin does not match this site)."
    return None


class CsrfSessionAuthentication(SessionAuthentication):
    """The Django session cookie; unsafe methods are refused when the browser says they are cross-site."""

    def enforce_csrf(self, request: Any) -> None:
        reason = cross_site_refusal(request)
        if reason:
            raise exceptions.PermissionDenied(reason)


class FormSessionAuthentication(SessionAuthentication):
    """The session cookie for our own HTML forms (the OAuth2 consent page), which carry Django's CSRF token."""


class BearerScheme(OpenApiAuthenticationExtension):
    """How drf-spectacular documents :class:`BearerAuthentication`."""

    target_class = BearerAuthentication
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class SessionCookieScheme(OpenApiAuthenticationExtension):
    """How drf-spectacular documents :class:`CsrfSessionAuthentication`."""

    target_class = CsrfSessionAuthentication
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}
