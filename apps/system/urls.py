"""Health and system paths of all five APIs."""
from django.urls import path

from apps.system.api import views

urlpatterns = [
    path("", views.RootApi.as_view(), name="root"),
    path("health", views.AdminHealthApi.as_view(), name="admin-health"),
    path("api/health", views.HealthApi.as_view(), name="health"),
    path("api/health/deep", views.DeepHealthApi.as_view(), name="health-deep"),
    path("api/system/info", views.SystemInfoApi.as_view(), name="system-info"),
    path("api/system/update_settings", views.SystemSettingsUpdateApi.as_view(), name="system-update-settings"),
]
