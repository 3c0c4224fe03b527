"""002's OAuth2 authorization server (django-oauth-toolkit): metadata, authorize, token, userinfo.

These answer OAuth2-standard payloads, never the ``BaseResponse`` envelope.
"""
from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from oauth2_provider.settings import oauth2_settings
from oauth2_provider.views import AuthorizationView, TokenView
from rest_framework import serializers
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import FormSessionAuthentication
from apps.core.api.views import SageApiView, raw

TAGS = ["002 oauth2"]

MetadataOutput = inline_serializer(
    name="OAuth2Metadata",
    fields={
        "issuer": serializers.URLField(),
        "authorization_endpoint": serializers.URLField(),
        "token_endpoint": serializers.URLField(),
        "userinfo_endpoint": serializers.URLField(),
        "response_types_supported": serializers.ListField(child=serializers.CharField()),
        "grant_types_supported": serializers.ListField(child=serializers.CharField()),
        "code_challenge_methods_supported": serializers.ListField(child=serializers.CharField()),
        "token_endpoint_auth_methods_supported": serializers.ListField(child=serializers.CharField()),
        "scopes_supported": serializers.ListField(child=serializers.CharField()),
    },
)


class AuthorizeParams(serializers.Serializer):
    response_type = serializers.CharField()
    client_id = serializers.CharField()
    redirect_uri = serializers.CharField(required=False)
    scope = serializers.CharField(required=False)
    state = serializers.CharField(required=False)
    code_challenge = serializers.CharField()
    code_challenge_method = serializers.CharField(required=False)


class TokenInput(serializers.Serializer):
    grant_type = serializers.ChoiceField(choices=["authorization_code", "refresh_token"])
    code = serializers.CharField(required=False)
    redirect_uri = serializers.CharField(required=False)
    code_verifier = serializers.CharField(required=False)
    refresh_token = serializers.CharField(required=False)
    client_id = serializers.CharField(required=False)
    client_secret = serializers.CharField(required=False)


TokenOutput = inline_serializer(
    name="OAuth2TokenResponse",
    fields={
        "access_token": serializers.CharField(),
        "token_type": serializers.CharField(),
        "expires_in": serializers.IntegerField(),
        "refresh_token": serializers.CharField(),
        "scope": serializers.CharField(),
    },
)

UserInfoOutput = inline_serializer(
    name="OAuth2UserInfo",
    fields={
        "sub": serializers.CharField(),
        "preferred_username": serializers.CharField(),
        "name": serializers.CharField(),
        "email": serializers.EmailField(),
    },
)


class OAuth2MetadataApi(SageApiView):
    """RFC 8414 discovery document."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(tags=TAGS, responses={200: MetadataOutput}, auth=[])
    def get(self, request: Request) -> Response:
        base = request.build_absolute_uri("/").rstrip("/")
        return raw(
            Response(
                {
                    "issuer": base,
                    "authorization_endpoint": f"{base}/oauth2/authorize",
                    "token_endpoint": f"{base}/oauth2/token",
                    "userinfo_endpoint": f"{base}/oauth2/userinfo",
                    "response_types_supported": ["code"],
                    "grant_types_supported": ["authorization_code", "refresh_token"],
                    "code_challenge_methods_supported": ["S256"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
                    "scopes_supported": sorted(oauth2_settings.SCOPES),
                }
            )
        )


class OAuth2AuthorizeApi(SageApiView):
    """django-oauth-toolkit's consent flow; a visitor who is not signed in is sent to the login page.

    Session authentication matters twice: DRF hands its user to the toolkit (``request._request.user``),
    and it enforces CSRF on the consent POST, which DRF's CSRF exemption would otherwise let through.
    """

    authentication_classes = [FormSessionAuthentication]
    permission_classes = [AllowAny]

    @extend_schema(
        tags=TAGS,
        parameters=[AuthorizeParams],
        responses={302: OpenApiResponse(description="Back to the client with ?code=...&state=..."),
                   200: OpenApiResponse(description="The consent page.")},
    )
    def get(self, request: Request) -> HttpResponse:
        return AuthorizationView.as_view()(request._request)

    @extend_schema(exclude=True)
    def post(self, request: Request) -> HttpResponse:
        return AuthorizationView.as_view()(request._request)


class OAuth2TokenApi(SageApiView):
    """Exchange a code (with its PKCE verifier) or a refresh token; the toolkit reads the form itself."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes = [FormParser]

    @extend_schema(tags=TAGS, request=TokenInput, responses={200: TokenOutput}, auth=[])
    def post(self, request: Request) -> HttpResponse:
        return TokenView.as_view()(request._request)


class OAuth2UserInfoApi(SageApiView):
    """The subject of an OAuth2 access token issued by this server."""

    authentication_classes = [OAuth2Authentication]
    permission_classes = [IsAuthenticated]

    def _body(self, request: Request) -> Response:
        user = request.user
        return raw(
            Response(
                {
                    "sub": str(user.pk),
                    "preferred_username": user.username,
                    "name": user.display_name,
                    "email": user.email,
                }
            )
        )

    @extend_schema(tags=TAGS, responses={200: UserInfoOutput})
    def get(self, request: Request) -> Response:
        return self._body(request)

    @extend_schema(tags=TAGS, request=None, responses={200: UserInfoOutput})
    def post(self, request: Request) -> Response:
        return self._body(request)
