"""How requests prove who they are: Bearer JWT everywhere, ``?token=`` on SSE GETs, sessions on Sage."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed

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


class CsrfSessionAuthentication(SessionAuthentication):
    """The Django session cookie, with CSRF enforced on unsafe methods (DRF's behaviour)."""


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
