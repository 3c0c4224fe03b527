"""Pages of the web app. They are static shells: app.js signs in through the 000 API and
keeps the JWT in sessionStorage, so the server renders no user data at all."""
from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "web"
ASSETS = {"app.js": "text/javascript", "app.css": "text/css"}

# No inline script or style anywhere, so the policy can forbid both: model output that
# somehow reached the DOM as markup still could not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@cache
def asset_version(name: str) -> str:
    """A content hash for cache busting; computed once per process (assets change only on deploy)."""
    return hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest()[:12]


class WebPageView(TemplateView):
    page = ""

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {
            **super().get_context_data(**kwargs),
            "page": self.page,
            "app_name": settings.APP_NAME,
            "js_version": asset_version("app.js"),
            "css_version": asset_version("app.css"),
        }

    def render_to_response(self, context: dict[str, object], **kwargs: object) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response["Cache-Control"] = "no-cache"
        return response


class ChatPageView(WebPageView):
    template_name = "web/chat.html"
    page = "chat"


class LoginPageView(WebPageView):
    template_name = "web/login.html"
    page = "login"


@require_GET
def asset(request: HttpRequest, name: str) -> FileResponse:
    """Serve app.js and app.css ourselves: daphne serves no /static/ without a CDN or whitenoise,
    and the web app must work from a bare ``make run``."""
    if name not in ASSETS:
        raise Http404
    response = FileResponse((ASSETS_DIR / name).open("rb"), content_type=f"{ASSETS[name]}; charset=utf-8")
    # The URL carries the content hash (?v=), so a year is safe; a stale ?v is just revalidated.
    if request.GET.get("v") == asset_version(name):
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response["Cache-Control"] = "no-cache"
    return response
