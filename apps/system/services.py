"""Writes of system settings, and the first set-up of a new installation."""
from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.core.errors import Invalid
from apps.system.models import SystemSetting
from apps.system.selectors import DEFAULTS


def setting_validate(*, key: str, value: Any) -> None:
    """Raise 400 unless ``key`` is a known setting and ``value`` has its default's type."""
    if key not in DEFAULTS:
        raise Invalid(f"Unknown setting {key!r}.", field_errors={key: ["Unknown setting."]})
    if isinstance(DEFAULTS[key], bool) and not isinstance(value, bool):
        raise Invalid(f"{key} must be true or false.", field_errors={key: ["Must be a boolean."]})


def setting_set(*, key: str, value: Any) -> SystemSetting:
    setting_validate(key=key, value=value)
    setting, _ = SystemSetting.objects.update_or_create(key=key, defaults={"value": value})
    return setting


@transaction.atomic
def settings_update(*, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change several settings at once: all of them, or none when one is invalid."""
    if not changes:
        raise Invalid("Give at least one setting to change.")
    for key, value in changes.items():
        setting_validate(key=key, value=value)
    for key, value in changes.items():
        setting_set(key=key, value=value)
    return dict(changes)


# ------------------------------------------------------------------------------
# bootstrap: default roles, their menus, the first admin
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BootstrapResult:
    roles_created: tuple[str, ...]
    menus_created: int
    admin_username: str
    admin_created: bool
    #: Only when the password was generated here; the caller shows it once and forgets it.
    generated_password: str | None


@transaction.atomic
def platform_bootstrap(*, admin_username: str, admin_email: str, admin_password: str | None) -> BootstrapResult:
    """Make a new installation usable; running it again changes nothing.

    Creates the roles ``admin`` (every menu of the default tree) and ``user``, and an
    admin account when no account has ``admin_username``. An existing account is left
    alone, so a password changed since is never reset.
    """
    from apps.accounts.models import Role, User
    from apps.accounts.permissions_catalog import DEFAULT_ROLE_CODES, default_menu_tree
    from apps.accounts.services.console import menu_tree_install
    from apps.accounts.services.users import user_create

    installed = menu_tree_install(nodes=default_menu_tree())
    menus, menus_created = installed.menus, installed.created
    roles_created = []
    admin_role, created = Role.objects.get_or_create(
        code="admin", defaults={"name": "admin", "description": "Everything in the console."}
    )
    if created:
        roles_created.append("admin")
    admin_role.menus.add(*menus)
    user_role, created = Role.objects.get_or_create(code="user", defaults={"name": "user", "description": "A member."})
    if created:
        roles_created.append("user")
    user_role.menus.add(*[menu for menu in menus if menu.perms and menu.perms in DEFAULT_ROLE_CODES["user"]])

    generated = None
    admin = User.objects.filter(username__iexact=admin_username).first()
    admin_created = admin is None
    if admin is None:
        if not admin_password:
            admin_password = generated = secrets.token_urlsafe(18)
        admin = user_create(
            username=admin_username,
            email=admin_email,
            password=admin_password,
            name="Administrator",
            is_staff=True,
            is_superuser=True,
            role_ids=[admin_role.pk],
        )
    return BootstrapResult(tuple(roles_created), menus_created, admin.username, admin_created, generated)
