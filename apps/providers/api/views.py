"""Provider routes: 002 ``/api/llm-provider/*`` and 004 ``/api/models/available``."""
from __future__ import annotations

from asgiref.sync import async_to_sync
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.core.api.views import PlatformApiView, SageApiView
from apps.providers import selectors, services
from apps.providers.api import serializers as s

SAGE_AUTHENTICATION = [BearerAuthentication, CsrfSessionAuthentication]


class LLMProviderVerifyApi(SageApiView):
    authentication_classes = SAGE_AUTHENTICATION
    multimodal = False

    @extend_schema(request=s.LLMProviderCreateSerializer, responses=s.VerifyResultSerializer, tags=["llm-provider"])
    def post(self, request: Request) -> Response:
        data = s.LLMProviderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = async_to_sync(services.llm_provider_verify)(
            user=request.user, **data.validated_data, multimodal=self.multimodal
        )
        return Response(s.VerifyResultSerializer(result).data)


class LLMProviderVerifyMultimodalApi(LLMProviderVerifyApi):
    multimodal = True


class LLMProviderListApi(SageApiView):
    authentication_classes = SAGE_AUTHENTICATION

    @extend_schema(responses=s.LLMProviderSerializer(many=True), tags=["llm-provider"])
    def get(self, request: Request) -> Response:
        return Response(s.LLMProviderSerializer(selectors.provider_list(user=request.user), many=True).data)


class LLMProviderCreateApi(SageApiView):
    authentication_classes = SAGE_AUTHENTICATION

    @extend_schema(request=s.LLMProviderCreateSerializer, responses=s.LLMProviderSerializer, tags=["llm-provider"])
    def post(self, request: Request) -> Response:
        data = s.LLMProviderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = services.llm_provider_create(owner=request.user, **data.validated_data)
        return Response(s.LLMProviderSerializer(provider).data)


class LLMProviderUpdateApi(SageApiView):
    authentication_classes = SAGE_AUTHENTICATION

    @extend_schema(request=s.LLMProviderUpdateSerializer, responses=s.LLMProviderSerializer, tags=["llm-provider"])
    def put(self, request: Request, provider_id: str) -> Response:
        provider = selectors.provider_get_owned(user=request.user, provider_id=provider_id)
        data = s.LLMProviderUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        provider = services.llm_provider_update(provider=provider, user=request.user, **data.validated_data)
        return Response(s.LLMProviderSerializer(provider).data)


class LLMProviderDeleteApi(SageApiView):
    authentication_classes = SAGE_AUTHENTICATION

    @extend_schema(responses=s.DeleteResultSerializer, tags=["llm-provider"])
    def delete(self, request: Request, provider_id: str) -> Response:
        provider = selectors.provider_get_owned(user=request.user, provider_id=provider_id)
        pk = provider.pk
        services.llm_provider_delete(provider=provider)
        return Response({"provider_id": str(pk), "success": True})


class AvailableModelsApi(PlatformApiView):
    @extend_schema(responses=s.AvailableModelsSerializer, tags=["models"])
    def get(self, request: Request) -> Response:
        return Response(s.AvailableModelsSerializer({"models": selectors.available_models(user=request.user)}).data)

