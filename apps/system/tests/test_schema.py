"""The OpenAPI schema generates without errors, and Swagger UI renders it."""
from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


def test_the_schema_generates_without_errors():
    GENERATOR_STATS.reset()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    errors = list(GENERATOR_STATS._error_cache)
    GENERATOR_STATS.reset()
    assert not errors, "\n".join(errors)
    paths = schema["paths"]
    assert {"/health", "/api/health", "/api/health/deep", "/api/system/info", "/api/system/update_settings"} <= set(paths)
    info = paths["/api/system/info"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert info["$ref"].endswith("/SystemInfoResponse")
    update = paths["/api/system/update_settings"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert update["$ref"].endswith("/SystemSettingsUpdateRequest")


def test_the_schema_is_served(anon):
    response = anon.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "CodexEngine API"


def test_swagger_ui_renders(anon):
    response = anon.get("/api/docs/")
    assert response.status_code == 200
    assert "swagger-ui" in response.content.decode()
