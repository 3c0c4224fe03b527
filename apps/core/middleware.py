"""The innermost middleware: it keeps the whole middleware chain in the request's one thread.

Django runs a middleware in async mode whenever the handler below it is async. Its own
middleware (sessions, CSRF, auth, messages, ...) are ``MiddlewareMixin`` classes whose async
mode hands every ``process_request`` and ``process_response`` to a thread and back: about
fourteen thread round trips per request, each waking the event loop, which was a fifth of
daphne's busy time while fifty chats started together. This one is synchronous only, so
every middleware above it runs synchronously too: the request goes to its thread once, comes
back to the loop once for the view's (async) dispatch, and the sync view runs in that same
thread. Streams still stream from the event loop once the response is returned.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest


class OneThreadMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        return self.get_response(request)
