"""``bootstrap`` and ``doctor``."""
from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.accounts.models import Menu, Role, User
from apps.accounts.permissions_catalog import ALL_CODES

pytestmark = pytest.mark.django_db


def _bootstrap(monkeypatch, **env: str) -> str:
    for name in ("ADMIN_USERNAME", "ADMIN_EMAIL", "ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    out = StringIO()
    call_command("bootstrap", stdout=out)
    return out.getvalue()


def test_bootstrap_creates_the_roles_the_menus_and_an_admin_from_the_environment(monkeypatch):
    output = _bootstrap(monkeypatch, ADMIN_USERNAME="root", ADMIN_EMAIL="root@example.com", ADMIN_PASSWORD="a-long-admin-passphrase")
    admin = User.objects.get(username="root")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("a-long-admin-passphrase")
    assert "a-long-admin-passphrase" not in output
    assert set(Role.objects.values_list("code", flat=True)) == {"admin", "user"}
    admin_role = Role.objects.get(code="admin")
    assert set(admin_role.menus.exclude(perms="").values_list("perms", flat=True)) == ALL_CODES
    assert admin_role.menus.count() == Menu.objects.count()
    assert not Role.objects.get(code="user").menus.exists()
    assert list(admin.roles.all()) == [admin_role]


def test_bootstrap_generates_a_password_shown_once_and_stored_hashed(monkeypatch):
    output = _bootstrap(monkeypatch)
    password = re.search(r"generated password: (\S+)", output).group(1)
    admin = User.objects.get(username="admin")
    assert admin.check_password(password)
    assert password not in admin.password
    again = _bootstrap(monkeypatch)
    assert password not in again
    assert "exists; left unchanged" in again


def test_running_bootstrap_again_changes_nothing(monkeypatch):
    _bootstrap(monkeypatch, ADMIN_PASSWORD="a-long-admin-passphrase")
    before = (User.objects.count(), Role.objects.count(), Menu.objects.count(), User.objects.get(username="admin").password)
    _bootstrap(monkeypatch, ADMIN_PASSWORD="another-long-passphrase")
    after = (User.objects.count(), Role.objects.count(), Menu.objects.count(), User.objects.get(username="admin").password)
    assert after == before


def test_bootstrap_refuses_a_weak_admin_password(monkeypatch):
    with pytest.raises(CommandError, match="bootstrap failed"):
        _bootstrap(monkeypatch, ADMIN_PASSWORD="123")
    assert not User.objects.exists()


def test_doctor_prints_one_line_per_check():
    out = StringIO()
    call_command("doctor", "--check", "postgres", "--check", "pgvector", stdout=out)
    lines = out.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == ["postgres", "pgvector"]
    assert all(" ok " in line for line in lines)


def test_doctor_exits_non_zero_when_redis_is_down():
    out = StringIO()
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"), pytest.raises(CommandError, match="down: redis"):
        call_command("doctor", "--check", "redis", "--timeout", "0.2", stdout=out)
    assert "DOWN" in out.getvalue()
