"""API keys for programs (not in the five documents): ``/api/keys``."""
from django.urls import path

from apps.accounts.api.keys import views

urlpatterns = [
    path("api/keys", views.ApiKeyListApi.as_view(), name="api-keys"),
    path("api/keys/<str:key_id>", views.ApiKeyRevokeApi.as_view(), name="api-key"),
]
