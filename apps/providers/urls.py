"""Provider paths of 002 (``/api/llm-provider/*``) and 004 (``/api/models/available``)."""
from django.urls import path

from apps.providers.api import views

urlpatterns = [
    path("api/llm-provider/verify", views.LLMProviderVerifyApi.as_view(), name="llm-provider-verify"),
    path(
        "api/llm-provider/verify-multimodal",
        views.LLMProviderVerifyMultimodalApi.as_view(),
        name="llm-provider-verify-multimodal",
    ),
    path("api/llm-provider/list", views.LLMProviderListApi.as_view(), name="llm-provider-list"),
    path("api/llm-provider/create", views.LLMProviderCreateApi.as_view(), name="llm-provider-create"),
    path("api/llm-provider/update/<str:provider_id>", views.LLMProviderUpdateApi.as_view(), name="llm-provider-update"),
    path("api/llm-provider/delete/<str:provider_id>", views.LLMProviderDeleteApi.as_view(), name="llm-provider-delete"),
    path("api/models/available", views.AvailableModelsApi.as_view(), name="models-available"),
]
