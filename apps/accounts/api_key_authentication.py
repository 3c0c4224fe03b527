"""``Authorization: Bearer ce-...``: a per-user API key, for programs.

Kept apart from :mod:`apps.accounts.authentication` (sign-in tokens). Views that take keys
list :class:`ApiKeyAuthentication` before ``BearerAuthentication``: a ``ce-`` token is
always a key, so a bad one is refused here with 401 instead of being read as a JWT.
Only the routes listed in docs/openai-api.md take keys (``/v1/*``, ``/api/keys`` and, through
:func:`apps.accounts.authentication.bearer_user`, the MCP servers under ``/mcp/``):
the rest of the APIs (password changes, token refresh, admin console) need a sign-in.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.accounts.services.api_keys import KEY_PREFIX, api_key_authenticate


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request: Any) -> Any:
        parts = get_authorization_header(request).split()
        if len(parts) != 2 or parts[0].lower() != self.keyword:
            return None
        try:
            secret = parts[1].decode()
        except UnicodeDecodeError:
            return None
        if not secret.startswith(KEY_PREFIX):
            return None  # a JWT: the next authenticator reads it
        key = api_key_authenticate(secret=secret)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.", code="invalid_api_key")
        return key.owner, key

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How drf-spectacular documents :class:`ApiKeyAuthentication`."""

    target_class = ApiKeyAuthentication
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "ce-... API key"}
