"""002 — Sage user routes: options, change-password, list/add/delete (menu permissions), config."""
from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.services.users import user_assign_roles
from apps.accounts.tests.factories import MenuFactory, RoleFactory, UserFactory

pytestmark = pytest.mark.django_db


def _assert_envelope_error(response, status):
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == status
    return body


def _grant(user: User, *codes: str) -> None:
    role = RoleFactory()
    role.menus.set([MenuFactory(perms=code) for code in codes])
    user_assign_roles(user=user, role_ids=[role.pk])


# ------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------
def test_options_list_other_active_users_without_emails(alice_client, alice, bob):
    UserFactory(username="gone", is_active=False)
    data = alice_client.get("/api/user/options").json()["data"]
    assert [item["username"] for item in data] == ["bob"]
    assert data[0]["value"] == str(bob.pk)
    assert "email" not in data[0]


def test_options_need_a_login(anon):
    _assert_envelope_error(anon.get("/api/user/options"), 401)


# ------------------------------------------------------------------------------
# change-password
# ------------------------------------------------------------------------------
def test_it_changes_the_password_and_keeps_the_session(alice, password):
    client = APIClient()
    client.post("/api/auth/login", {"username_or_email": "alice", "password": password}, format="json")
    response = client.post(
        "/api/user/change-password",
        {"old_password": password, "new_password": "brand-new-passphrase"},
        format="json",
    )
    assert response.status_code == 200, response.content
    alice.refresh_from_db()
    assert alice.check_password("brand-new-passphrase")
    assert client.get("/api/auth/session").status_code == 200


def test_a_wrong_old_password_is_refused(alice_client):
    body = {"old_password": "not-the-password", "new_password": "brand-new-passphrase"}
    _assert_envelope_error(alice_client.post("/api/user/change-password", body, format="json"), 403)


def test_a_weak_new_password_is_refused(alice_client, password):
    body = _assert_envelope_error(
        alice_client.post("/api/user/change-password", {"old_password": password, "new_password": "1234"}, format="json"),
        400,
    )
    assert "password" in body["data"]["errors"]


def test_change_password_needs_a_login(anon):
    _assert_envelope_error(anon.post("/api/user/change-password", {}, format="json"), 401)


# ------------------------------------------------------------------------------
# list / add / delete
# ------------------------------------------------------------------------------
def test_admins_list_users_page_by_page(admin_client, alice, bob):
    response = admin_client.get("/api/user/list", {"page": 1, "page_size": 2})
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["total"] == 3
    assert len(data["items"]) == 2
    assert admin_client.get("/api/user/list", {"page": 2, "page_size": 2}).json()["data"]["items"][0]["user_id"]


def test_list_rejects_bad_paging(admin_client):
    body = _assert_envelope_error(admin_client.get("/api/user/list", {"page_size": 0}), 400)
    assert "page_size" in body["data"]["errors"]


def test_a_menu_permission_grants_the_list(client_for, charlie, alice):
    _grant(charlie, "sys:user:list")
    assert client_for(charlie).get("/api/user/list").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/user/list"), ("post", "/api/user/add"), ("post", "/api/user/delete")]
)
def test_user_admin_routes_are_403_for_plain_users(alice_client, method, path):
    _assert_envelope_error(getattr(alice_client, method)(path, format="json"), 403)


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/user/list"), ("post", "/api/user/add"), ("post", "/api/user/delete")]
)
def test_user_admin_routes_are_401_for_anonymous(anon, method, path):
    _assert_envelope_error(getattr(anon, method)(path, format="json"), 401)


def test_list_permission_does_not_grant_add(client_for, charlie):
    _grant(charlie, "sys:user:list")
    body = {"username": "newbie", "password": "a-long-passphrase"}
    _assert_envelope_error(client_for(charlie).post("/api/user/add", body, format="json"), 403)


def test_admins_add_users(admin_client):
    body = {"username": "newbie", "password": "a-long-passphrase", "nickname": "Newbie", "phonenum": "123"}
    response = admin_client.post("/api/user/add", body, format="json")
    assert response.status_code == 200, response.content
    user = User.objects.get(pk=response.json()["data"]["user_id"])
    assert (user.nickname, user.phone, user.email) == ("Newbie", "123", "")
    # A second account without an email is fine: only real addresses are unique.
    second = admin_client.post("/api/user/add", {**body, "username": "newbie2"}, format="json")
    assert second.status_code == 200, second.content


def test_add_rejects_bad_input_and_duplicates(admin_client, alice):
    body = _assert_envelope_error(admin_client.post("/api/user/add", {"username": "x"}, format="json"), 400)
    assert {"username", "password"} <= set(body["data"]["errors"])
    duplicate = {"username": "Alice", "password": "a-long-passphrase"}
    _assert_envelope_error(admin_client.post("/api/user/add", duplicate, format="json"), 409)


def test_admins_delete_users(admin_client, bob):
    response = admin_client.post("/api/user/delete", {"user_id": str(bob.pk)}, format="json")
    assert response.status_code == 200
    assert not User.objects.filter(pk=bob.pk).exists()


def test_delete_answers_404_for_an_unknown_user_and_400_for_a_bad_id(admin_client):
    _assert_envelope_error(
        admin_client.post("/api/user/delete", {"user_id": "00000000-0000-0000-0000-000000000000"}, format="json"), 404
    )
    _assert_envelope_error(admin_client.post("/api/user/delete", {"user_id": "nope"}, format="json"), 400)


def test_nobody_deletes_themselves(admin_client, admin_user):
    _assert_envelope_error(admin_client.post("/api/user/delete", {"user_id": str(admin_user.pk)}, format="json"), 400)


def test_only_a_superuser_deletes_a_superuser(client_for, charlie, admin_user):
    _grant(charlie, "sys:user:del")
    response = client_for(charlie).post("/api/user/delete", {"user_id": str(admin_user.pk)}, format="json")
    _assert_envelope_error(response, 403)
    assert User.objects.filter(pk=admin_user.pk).exists()


# ------------------------------------------------------------------------------
# config
# ------------------------------------------------------------------------------
def test_config_round_trips_per_user(alice_client, bob_client):
    assert alice_client.get("/api/user/config").json()["data"] == {"config": {}}
    response = alice_client.post("/api/user/config", {"config": {"theme": "dark"}}, format="json")
    assert response.json()["data"] == {"config": {"theme": "dark"}}
    assert alice_client.get("/api/user/config").json()["data"] == {"config": {"theme": "dark"}}
    assert bob_client.get("/api/user/config").json()["data"] == {"config": {}}


def test_config_must_be_an_object(alice_client):
    body = _assert_envelope_error(alice_client.post("/api/user/config", {"config": [1]}, format="json"), 400)
    assert "config" in body["data"]["errors"]


def test_config_needs_a_login(anon):
    _assert_envelope_error(anon.get("/api/user/config"), 401)
    _assert_envelope_error(anon.post("/api/user/config", {"config": {}}, format="json"), 401)
