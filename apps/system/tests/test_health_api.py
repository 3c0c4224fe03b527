"""/health (003), /api/health (002 and 004) and /api/health/deep (004)."""
from __future__ import annotations

from datetime import datetime

import pytest
from django.conf import settings
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_it_answers_the_003_health_check(anon):
    response = anon.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["service"] == "codexengine"
    assert body["version"] == settings.APP_VERSION
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_it_answers_the_shared_api_health_without_an_envelope(anon):
    response = anon.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "timestamp", "service", "instance_id", "version"}
    assert body["status"] == "ok"
    assert body["instance_id"] == settings.INSTANCE_ID


def test_health_ignores_a_bad_token(anon):
    anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert anon.get("/api/health").status_code == 200
    assert anon.get("/health").status_code == 200


def test_health_rejects_other_methods_in_each_apis_shape(anon):
    response = anon.post("/health")
    assert response.status_code == 405
    assert set(response.json()) == {"detail", "code"}
    response = anon.post("/api/health")
    assert response.status_code == 405
    assert set(response.json()) == {"detail"}


@pytest.mark.django_db(transaction=True)
def test_deep_health_reports_every_component_healthy_with_a_live_worker(admin_client, celery_worker_process):
    response = admin_client.get("/api/health/deep")
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "healthy"
    assert set(body["checks"]) == {"postgres", "pgvector", "redis", "celery"}
    for name, check in body["checks"].items():
        assert check["status"] == "ok", (name, check)
        assert check["latency_ms"] >= 0
    assert body["checks"]["pgvector"]["detail"].startswith("pgvector ")


@pytest.mark.django_db
def test_deep_health_is_503_when_no_worker_answers(anon):
    # A broker database no worker listens on: the ping reaches nobody.
    broker = settings.REDIS_URL.rsplit("/", 1)[0] + "/15"
    with override_settings(CELERY_BROKER_URL=broker):
        response = anon.get("/api/health/deep")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unhealthy"
    assert body["checks"]["celery"] == {**body["checks"]["celery"], "status": "down", "detail": "no workers answered"}
    assert body["checks"]["postgres"]["status"] == "ok"


@pytest.mark.django_db
def test_deep_health_is_503_when_redis_is_down(anon):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0", CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = anon.get("/api/health/deep")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["redis"]["status"] == "down"
    assert body["checks"]["redis"]["critical"] is True
    assert "127.0.0.1" not in str(body)


@pytest.mark.django_db
def test_without_redis_at_start_its_absence_is_degraded_not_unhealthy(anon):
    with override_settings(REDIS_AVAILABLE=False, REDIS_URL="redis://127.0.0.1:1/0", CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = anon.get("/api/health/deep")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["redis"] == {**body["checks"]["redis"], "status": "down", "critical": False}
