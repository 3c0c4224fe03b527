"""003 console ``/api/v1/admin/sys/*``: users, roles, departments, menus."""
from __future__ import annotations

import uuid

import pytest

from apps.accounts import permissions_catalog as perms
from apps.accounts.models import Department, Menu, Role, User
from apps.accounts.selectors import console as selectors
from apps.accounts.services.console import menu_tree_install
from apps.accounts.tests.factories import DepartmentFactory, MenuFactory, RoleFactory, UserFactory
from apps.core.errors import NotFound

SYS = "/api/v1/admin/sys"


def grant(user: User, *codes: str) -> Role:
    """Give ``user`` a role whose menus carry ``codes``."""
    role = RoleFactory()
    role.menus.set([MenuFactory(perms=code) for code in codes])
    user.roles.add(role)
    return role


def assert_admin_error(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert {"detail", "code"} <= set(body)
    return body


# ------------------------------------------------------------------------------
# Permissions: one rule for every route
# ------------------------------------------------------------------------------
ROUTES = [
    ("get", "/users"),
    ("post", "/users"),
    ("get", "/roles"),
    ("post", "/roles"),
    ("get", "/depts"),
    ("post", "/depts"),
    ("get", "/menus"),
    ("post", "/menus"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_requests_get_401(db, anon, method, path):
    assert_admin_error(getattr(anon, method)(f"{SYS}{path}", {}, format="json"), 401)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_user_without_the_code_gets_403(charlie, client_for, method, path):
    assert_admin_error(getattr(client_for(charlie), method)(f"{SYS}{path}", {}, format="json"), 403)


def test_a_code_grants_only_its_own_action(alice, alice_client, bob):
    grant(alice, perms.USER_LIST)

    assert alice_client.get(f"{SYS}/users").status_code == 200
    assert alice_client.get(f"{SYS}/users/{bob.pk}").status_code == 200
    assert_admin_error(alice_client.delete(f"{SYS}/users/{bob.pk}"), 403)
    assert_admin_error(alice_client.get(f"{SYS}/roles"), 403)


def test_an_inactive_role_grants_nothing(alice, alice_client):
    role = grant(alice, perms.USER_LIST)
    role.is_active = False
    role.save()

    assert_admin_error(alice_client.get(f"{SYS}/users"), 403)


def test_selectors_show_nothing_to_a_user_without_the_code(charlie, alice):
    assert not selectors.user_list(actor=charlie, params={}).exists()
    with pytest.raises(NotFound):
        selectors.user_get(actor=charlie, user_id=alice.pk)


# ------------------------------------------------------------------------------
# Users
# ------------------------------------------------------------------------------
def test_it_lists_users_a_page_at_a_time(admin_client, alice, bob, charlie):
    response = admin_client.get(f"{SYS}/users", {"page": 2, "size": 2})

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 4 and body["page"] == 2 and body["size"] == 2
    assert len(body["items"]) == 2
    assert admin_client.get(f"{SYS}/users", {"page_size": 3}).json()["size"] == 3


def test_it_filters_users(admin_client, alice, bob):
    parent = DepartmentFactory(name="Engineering")
    child = DepartmentFactory(name="Platform", parent=parent)
    alice.department = child
    alice.save()
    bob.is_active = False
    bob.save()

    def usernames(**params):
        return [item["username"] for item in admin_client.get(f"{SYS}/users", params).json()["items"]]

    assert usernames(username="ALI") == ["alice"]
    assert usernames(email="bob@") == ["bob"]
    assert usernames(is_active="0") == ["bob"]
    assert usernames(dept=parent.pk) == ["alice"]


@pytest.mark.parametrize(
    ("params", "field"),
    [({"is_active": "maybe"}, "is_active"), ({"dept": "999999"}, "dept"), ({"page": "0"}, "page"), ({"size": "x"}, "size")],
)
def test_it_rejects_bad_list_parameters(admin_client, params, field):
    body = assert_admin_error(admin_client.get(f"{SYS}/users", params), 400)
    assert field in body["errors"]


def test_it_creates_a_user_with_a_department_and_roles(admin_client):
    department = DepartmentFactory()
    role = RoleFactory()

    response = admin_client.post(
        f"{SYS}/users",
        {
            "username": "dana",
            "email": "dana@example.com",
            "password": "a-long-enough-secret",
            "nickname": "D",
            "dept_id": department.pk,
            "role_ids": [role.pk],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["dept_id"] == department.pk and body["dept_name"] == department.name
    assert body["roles"] == [{"id": role.pk, "name": role.name, "code": role.code}]
    assert "password" not in body
    assert User.objects.get(username="dana").check_password("a-long-enough-secret")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "e@example.com", "password": "a-long-enough-secret"}, "username"),
        ({"username": "erin", "email": "not-an-email", "password": "a-long-enough-secret"}, "email"),
        ({"username": "erin", "email": "e@example.com", "password": "short"}, "password"),
        ({"username": "erin", "email": "e@example.com", "password": "a-long-enough-secret", "dept_id": 999999}, "dept_id"),
        ({"username": "erin", "email": "e@example.com", "password": "a-long-enough-secret", "role_ids": [999999]}, "role_ids"),
    ],
)
def test_it_rejects_an_invalid_user(admin_client, body, field):
    response = assert_admin_error(admin_client.post(f"{SYS}/users", body, format="json"), 400)
    assert field in response["errors"]
    assert not User.objects.filter(username="erin").exists()


def test_it_refuses_a_taken_username_with_409(admin_client, alice):
    body = {"username": "ALICE", "email": "other@example.com", "password": "a-long-enough-secret"}
    assert_admin_error(admin_client.post(f"{SYS}/users", body, format="json"), 409)


def test_it_updates_a_user(admin_client, alice):
    role = RoleFactory()

    response = admin_client.put(
        f"{SYS}/users/{alice.pk}",
        {"nickname": "Al", "is_active": False, "role_ids": [role.pk], "password": "another-long-secret"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    alice.refresh_from_db()
    assert alice.nickname == "Al" and not alice.is_active
    assert list(alice.roles.all()) == [role]
    assert alice.check_password("another-long-secret")


def test_an_operator_cannot_make_staff_or_touch_a_superuser(alice, alice_client, bob, admin_user):
    grant(alice, perms.USER_ADD, perms.USER_EDIT, perms.USER_DEL)

    assert_admin_error(alice_client.put(f"{SYS}/users/{bob.pk}", {"is_staff": True}, format="json"), 403)
    assert_admin_error(alice_client.put(f"{SYS}/users/{admin_user.pk}", {"nickname": "x"}, format="json"), 403)
    assert_admin_error(alice_client.delete(f"{SYS}/users/{admin_user.pk}"), 403)
    assert alice_client.put(f"{SYS}/users/{bob.pk}", {"nickname": "B"}, format="json").status_code == 200


def test_it_deletes_a_user_but_not_yourself(admin_client, admin_user, bob):
    assert admin_client.delete(f"{SYS}/users/{bob.pk}").status_code == 204
    assert not User.objects.filter(pk=bob.pk).exists()
    assert_admin_error(admin_client.delete(f"{SYS}/users/{admin_user.pk}"), 400)


def test_an_unknown_user_is_404(admin_client):
    missing = uuid.uuid4()
    assert_admin_error(admin_client.get(f"{SYS}/users/{missing}"), 404)
    assert_admin_error(admin_client.put(f"{SYS}/users/{missing}", {"nickname": "x"}, format="json"), 404)
    assert_admin_error(admin_client.delete(f"{SYS}/users/{missing}"), 404)
    assert_admin_error(admin_client.get(f"{SYS}/users/not-a-uuid"), 404)


# ------------------------------------------------------------------------------
# Roles
# ------------------------------------------------------------------------------
def test_a_role_holder_manages_roles_and_their_menus(alice, alice_client):
    grant(alice, perms.ROLE_LIST, perms.ROLE_ADD, perms.ROLE_EDIT, perms.ROLE_DEL)
    menus = [MenuFactory(), MenuFactory()]

    created = alice_client.post(f"{SYS}/roles", {"name": "Auditors", "code": "auditors"}, format="json")
    assert created.status_code == 201, created.json()
    role_id = created.json()["id"]

    put = alice_client.put(f"{SYS}/roles/{role_id}/menus", {"menu_ids": [m.pk for m in menus]}, format="json")
    assert put.json() == {"menu_ids": sorted(m.pk for m in menus)}
    assert alice_client.get(f"{SYS}/roles/{role_id}/menus").json() == {"menu_ids": sorted(m.pk for m in menus)}

    renamed = alice_client.put(f"{SYS}/roles/{role_id}", {"description": "Read the logs"}, format="json")
    assert renamed.json()["description"] == "Read the logs"
    assert renamed.json()["menu_ids"] == sorted(m.pk for m in menus)
    assert any(r["code"] == "auditors" for r in alice_client.get(f"{SYS}/roles").json())

    assert alice_client.delete(f"{SYS}/roles/{role_id}").status_code == 204
    assert not Role.objects.filter(pk=role_id).exists()


def test_it_rejects_invalid_roles(admin_client):
    RoleFactory(name="Taken", code="taken")

    assert "code" in assert_admin_error(admin_client.post(f"{SYS}/roles", {"name": "X", "code": "no spaces"}, format="json"), 400)["errors"]
    assert_admin_error(admin_client.post(f"{SYS}/roles", {"name": "Taken", "code": "other"}, format="json"), 409)
    role = RoleFactory()
    menus = assert_admin_error(admin_client.put(f"{SYS}/roles/{role.pk}/menus", {"menu_ids": [999999]}, format="json"), 400)
    assert "menu_ids" in menus["errors"]
    assert_admin_error(admin_client.put(f"{SYS}/roles/{role.pk}/menus", {"menu_ids": "all"}, format="json"), 400)


def test_a_role_in_use_cannot_be_deleted(admin_client, alice):
    role = RoleFactory()
    alice.roles.add(role)

    assert_admin_error(admin_client.delete(f"{SYS}/roles/{role.pk}"), 409)


def test_an_unknown_role_is_404(admin_client):
    assert_admin_error(admin_client.put(f"{SYS}/roles/999999", {"name": "x"}, format="json"), 404)
    assert_admin_error(admin_client.get(f"{SYS}/roles/999999/menus"), 404)
    assert_admin_error(admin_client.delete(f"{SYS}/roles/999999"), 404)


# ------------------------------------------------------------------------------
# Departments
# ------------------------------------------------------------------------------
def test_it_lists_departments_as_a_tree(admin_client):
    root = DepartmentFactory(name="HQ", sort=1)
    second = DepartmentFactory(name="Branch", sort=2)
    child = DepartmentFactory(name="Sales", parent=root)
    DepartmentFactory(name="EMEA", parent=child)

    tree = admin_client.get(f"{SYS}/depts").json()

    assert [node["name"] for node in tree] == ["HQ", "Branch"]
    assert tree[0]["children"][0]["name"] == "Sales"
    assert tree[0]["children"][0]["children"][0]["name"] == "EMEA"
    assert tree[1]["id"] == second.pk and tree[1]["children"] == []


def test_it_creates_moves_and_deletes_departments(alice, alice_client):
    grant(alice, perms.DEPT_ADD, perms.DEPT_EDIT, perms.DEPT_DEL)
    root = DepartmentFactory()

    created = alice_client.post(f"{SYS}/depts", {"name": "Research", "parent_id": root.pk}, format="json")
    assert created.status_code == 201, created.json()
    dept_id = created.json()["id"]
    moved = alice_client.put(f"{SYS}/depts/{dept_id}", {"parent_id": None, "leader": "Ada"}, format="json")
    assert moved.json()["parent_id"] is None and moved.json()["leader"] == "Ada"
    assert alice_client.delete(f"{SYS}/depts/{dept_id}").status_code == 204
    assert not Department.objects.filter(pk=dept_id).exists()


def test_it_rejects_a_cycle_in_the_department_tree(admin_client):
    root = DepartmentFactory()
    child = DepartmentFactory(parent=root)
    grandchild = DepartmentFactory(parent=child)

    under_grandchild = admin_client.put(f"{SYS}/depts/{root.pk}", {"parent_id": grandchild.pk}, format="json")
    under_itself = admin_client.put(f"{SYS}/depts/{root.pk}", {"parent_id": root.pk}, format="json")

    assert assert_admin_error(under_grandchild, 400)["code"] == "TREE_CYCLE"
    assert assert_admin_error(under_itself, 400)["code"] == "TREE_CYCLE"
    root.refresh_from_db()
    assert root.parent_id is None


def test_it_rejects_invalid_departments(admin_client):
    DepartmentFactory(name="Ops")

    assert "name" in assert_admin_error(admin_client.post(f"{SYS}/depts", {}, format="json"), 400)["errors"]
    assert "parent_id" in assert_admin_error(
        admin_client.post(f"{SYS}/depts", {"name": "X", "parent_id": 999999}, format="json"), 400
    )["errors"]
    assert "email" in assert_admin_error(
        admin_client.post(f"{SYS}/depts", {"name": "X", "email": "nope"}, format="json"), 400
    )["errors"]
    assert_admin_error(admin_client.post(f"{SYS}/depts", {"name": "Ops"}, format="json"), 409)


def test_a_department_with_children_or_members_cannot_be_deleted(admin_client, alice):
    parent = DepartmentFactory()
    DepartmentFactory(parent=parent)
    staffed = DepartmentFactory()
    alice.department = staffed
    alice.save()

    assert_admin_error(admin_client.delete(f"{SYS}/depts/{parent.pk}"), 409)
    assert_admin_error(admin_client.delete(f"{SYS}/depts/{staffed.pk}"), 409)
    assert_admin_error(admin_client.delete(f"{SYS}/depts/999999"), 404)


# ------------------------------------------------------------------------------
# Menus
# ------------------------------------------------------------------------------
def test_it_lists_menus_as_a_tree(admin_client):
    menu_tree_install(nodes=perms.default_menu_tree())

    tree = admin_client.get(f"{SYS}/menus").json()

    assert [node["name"] for node in tree] == ["System", "Log", "Monitor"]
    users = tree[0]["children"][0]
    assert users["perms"] == perms.USER_LIST
    assert [button["perms"] for button in users["children"]] == [perms.USER_ADD, perms.USER_EDIT, perms.USER_DEL]


def test_it_creates_updates_and_deletes_menus(alice, alice_client):
    # Giving a menu a code needs holding that code (see test_it_refuses_privilege_escalation).
    grant(alice, perms.MENU_ADD, perms.MENU_EDIT, perms.MENU_DEL, "report:list")
    directory = MenuFactory(type=Menu.Type.DIRECTORY)

    created = alice_client.post(
        f"{SYS}/menus", {"title": "Reports", "parent_id": directory.pk, "type": 1, "path": "/reports"}, format="json"
    )
    assert created.status_code == 201, created.json()
    menu_id = created.json()["id"]
    updated = alice_client.put(f"{SYS}/menus/{menu_id}", {"perms": "report:list", "is_hidden": True}, format="json")
    assert updated.json()["perms"] == "report:list" and updated.json()["is_hidden"] is True
    assert_admin_error(alice_client.delete(f"{SYS}/menus/{directory.pk}"), 409)
    assert alice_client.delete(f"{SYS}/menus/{menu_id}").status_code == 204
    assert alice_client.delete(f"{SYS}/menus/{directory.pk}").status_code == 204


def test_it_rejects_invalid_menus(admin_client):
    top = MenuFactory(type=Menu.Type.DIRECTORY)
    child = MenuFactory(type=Menu.Type.MENU, parent=top)
    button = MenuFactory(type=Menu.Type.BUTTON, parent=child)

    assert "title" in assert_admin_error(admin_client.post(f"{SYS}/menus", {}, format="json"), 400)["errors"]
    assert "type" in assert_admin_error(admin_client.post(f"{SYS}/menus", {"title": "x", "type": 7}, format="json"), 400)["errors"]
    assert "parent_id" in assert_admin_error(
        admin_client.post(f"{SYS}/menus", {"title": "x", "parent_id": button.pk}, format="json"), 400
    )["errors"]
    assert assert_admin_error(
        admin_client.put(f"{SYS}/menus/{top.pk}", {"parent_id": child.pk}, format="json"), 400
    )["code"] == "TREE_CYCLE"
    assert_admin_error(admin_client.put(f"{SYS}/menus/999999", {"title": "x"}, format="json"), 404)


def test_the_default_menu_tree_installs_once_and_grants_every_console_code(alice, alice_client):
    role = RoleFactory(code="console-admin")
    first = menu_tree_install(nodes=perms.default_menu_tree(), roles=[role])
    second = menu_tree_install(nodes=perms.default_menu_tree(), roles=[role])
    alice.roles.add(role)

    assert [m.pk for m in first.menus] == [m.pk for m in second.menus]
    assert first.created == len(first.menus) and second.created == 0
    assert {m.perms for m in first.menus if m.perms} == perms.ALL_CODES
    assert User.objects.get(pk=alice.pk).menu_permission_codes() == perms.ALL_CODES
    assert perms.DEFAULT_ROLE_CODES["user"] == frozenset()
    assert alice_client.get(f"{SYS}/users").status_code == 200


def test_users_made_by_the_factory_are_not_superusers(db):
    # The 403 tests above rely on ordinary users holding no code by default.
    assert not UserFactory().has_menu_permission(perms.USER_LIST)


# ------------------------------------------------------------------------------
# Bad input never gives a 500
# ------------------------------------------------------------------------------
HUGE = 10**30


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/users", [], 400),
        ("post", "/users", {"username": "zed", "password": "a-long-enough-secret", "dept_id": HUGE}, 400),
        ("post", "/users", {"username": "zed", "password": "a-long-enough-secret", "role_ids": [HUGE]}, 400),
        ("post", "/roles", {"name": "x", "code": "x", "menu_ids": [HUGE]}, 400),
        ("put", f"/roles/{HUGE}", {"name": "x"}, 404),
        ("put", f"/roles/{HUGE}/menus", {"menu_ids": []}, 404),
        ("post", "/depts", {"name": "x", "parent_id": HUGE}, 400),
        ("post", "/depts", {"name": "x", "sort": HUGE}, 400),
        ("put", f"/depts/{HUGE}", {"name": "x"}, 404),
        ("post", "/menus", {"title": "x", "parent_id": HUGE}, 400),
        ("delete", f"/menus/{HUGE}", None, 404),
        ("get", "/users", {"dept": str(HUGE)}, 400),
        ("get", "/users", {"page": str(HUGE)}, 400),
    ],
)
def test_it_answers_bad_input_in_the_admin_shape(admin_client, method, path, body, status):
    if method == "get":
        response = admin_client.get(f"{SYS}{path}", body)
    else:
        response = getattr(admin_client, method)(f"{SYS}{path}", body, format="json")

    assert_admin_error(response, status)
