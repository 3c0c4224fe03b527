"""Health and system paths of all five APIs."""
from django.urls import path

from apps.system.api import codegen, releases, views

urlpatterns = [
    path("", views.RootApi.as_view(), name="root"),
    path("health", views.AdminHealthApi.as_view(), name="admin-health"),
    path("api/health", views.HealthApi.as_view(), name="health"),
    path("api/health/deep", views.DeepHealthApi.as_view(), name="health-deep"),
    path("api/system/info", views.SystemInfoApi.as_view(), name="system-info"),
    path("api/system/update_settings", views.SystemSettingsUpdateApi.as_view(), name="system-update-settings"),
    path("api/system/version", releases.VersionListApi.as_view(), name="system-versions"),
    path("api/system/version/latest", releases.VersionLatestApi.as_view(), name="system-version-latest"),
    path("api/system/version/check", releases.VersionCheckApi.as_view(), name="system-version-check"),
    path("api/system/version/import_github", releases.VersionImportGithubApi.as_view(), name="system-version-import"),
    path("api/system/version/<str:version_str>", releases.VersionDeleteApi.as_view(), name="system-version"),
    path("api/observability/jaeger/login", releases.JaegerLoginApi.as_view(), name="jaeger-login"),
    path("api/observability/jaeger/auth", releases.JaegerAuthApi.as_view(), name="jaeger-auth"),
    path("api/observability/jaeger", releases.JaegerRedirectApi.as_view(), name="jaeger"),
    path("api/observability/jaeger/<path:full_path>", releases.JaegerRedirectApi.as_view(), name="jaeger-path"),
    path("api/v1/admin/gen/business", codegen.CodeGenConfigListApi.as_view(), name="codegen-configs"),
    path("api/v1/admin/gen/business/<str:config_id>/generate", codegen.CodeGenGenerateApi.as_view(),
         name="codegen-generate"),
]
