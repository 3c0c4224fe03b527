"""The Django admin for accounts: every page renders, trees are indented, actions work, logs are read-only."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import (
    ApiKey,
    Department,
    InviteCode,
    LoginLog,
    Menu,
    OperationLog,
    Role,
    User,
    VerificationCode,
)
from apps.accounts.services.logs import login_log_record
from apps.accounts.tests.factories import DepartmentFactory, MenuFactory, RoleFactory, UserFactory

ACCOUNT_MODELS = [User, Role, Department, Menu, LoginLog, OperationLog, VerificationCode, InviteCode, ApiKey]
READ_ONLY = {LoginLog, OperationLog, VerificationCode}


@pytest.fixture
def site(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def url(model: type, view: str, *args: object) -> str:
    return reverse(f"admin:accounts_{model._meta.model_name}_{view}", args=args)


def test_every_accounts_model_is_registered():
    assert all(admin.site.is_registered(model) for model in ACCOUNT_MODELS)


@pytest.mark.parametrize("model", ACCOUNT_MODELS, ids=lambda m: m.__name__)
def test_each_changelist_renders(site, model, alice):
    DepartmentFactory()
    MenuFactory()
    login_log_record(username="alice", user=alice, succeeded=True, ip="10.0.0.1", user_agent="", message="", api="admin")

    response = site.get(url(model, "changelist"), {"q": "a"})
    assert response.status_code == 200
    assert site.get(url(model, "changelist")).status_code == 200


@pytest.mark.parametrize("model", ACCOUNT_MODELS, ids=lambda m: m.__name__)
def test_each_add_page_renders_unless_the_model_is_read_only(site, model):
    response = site.get(url(model, "add"))

    assert response.status_code == (403 if model in READ_ONLY else 200)


def test_it_adds_a_user_through_the_admin(site):
    response = site.post(
        url(User, "add"),
        {"username": "dana", "email": "dana@example.com", "password1": "a-long-enough-secret",
         "password2": "a-long-enough-secret", "usable_password": "true"},
    )

    assert response.status_code == 302, response.content
    assert User.objects.get(username="dana").check_password("a-long-enough-secret")


def test_the_user_change_page_renders(site, alice):
    assert site.get(url(User, "change", alice.pk)).status_code == 200


def test_a_login_log_cannot_be_changed(site, alice):
    log = login_log_record(username="alice", user=alice, succeeded=False, ip=None, user_agent="", message="", api="")

    response = site.post(url(LoginLog, "change", log.pk), {"username": "mallory"})

    log.refresh_from_db()
    assert log.username == "alice"
    assert response.status_code == 403


def test_departments_are_listed_as_an_indented_tree(site):
    root = DepartmentFactory(name="Zeta HQ", sort=0)
    DepartmentFactory(name="Alpha Branch", sort=1)
    DepartmentFactory(name="Child Team", parent=root)

    html = site.get(url(Department, "changelist")).content.decode()

    assert html.index("Zeta HQ") < html.index("Child Team") < html.index("Alpha Branch")
    assert 'padding-left:1.5em">└ Child Team' in html


def test_menus_are_listed_as_an_indented_tree(site):
    top = MenuFactory(title="Top level", type=Menu.Type.DIRECTORY, sort=0)
    MenuFactory(title="Another top", type=Menu.Type.DIRECTORY, sort=1)
    MenuFactory(title="Nested entry", parent=top)

    html = site.get(url(Menu, "changelist")).content.decode()

    assert html.index("Top level") < html.index("Nested entry") < html.index("Another top")


def test_it_disables_and_enables_users_but_never_yourself(site, admin_user, alice, bob):
    ids = [str(alice.pk), str(bob.pk), str(admin_user.pk)]

    site.post(url(User, "changelist"), {"action": "disable_users", "_selected_action": ids})
    assert list(User.objects.filter(is_active=False).order_by("username").values_list("username", flat=True)) == [
        "alice", "bob"
    ]
    site.post(url(User, "changelist"), {"action": "enable_users", "_selected_action": ids[:1]})
    assert User.objects.get(pk=alice.pk).is_active


def test_it_assigns_a_role_to_the_selected_users(site, alice, bob):
    role = RoleFactory(name="Reviewers")
    other = RoleFactory()
    alice.roles.add(other)

    response = site.post(
        url(User, "changelist"), {"action": f"assign_role_{role.pk}", "_selected_action": [str(alice.pk), str(bob.pk)]}
    )

    assert response.status_code == 302
    assert set(alice.roles.all()) == {role, other}
    assert list(bob.roles.all()) == [role]


def test_the_department_filter_includes_sub_departments(site):
    parent = DepartmentFactory()
    child = DepartmentFactory(parent=parent)
    UserFactory(username="inchild", department=child)
    UserFactory(username="nowhere")

    html = site.get(url(User, "changelist"), {"dept": parent.pk}).content.decode()

    assert "inchild" in html and "nowhere" not in html


def test_a_department_with_members_is_protected_from_deletion(site, alice):
    department = DepartmentFactory(name="Staffed")
    alice.department = department
    alice.save()

    page = site.get(url(Department, "delete", department.pk)).content.decode()
    site.post(url(Department, "delete", department.pk), {"post": "yes"})

    assert "alice" in page
    assert Department.objects.filter(pk=department.pk).exists()


def test_the_admin_takes_the_console_api_filters(site, alice, bob):
    old = login_log_record(username="oldtimer", user=None, succeeded=True, ip="10.0.0.1", user_agent="", message="", api="")
    LoginLog.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=30))
    login_log_record(username="recent", user=None, succeeded=False, ip="10.0.0.2", user_agent="", message="", api="")
    since = (timezone.now() - timedelta(days=1)).date().isoformat()

    logs = site.get(url(LoginLog, "changelist"), {"start_time": since, "status": "0"}).content.decode()
    users = site.get(url(User, "changelist"), {"username": "ALI"}).content.decode()

    assert "recent" in logs and "oldtimer" not in logs
    assert "alice@example.com" in users and "bob@example.com" not in users


def test_the_admin_refuses_a_bad_console_filter_like_any_bad_lookup(site):
    response = site.get(url(OperationLog, "changelist"), {"start_time": "yesterday"})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


@pytest.mark.parametrize(
    ("model_name", "field_name"), [("user", "department"), ("department", "parent"), ("menu", "parent")]
)
def test_the_tree_autocompletes_answer(site, model_name, field_name):
    DepartmentFactory(name="Findable")
    MenuFactory(title="Findable")

    response = site.get(
        "/admin/autocomplete/",
        {"app_label": "accounts", "model_name": model_name, "field_name": field_name, "term": "Find"},
    )

    assert response.status_code == 200
    assert [item["text"] for item in response.json()["results"]] == ["Findable"]
