"""``/sites/<slug>/...``: the files of a project's live deployment, served defensively.

Deployed pages are code that an agent or a user wrote; they are served from the platform's
own origin, so every answer carries a sandboxing CSP (an opaque origin: no access to the
platform's cookies or same-origin APIs) and ``nosniff``. Paths are walked without following
links, like sandbox files (:mod:`apps.sandboxes.files`).
"""
from __future__ import annotations

import mimetypes
import os

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect

from apps.core.errors import Invalid, NotFound
from apps.sandboxes import deploy, selectors
from apps.sandboxes.files import Workspace

SITE_CSP = "sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads; frame-ancestors 'self'"


def harden(response: HttpResponse) -> HttpResponse:
    response["Content-Security-Policy"] = SITE_CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def site_file(request: HttpRequest, slug: str, path: str | None = None) -> HttpResponse:
    if path is None:
        return harden(HttpResponseRedirect(f"/sites/{slug}/"))
    path = path[1:]
    if request.method not in ("GET", "HEAD"):
        return harden(HttpResponse("Method not allowed.", status=405, content_type="text/plain"))
    deployment = selectors.deployment_live(site_slug=slug)
    if deployment is None:
        raise Http404("No such site.")
    site = Workspace(deploy.deployment_site_root(deployment))
    try:
        if not path or path.endswith("/") or site.is_dir(path):
            if path and not path.endswith("/"):
                return harden(HttpResponseRedirect(f"/sites/{slug}/{path}/"))
            path = f"{path}index.html"
        fd = site.open(path)
    except (NotFound, Invalid) as exc:
        raise Http404("No such file.") from exc
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    response = FileResponse(os.fdopen(fd, "rb"), content_type=content_type)
    return harden(response)
