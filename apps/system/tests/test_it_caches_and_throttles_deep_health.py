"""/api/health/deep is cached for a few seconds, throttled, and shows versions to staff only."""
from __future__ import annotations

import pytest
from django.test import override_settings

from apps.system import selectors

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted_checks(monkeypatch):
    calls: list[int] = []
    real = selectors.health_checks

    def counting(**kwargs):
        calls.append(1)
        return real(only=("postgres", "pgvector"), **kwargs)

    monkeypatch.setattr(selectors, "health_checks", counting)
    return calls


def test_results_are_cached_so_callers_do_not_each_ping_the_workers(anon, counted_checks):
    for _ in range(5):
        assert anon.get("/api/health/deep").status_code == 200
    assert len(counted_checks) == 1


@override_settings(HEALTH_DEEP_CACHE_SECONDS=0)
def test_with_caching_off_every_call_checks(anon, counted_checks):
    anon.get("/api/health/deep")
    anon.get("/api/health/deep")
    assert len(counted_checks) == 2


def test_versions_are_shown_to_staff_only(anon, alice_client, admin_client, counted_checks):
    for client in (anon, alice_client):
        checks = client.get("/api/health/deep").json()["checks"]
        assert checks["postgres"]["status"] == "ok" and checks["postgres"]["detail"] == ""
        assert "PostgreSQL" not in str(checks) and "pgvector 0" not in str(checks)
    checks = admin_client.get("/api/health/deep").json()["checks"]
    assert checks["postgres"]["detail"].startswith("PostgreSQL ")


def test_a_bad_token_is_treated_as_anonymous(anon, counted_checks):
    response = anon.get("/api/health/deep", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 200
    assert response.json()["checks"]["postgres"]["detail"] == ""


@override_settings(HEALTH_DEEP_THROTTLE="3/min")
def test_it_is_throttled_per_client(anon, counted_checks):
    statuses = [anon.get("/api/health/deep").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
