"""A URL resolver that remembers the paths it has resolved.

Django tries a request's path against every pattern in order, and each ``include("")``
that does not match builds the list of everything it tried; with every documented
route behind a dozen such includes, that took 0.3-2 ms of CPU per resolve, twice per
request (the input guard resolves too), on the streaming routes as well. Resolving
depends on the path alone, so a path resolved once resolves the same way until the
process restarts (the URLconf does not change while it runs). Paths that do not
resolve are not kept, nor long ones; the oldest kept path goes first once full.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from django.urls import URLPattern, URLResolver
from django.urls.resolvers import ResolverMatch, RoutePattern


class MemoResolver(URLResolver):
    """``include("")`` of ``patterns`` that keeps the last ``size`` resolved paths."""

    MAX_PATH = 256  # ids make most paths unique; longer ones (proxied previews) are resolved each time

    def __init__(self, patterns: list[URLPattern | URLResolver], *, size: int = 4096) -> None:
        super().__init__(RoutePattern(""), patterns)
        self._size = size
        self._hits: OrderedDict[str, ResolverMatch] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, path: Any) -> ResolverMatch:
        path = str(path)
        match = self._hits.get(path)
        if match is not None:
            return match  # the caller builds its own ResolverMatch from it: this one is never changed
        match = super().resolve(path)  # Resolver404 propagates, and nothing is kept
        if len(path) <= self.MAX_PATH:
            # Every pattern tried before this one, which the caller copies into each request's match;
            # only the 404 debug page reads it, and that comes from a Resolver404.
            match.tried = []
            with self._lock:
                self._hits[path] = match
                while len(self._hits) > self._size:
                    self._hits.popitem(last=False)
        return match
