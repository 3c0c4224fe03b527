"""The documented sandbox paths of 003 and 004, and /sites/ (deployed projects)."""
from django.urls import path, re_path

from apps.sandboxes import sites
from apps.sandboxes.api import views

A = "api/v1/agent/sandboxes"

urlpatterns = [
    # 003 — agents backend
    path(A, views.AdminSandboxCreateApi.as_view(), name="admin-sandbox-create"),
    path(f"{A}/connect", views.AdminSandboxConnectApi.as_view(), name="admin-sandbox-connect"),
    path(f"{A}/run-command", views.AdminSandboxRunCommandApi.as_view(), name="admin-sandbox-run-command"),
    path(f"{A}/write-file", views.AdminSandboxWriteFileApi.as_view(), name="admin-sandbox-write-file"),
    path(f"{A}/read-file", views.AdminSandboxReadFileApi.as_view(), name="admin-sandbox-read-file"),
    path(f"{A}/upload-file", views.AdminSandboxUploadFileApi.as_view(), name="admin-sandbox-upload-file"),
    path(f"{A}/upload-from-url", views.AdminSandboxUploadFromUrlApi.as_view(), name="admin-sandbox-upload-from-url"),
    path(f"{A}/download-to-presigned", views.AdminSandboxDownloadToPresignedApi.as_view(), name="admin-sandbox-presigned"),
    path(f"{A}/<str:sandbox_id>", views.AdminSandboxDetailApi.as_view(), name="admin-sandbox"),
    path(f"{A}/<str:sandbox_id>/info", views.AdminSandboxInfoApi.as_view(), name="admin-sandbox-info"),
    path(f"{A}/<str:sandbox_id>/urls", views.AdminSandboxUrlsApi.as_view(), name="admin-sandbox-urls"),
    path(f"{A}/<str:sandbox_id>/timeout", views.AdminSandboxTimeoutApi.as_view(), name="admin-sandbox-timeout"),
    path(f"{A}/<str:sandbox_id>/pause", views.AdminSandboxPauseApi.as_view(), name="admin-sandbox-pause"),
    path(f"{A}/<str:sandbox_id>/expose-port", views.AdminSandboxExposePortApi.as_view(), name="admin-sandbox-expose-port"),
    path(f"{A}/<str:sandbox_id>/mkdir", views.AdminSandboxMkdirApi.as_view(), name="admin-sandbox-mkdir"),
    path(f"{A}/<str:sandbox_id>/slides", views.AdminSlidesApi.as_view(), name="admin-sandbox-slides"),
    path(f"{A}/<str:sandbox_id>/slides/<str:slide_id>", views.AdminSlideDetailApi.as_view(), name="admin-sandbox-slide"),
    # 004 — agent platform
    path("api/project/<str:project_id>/sandbox/ensure-active", views.PlatformEnsureActiveApi.as_view(), name="platform-sandbox-ensure"),
    path("api/sandboxes/<str:sandbox_id>", views.PlatformSandboxDeleteApi.as_view(), name="platform-sandbox"),
    path("api/sandboxes/<str:sandbox_id>/files", views.PlatformFilesApi.as_view(), name="platform-sandbox-files"),
    path("api/sandboxes/<str:sandbox_id>/files/tree", views.PlatformFileTreeApi.as_view(), name="platform-sandbox-tree"),
    path("api/sandboxes/<str:sandbox_id>/files/content", views.PlatformFileContentApi.as_view(), name="platform-sandbox-content"),
    path("api/sandboxes/<str:sandbox_id>/download-archive", views.PlatformDownloadArchiveApi.as_view(), name="platform-sandbox-archive"),
    path("api/sandboxes/<str:sandbox_id>/execute", views.PlatformExecuteApi.as_view(), name="platform-sandbox-execute"),
    path(
        "api/sandboxes/<str:sandbox_id>/sessions/<str:session_name>/status",
        views.PlatformSessionStatusApi.as_view(), name="platform-sandbox-session",
    ),
    path("api/sandboxes/<str:sandbox_id>/preview-url", views.PlatformPreviewUrlApi.as_view(), name="platform-sandbox-preview"),
    path("api/sandboxes/<str:sandbox_id>/expo-url", views.PlatformExpoUrlApi.as_view(), name="platform-sandbox-expo"),
    path("api/sandboxes/<str:sandbox_id>/dev-server/stream", views.PlatformDevServerStreamApi.as_view(), name="platform-sandbox-stream"),
    path("api/project/<str:project_id>/deploy/git", views.PlatformDeployGitApi.as_view(), name="platform-deploy-git"),
    path("api/project/<str:project_id>/deploy/git/update", views.PlatformDeployGitUpdateApi.as_view(), name="platform-deploy-update"),
    path("api/project/<str:project_id>/deployment/status", views.PlatformDeploymentStatusApi.as_view(), name="platform-deploy-status"),
    path(
        "api/project/<str:project_id>/deployment/live-status",
        views.PlatformDeploymentLiveStatusApi.as_view(), name="platform-deploy-live",
    ),
    # Deployed sites
    re_path(r"^sites/(?P<slug>[a-z0-9-]{1,80})(?P<path>/.*)?$", sites.site_file, name="site-file"),
]
