"""Send browsers that open ``/`` to the web app; API clients keep the 000 banner JSON there."""
from __future__ import annotations

from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.cache import patch_vary_headers
from django.utils.decorators import sync_and_async_middleware


def wants_html(request: HttpRequest) -> bool:
    # Browsers list text/html first; curl sends */*, API clients application/json.
    accept = request.headers.get("Accept", "")
    return "text/html" in accept and "application/json" not in accept


def _is_home(request: HttpRequest) -> bool:
    return request.path == "/" and request.method in ("GET", "HEAD")


def _answer(request: HttpRequest, response: HttpResponse | None) -> HttpResponse:
    response = response or HttpResponseRedirect("/app/")
    # Caches must not hand the redirect to an API client, nor the JSON to a browser.
    patch_vary_headers(response, ["Accept"])
    return response


@sync_and_async_middleware
def browser_home_redirect(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    """302 ``GET /`` to ``/app/`` when the Accept header asks for HTML and not JSON.

    A middleware rather than a change to the root view: ``/`` belongs to the 000 API,
    whose banner JSON is what every non-browser client must keep getting. It works in
    both modes so that it never forces an async (SSE) request through a thread.
    """
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponse:
            if not _is_home(request):
                return await get_response(request)
            return _answer(request, None if wants_html(request) else await get_response(request))

        return middleware

    def sync_middleware(request: HttpRequest) -> HttpResponse:
        if not _is_home(request):
            return get_response(request)
        return _answer(request, None if wants_html(request) else get_response(request))

    return sync_middleware
