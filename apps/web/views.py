"""Pages of the web app. They are static shells: the page scripts sign in through the
documented APIs and keep the JWT in sessionStorage, so the server renders no user data at all."""
from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

ASSETS_DIR = Path(__file__).resolve().parent / "static" / "web"
ASSET_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}
# A module's relative imports (`from "./core.js"`, `import("./chat.js")`): the asset view writes
# each one's version into it, so a changed module changes the URL of every module that imports it.
RELATIVE_IMPORT = re.compile(r"""(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.\.?/[^"'?#\s]+)\2""")

# No inline script or style anywhere, so the policy can forbid both: model output that
# somehow reached the DOM as markup still could not run. Frames only from our own origin:
# the sandbox preview (/preview/...), which answers with its own sandboxing CSP.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def asset_path(name: str) -> Path | None:
    """The file under static/web/ that ``name`` names, or None: no dot files or dot segments,
    only allow-listed extensions, and nothing that resolves outside the assets directory."""
    parts = PurePosixPath(name).parts
    if not parts or "\\" in name or any(part.startswith(".") for part in parts) or name.startswith("/"):
        return None
    path = ASSETS_DIR.joinpath(*parts)
    if path.suffix not in ASSET_TYPES:
        return None
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not resolved.is_relative_to(ASSETS_DIR.resolve()) or not resolved.is_file():
        return None
    return resolved


@cache
def asset_body(name: str) -> bytes:
    """The bytes served for an asset: a module gets its relative imports versioned. Computed
    once per process (assets change only on deploy); our modules import no cycles."""
    path = asset_path(name)
    if path is None:
        raise Http404
    body = path.read_bytes()
    if path.suffix not in (".js", ".mjs"):
        return body
    base = PurePosixPath(name).parent

    def versioned(match: re.Match[str]) -> str:
        target = (base / match.group(3)).as_posix()
        parts: list[str] = []
        for part in target.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part != ".":
                parts.append(part)
        dependency = "/".join(parts)
        if asset_path(dependency) is None:
            return match.group(0)
        return f"{match.group(1)}{match.group(2)}{match.group(3)}?v={asset_version(dependency)}{match.group(2)}"

    return RELATIVE_IMPORT.sub(versioned, body.decode()).encode()


@cache
def asset_version(name: str) -> str:
    """A content hash of what is served, for cache busting."""
    return hashlib.sha256(asset_body(name)).hexdigest()[:12]


def asset_url(name: str) -> str:
    return f"/app/assets/{name}?v={asset_version(name)}"


class WebPageView(TemplateView):
    """One screen's shell: ``web/<page>.html`` with the strict policy (plus ``extra_policy``)."""

    page = ""
    extra_policy = ""

    def get_template_names(self) -> list[str]:
        return [f"web/{self.page}.html"]

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs), "page": self.page, "app_name": settings.APP_NAME}

    def render_to_response(self, context: dict[str, object], **kwargs: object) -> HttpResponse:
        response = super().render_to_response(context, **kwargs)
        response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY + self.extra_policy
        response["Cache-Control"] = "no-cache"
        return response


@require_GET
def asset(request: HttpRequest, name: str) -> HttpResponse:
    """Serve the files under static/web/ ourselves: daphne serves no /static/ without a CDN or
    whitenoise, and the web app must work from a bare ``make run``."""
    if asset_path(name) is None:
        raise Http404
    version = asset_version(name)
    etag = f'"{version}"'
    if request.headers.get("If-None-Match") == etag:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(asset_body(name), content_type=ASSET_TYPES[PurePosixPath(name).suffix])
    response["ETag"] = etag
    response["X-Content-Type-Options"] = "nosniff"
    # The URL carries the content hash (?v=), so a year is safe; a stale ?v is just revalidated.
    if request.GET.get("v") == version:
        response["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response["Cache-Control"] = "no-cache"
    return response
