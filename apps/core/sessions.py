"""Sessions by id, for the apps below the ones that own them.

A session is what usage, credits and workspaces are kept per: a chat thread (the
conversations app) or a 001 task (the tasks app). Billing and the agents' workspaces
name sessions by id but sit below those apps, so each owning app registers a reader
here at start-up (its ``AppConfig.ready``) and the others ask here: nobody imports upward.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

#: ``(user, session_ids) -> {session_id: title}`` for those ids that are ``user``'s own sessions.
SessionTitles = Callable[[Any, Sequence[str]], dict[str, str]]

_sources: dict[str, SessionTitles] = {}


def session_source_register(kind: str, titles: SessionTitles) -> None:
    _sources[kind] = titles


def session_titles(*, user: Any, session_ids: Sequence[str], kinds: Iterable[str] | None = None) -> dict[str, str]:
    """The titles of those of ``session_ids`` that are ``user``'s sessions (of ``kinds``; all kinds by default)."""
    wanted = set(_sources) if kinds is None else set(kinds)
    titles: dict[str, str] = {}
    ids = [str(session_id) for session_id in session_ids]
    for kind, source in _sources.items():
        if kind in wanted and ids:
            titles.update(source(user, ids))
    return titles
