"""002 /api/system/info and /api/system/update_settings."""
from __future__ import annotations

import pytest
from django.test import override_settings

from apps.accounts.tests.factories import MenuFactory, RoleFactory
from apps.system.models import SystemSetting
from apps.system.selectors import registration_switches, settings_all
from apps.system.tests.factories import SystemSettingFactory

SAGE_KEYS = {"code", "message", "data", "timestamp"}


@pytest.mark.django_db
def test_it_shows_the_public_system_info_in_the_envelope(anon):
    SystemSettingFactory(key="allow_registration", value=False)
    response = anon.get("/api/system/info")
    body = response.json()
    assert response.status_code == 200
    assert set(body) == SAGE_KEYS and body["code"] == 200
    data = body["data"]
    assert data["app_name"] == "CodexEngine V4"
    assert data["allow_registration"] is False
    assert data["registration_invite_only"] is False
    assert {"local_login_enabled", "captcha_enabled", "upstream_providers", "version"} <= set(data)


@pytest.mark.django_db
def test_system_info_names_the_configured_upstream_providers(anon):
    providers = {
        "github": {"APPS": [{"client_id": "x", "secret": "y"}]},
        "openid_connect": {"APPS": [{"provider_id": "corp", "name": "Corp SSO", "client_id": "x", "secret": "y"}]},
    }
    with override_settings(SOCIALACCOUNT_PROVIDERS=providers, CAPTCHA_ENABLED=False):
        data = anon.get("/api/system/info").json()["data"]
    assert data["upstream_providers"] == [{"id": "github", "name": "GitHub"}, {"id": "corp", "name": "Corp SSO"}]
    assert data["captcha_enabled"] is False
    assert "secret" not in str(data) and "client_id" not in str(data)


@pytest.mark.django_db
def test_an_admin_switches_registration_off(admin_client):
    response = admin_client.post("/api/system/update_settings", {"allow_registration": False}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"] == {}
    assert registration_switches().allowed is False
    response = admin_client.post(
        "/api/system/update_settings", {"allow_registration": True, "registration_invite_only": True}, format="json"
    )
    assert response.status_code == 200
    assert settings_all() == {"allow_registration": True, "registration_invite_only": True}


@pytest.mark.django_db
def test_a_holder_of_the_settings_permission_may_update(alice, client_for):
    role = RoleFactory()
    role.menus.add(MenuFactory(perms="sys:settings:edit"))
    alice.roles.add(role)
    response = client_for(alice).post("/api/system/update_settings", {"allow_registration": False}, format="json")
    assert response.status_code == 200
    assert registration_switches().allowed is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"allow_registration": "false"}, "allow_registration"),
        ({"allow_registration": 0}, "allow_registration"),
        ({"allow_registration": None}, "allow_registration"),
        ({"allow_registration": True, "smtp_password": "x"}, "smtp_password"),
        ({}, "non_field_errors"),
    ],
)
def test_it_rejects_anything_but_known_booleans(admin_client, payload, field):
    response = admin_client.post("/api/system/update_settings", payload, format="json")
    body = response.json()
    assert response.status_code == 400
    assert set(body) == SAGE_KEYS and body["code"] == 400
    assert field in body["data"]["errors"]
    assert not SystemSetting.objects.exists()


@pytest.mark.django_db
def test_it_rejects_a_body_that_is_not_an_object(admin_client):
    response = admin_client.post("/api/system/update_settings", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == 400


@pytest.mark.django_db
def test_it_rejects_malformed_json(admin_client):
    response = admin_client.generic("POST", "/api/system/update_settings", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == 400


@pytest.mark.django_db
def test_a_plain_user_may_not_update_settings(alice_client):
    response = alice_client.post("/api/system/update_settings", {"allow_registration": False}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == 403
    assert registration_switches().allowed is True


@pytest.mark.django_db
def test_anonymous_may_not_update_settings(anon):
    response = anon.post("/api/system/update_settings", {"allow_registration": False}, format="json")
    assert response.status_code == 401
    assert set(response.json()) == SAGE_KEYS and response.json()["code"] == 401
    assert registration_switches().allowed is True


@pytest.mark.django_db
def test_a_session_update_from_another_site_is_refused(admin_user):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)
    response = client.post("/api/system/update_settings", {"allow_registration": False}, format="json",
                           HTTP_ORIGIN="https://evil.example", HTTP_SEC_FETCH_SITE="cross-site")
    assert response.status_code == 403
    assert registration_switches().allowed is True
