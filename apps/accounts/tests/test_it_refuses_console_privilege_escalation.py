"""Console permissions cannot be used to grow themselves: no granting what one lacks, no editing one's
own roles, and staff accounts are edited by superusers only."""
from __future__ import annotations

import pytest

from apps.accounts import permissions_catalog as perms
from apps.accounts.models import Role, User
from apps.accounts.tests.factories import MenuFactory, RoleFactory
from apps.accounts.tests.test_console_sys import SYS, assert_admin_error, grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_role() -> Role:
    role = RoleFactory(code="admin")
    role.menus.set([MenuFactory(perms=code) for code in (perms.USER_EDIT, perms.ROLE_EDIT, perms.MENU_EDIT,
                                                          perms.USER_DEL, "sys:secret:read")])
    return role


def test_user_edit_cannot_assign_oneself_the_admin_role(alice, alice_client, admin_role):
    grant(alice, perms.USER_EDIT)
    response = alice_client.put(f"{SYS}/users/{alice.pk}", {"role_ids": [admin_role.pk]}, format="json")
    assert_admin_error(response, 403)
    assert not alice.roles.filter(pk=admin_role.pk).exists()


def test_nobody_edits_their_own_roles_even_within_what_they_hold(alice, alice_client):
    own = grant(alice, perms.USER_EDIT)
    assert_admin_error(alice_client.put(f"{SYS}/users/{alice.pk}", {"role_ids": []}, format="json"), 403)
    assert alice.roles.filter(pk=own.pk).exists()


def test_user_edit_cannot_give_another_user_a_role_beyond_ones_own(alice, bob, alice_client, admin_role):
    grant(alice, perms.USER_EDIT)
    assert_admin_error(alice_client.put(f"{SYS}/users/{bob.pk}", {"role_ids": [admin_role.pk]}, format="json"), 403)
    modest = RoleFactory()
    modest.menus.set([MenuFactory(perms=perms.USER_EDIT)])
    response = alice_client.put(f"{SYS}/users/{bob.pk}", {"role_ids": [modest.pk]}, format="json")
    assert response.status_code == 200, response.content


def test_user_create_cannot_hand_out_roles_beyond_ones_own(alice, alice_client, admin_role):
    grant(alice, perms.USER_ADD)
    body = {"username": "mallory", "email": "m@example.com", "password": "a-long-passphrase",
            "role_ids": [admin_role.pk]}
    assert_admin_error(alice_client.post(f"{SYS}/users", body, format="json"), 403)
    assert not User.objects.filter(username="mallory").exists()


def test_role_edit_cannot_add_menus_to_ones_own_role(alice, alice_client):
    own = grant(alice, perms.ROLE_EDIT)
    secret = MenuFactory(perms="sys:secret:read")
    assert_admin_error(alice_client.put(f"{SYS}/roles/{own.pk}/menus", {"menu_ids": [secret.pk]}, format="json"), 403)
    assert_admin_error(alice_client.put(f"{SYS}/roles/{own.pk}", {"menu_ids": [secret.pk]}, format="json"), 403)
    assert not own.menus.filter(pk=secret.pk).exists()


def test_role_edit_cannot_put_a_code_one_lacks_into_any_role(alice, alice_client):
    grant(alice, perms.ROLE_EDIT, perms.ROLE_ADD)
    other = RoleFactory()
    secret = MenuFactory(perms="sys:secret:read")
    assert_admin_error(alice_client.put(f"{SYS}/roles/{other.pk}/menus", {"menu_ids": [secret.pk]}, format="json"), 403)
    body = {"name": "Sneaky", "code": "sneaky", "menu_ids": [secret.pk]}
    assert_admin_error(alice_client.post(f"{SYS}/roles", body, format="json"), 403)
    held = MenuFactory(perms=perms.ROLE_EDIT)
    response = alice_client.put(f"{SYS}/roles/{other.pk}/menus", {"menu_ids": [held.pk]}, format="json")
    assert response.status_code == 200, response.content


def test_menu_edit_cannot_rewrite_a_menus_code(alice, alice_client, admin_role):
    grant(alice, perms.MENU_EDIT)
    mine = MenuFactory(perms=perms.MENU_EDIT)
    alice.roles.first().menus.add(mine)
    response = alice_client.put(f"{SYS}/menus/{mine.pk}", {"perms": "sys:secret:read"}, format="json")
    assert_admin_error(response, 403)
    secret = admin_role.menus.get(perms="sys:secret:read")
    assert_admin_error(alice_client.put(f"{SYS}/menus/{secret.pk}", {"perms": perms.MENU_EDIT}, format="json"), 403)
    mine.refresh_from_db()
    secret.refresh_from_db()
    assert mine.perms == perms.MENU_EDIT and secret.perms == "sys:secret:read"


def test_user_edit_cannot_reset_a_staff_password(alice, alice_client, admin_user, password):
    grant(alice, perms.USER_EDIT, perms.USER_DEL)
    staff = User.objects.create_user(username="opsstaff", email="ops@example.com", password=password, is_staff=True)
    response = alice_client.put(f"{SYS}/users/{staff.pk}", {"password": "hijacked-passphrase"}, format="json")
    assert_admin_error(response, 403)
    assert_admin_error(alice_client.delete(f"{SYS}/users/{staff.pk}"), 403)
    staff.refresh_from_db()
    assert staff.check_password(password)


def test_a_superuser_still_manages_staff_and_roles(admin_client, bob, admin_role, password):
    staff = User.objects.create_user(username="opsstaff", email="ops@example.com", password=password, is_staff=True)
    assert admin_client.put(f"{SYS}/users/{staff.pk}", {"password": "a-new-passphrase"}, format="json").status_code == 200
    assert admin_client.put(f"{SYS}/users/{bob.pk}", {"role_ids": [admin_role.pk]}, format="json").status_code == 200
