"""The memoizing root resolver resolves as Django's would, and does not keep what it must not."""
from __future__ import annotations

import pytest
from django.urls import Resolver404, get_resolver, resolve, reverse

from apps.core.urls import MemoResolver


def _memo() -> MemoResolver:
    return next(pattern for pattern in get_resolver().url_patterns if isinstance(pattern, MemoResolver))


def test_a_path_resolves_the_same_the_second_time_and_is_kept():
    first, second = resolve("/chat/stream"), resolve("/chat/stream")
    assert first.func is second.func and first.route == second.route == "chat/stream"
    assert first is not second  # each request gets its own match; the kept one is never handed out
    assert "chat/stream" in _memo()._hits


def test_captured_arguments_belong_to_their_own_path():
    one, two = resolve("/api/sandboxes/sbx-one"), resolve("/api/sandboxes/sbx-two")
    assert one.kwargs != two.kwargs and set(one.kwargs.values()) == {"sbx-one"}
    one.kwargs["changed"] = True  # a view changing its kwargs changes nothing kept
    assert "changed" not in resolve("/api/sandboxes/sbx-one").kwargs


def test_unknown_and_long_paths_are_not_kept():
    memo = _memo()
    with pytest.raises(Resolver404):
        resolve("/no/such/route")
    assert "no/such/route" not in memo._hits
    long_path = "api/sandboxes/" + "x" * 300
    assert resolve(f"/{long_path}").kwargs == {"sandbox_id": "x" * 300}
    assert long_path not in memo._hits


def test_the_oldest_paths_go_first_once_full(monkeypatch):
    memo = _memo()
    monkeypatch.setattr(memo, "_size", 2)
    memo._hits.clear()
    for path in ("/chat/stream", "/v1/models", "/v1/chat/completions"):
        resolve(path)
    assert list(memo._hits) == ["v1/models", "v1/chat/completions"]


def test_reverse_is_unchanged():
    assert reverse("schema") == "/api/schema/"
