"""Every documented path, grouped by domain app; the admin and the API docs."""
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.urls import MemoResolver

routes = [
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("accounts/", include("apps.accounts.allauth_urls")),
    path("", include("apps.system.urls")),
    path("", include("apps.accounts.urls")),
    path("", include("apps.providers.urls")),
    path("", include("apps.tools.urls")),
    path("", include("apps.agents.urls")),
    path("", include("apps.conversations.urls")),
    path("", include("apps.knowledge.urls")),
    path("", include("apps.tasks.urls")),
    path("", include("apps.sandboxes.urls")),
    path("", include("apps.studio.urls")),
    path("", include("apps.billing.urls")),
    path("", include("apps.web.urls")),
]

# Resolved once per path, not per request (apps/core/urls.py).
urlpatterns = [MemoResolver(routes)]

handler400 = "apps.core.api.exceptions.bad_request_view"
handler403 = "apps.core.api.exceptions.permission_denied_view"
handler404 = "apps.core.api.exceptions.not_found_view"
handler500 = "apps.core.api.exceptions.server_error_view"
