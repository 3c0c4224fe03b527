"""The 23 routes of issue 12 (studio, schedulers, code generator, versions, Jaeger) resolve with their methods."""
from __future__ import annotations

from apps.system.tests.test_routes import _problem

ROUTES = [
    ("POST", "/api/v1/agent/generation/podcast"), ("POST", "/api/v1/agent/generation/ppt"),
    ("POST", "/api/v1/agent/generation/prose"), ("POST", "/api/v1/agent/generation/enhance-prompt"),
    ("POST", "/api/v1/agent/tts/synthesize"),
    ("GET", "/api/v1/task/schedulers"), ("POST", "/api/v1/task/schedulers"), ("PUT", "/api/v1/task/schedulers/{id}"),
    ("DELETE", "/api/v1/task/schedulers/{id}"), ("POST", "/api/v1/task/schedulers/{id}/run"),
    ("GET", "/api/v1/admin/gen/business"), ("POST", "/api/v1/admin/gen/business"),
    ("POST", "/api/v1/admin/gen/business/{id}/generate"),
    ("GET", "/api/system/version/check"), ("GET", "/api/system/version/latest"),
    ("POST", "/api/system/version/import_github"), ("POST", "/api/system/version"), ("GET", "/api/system/version"),
    ("DELETE", "/api/system/version/1.2.0"), ("GET", "/api/observability/jaeger/login"),
    ("GET", "/api/observability/jaeger/auth"), ("GET", "/api/observability/jaeger"),
    ("PATCH", "/api/observability/jaeger/api/traces"),
]


def test_every_route_of_issue_12_resolves_with_its_method():
    problems = [f"{method} {path}: {problem}" for method, path in ROUTES if (problem := _problem(method, path))]
    assert not problems, "\n".join(problems)
