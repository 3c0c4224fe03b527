"""``/api/keys``: a user makes, lists and revokes their API keys. Errors are ``{"detail"}``.

These routes take a sign-in token or an API key (see ``api_key_authentication``).
"""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api.keys import serializers as s
from apps.accounts.api_key_authentication import ApiKeyAuthentication
from apps.accounts.authentication import BearerAuthentication
from apps.accounts.selectors import api_keys as selectors
from apps.accounts.services import api_keys as services
from apps.core.api.views import CodexApiView


class ApiKeyView(CodexApiView):
    authentication_classes = [ApiKeyAuthentication, BearerAuthentication]


class ApiKeyListApi(ApiKeyView):
    @extend_schema(responses=s.ApiKeyList, summary="The user's API keys, newest first (no secrets)")
    def get(self, request: Request) -> Response:
        return Response({"keys": s.ApiKeyOutput(selectors.api_key_list(user=request.user), many=True).data})

    @extend_schema(request=s.ApiKeyInput, responses={201: s.ApiKeyCreated}, summary="Make a key; its secret is shown once")
    def post(self, request: Request) -> Response:
        data = s.ApiKeyInput(data=request.data)
        data.is_valid(raise_exception=True)
        key, secret = services.api_key_create(
            owner=request.user, name=data.validated_data["name"], expires_at=data.validated_data.get("expires_at")
        )
        return Response(s.ApiKeyCreated(key, context={"secret": secret}).data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(ApiKeyView):
    @extend_schema(responses=s.ApiKeyOutput, summary="Revoke a key at once (it stays listed, inactive)")
    def delete(self, request: Request, key_id: str) -> Response:
        key = services.api_key_revoke(api_key=selectors.api_key_get(user=request.user, key_id=key_id))
        return Response(s.ApiKeyOutput(key).data)
