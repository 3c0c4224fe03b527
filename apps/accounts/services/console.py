"""Writes of the admin console: signing in with a captcha, users, roles, departments, menus, logs.

Account rules (uniqueness, passwords) stay in ``services.users`` and sign-in in
``services.auth``; this module adds what only the console does. Objects are
fetched through the console selectors with the code of the action, so a user
without it gets a 404 here even if a view forgot to check.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model, QuerySet

from apps.accounts import permissions_catalog as perms
from apps.accounts.captcha import captcha_verify
from apps.accounts.models import Department, Menu, Role, User
from apps.accounts.selectors import console as selectors
from apps.accounts.services.auth import TokenPair, local_login_authenticate, tokens_issue
from apps.accounts.services.users import (
    user_assign_roles,
    user_create,
    user_delete_by_admin,
    user_set_password,
    user_update,
)
from apps.core.errors import Conflict, Forbidden, Invalid


# ------------------------------------------------------------------------------
# Signing in
# ------------------------------------------------------------------------------
def console_login(
    *,
    request: object,
    username: str,
    password: str,
    captcha_id: str,
    captcha_code: str,
    ip: str | None,
    user_agent: str,
) -> tuple[User, TokenPair]:
    """The captcha first (when enabled), then the shared throttled credential check."""
    if settings.CAPTCHA_ENABLED:
        missing = {name: ["This field is required."] for name, value in
                   (("captcha_id", captcha_id), ("captcha_code", captcha_code)) if not value}
        if missing:
            raise Invalid("The captcha is required.", code="captcha_required", field_errors=missing)
        captcha_verify(captcha_id=captcha_id, code=captcha_code)
    user = local_login_authenticate(
        request=request, login=username, password=password, ip=ip, user_agent=user_agent, api="admin"
    )
    return user, tokens_issue(user=user)


# ------------------------------------------------------------------------------
# Users
# ------------------------------------------------------------------------------
def _department(department_id: int | None) -> Department | None:
    if department_id is None:
        return None
    department = Department.objects.filter(pk=department_id).first()
    if department is None:
        raise Invalid("Unknown department.", field_errors={"dept_id": ["This department does not exist."]})
    return department


def _guard_privileges(*, actor: User, target: User | None, is_staff: bool | None) -> None:
    # Menu codes let an operator manage accounts, not mint or touch staff: only a superuser
    # may change staff status or edit (or reset the password of) a staff or superuser account.
    if actor.is_superuser:
        return
    if target is not None and (target.is_superuser or target.is_staff):
        raise Forbidden("Only a superuser may change a staff account.")
    if is_staff is not None and is_staff != (target.is_staff if target else False):
        raise Forbidden("Only a superuser may change staff status.", field_errors={"is_staff": ["Not allowed."]})


def _codes_of_menus(menus: Iterable[Menu]) -> set[str]:
    return {menu.perms for menu in menus if menu.perms}


def _guard_grant(*, actor: User, codes: set[str], field: str) -> None:
    """Nobody grants a permission they do not hold (superusers hold them all)."""
    if actor.is_superuser:
        return
    missing = sorted(codes - actor.menu_permission_codes())
    if missing:
        raise Forbidden(
            "You cannot grant permissions you do not hold.",
            field_errors={field: [f"Not held by you: {', '.join(missing)}."]},
        )


def _guard_roles_grant(*, actor: User, role_ids: Iterable[int]) -> None:
    menus = Menu.objects.filter(roles__pk__in=set(role_ids))
    _guard_grant(actor=actor, codes=_codes_of_menus(menus), field="role_ids")


def _guard_own_role(*, actor: User, role: Role) -> None:
    # Editing a role one holds is editing one's own permissions.
    if not actor.is_superuser and role.users.filter(pk=actor.pk).exists():
        raise Forbidden("You cannot edit a role you hold.")


@transaction.atomic
def console_user_create(
    *,
    actor: User,
    username: str,
    email: str,
    password: str,
    name: str = "",
    nickname: str = "",
    phone: str = "",
    avatar: str = "",
    dept_id: int | None = None,
    role_ids: Iterable[int] = (),
    is_active: bool = True,
    is_staff: bool = False,
) -> User:
    _guard_privileges(actor=actor, target=None, is_staff=is_staff)
    _guard_roles_grant(actor=actor, role_ids=role_ids)
    user = user_create(
        username=username,
        email=email,
        password=password,
        name=name,
        nickname=nickname,
        phone=phone,
        is_staff=is_staff,
        department=_department(dept_id),
        role_ids=list(role_ids),
    )
    if avatar or not is_active:
        user_update(user=user, avatar=avatar, is_active=is_active)
    return user


@transaction.atomic
def console_user_update(*, actor: User, user_id: object, **fields: Any) -> User:
    """Change any of the profile fields, ``dept_id``, ``role_ids``, ``password``."""
    user = selectors.user_get(actor=actor, user_id=user_id, code=perms.USER_EDIT)
    _guard_privileges(actor=actor, target=user, is_staff=fields.get("is_staff"))
    if user.pk == actor.pk and fields.get("is_active") is False:
        raise Invalid("You cannot disable your own account.", field_errors={"is_active": ["Not your own."]})
    role_ids = fields.pop("role_ids", None)
    if role_ids is not None:
        if user.pk == actor.pk:
            raise Forbidden("You cannot change your own roles.", field_errors={"role_ids": ["Not your own."]})
        _guard_roles_grant(actor=actor, role_ids=role_ids)
    password = fields.pop("password", None)
    if "dept_id" in fields:
        fields["department"] = _department(fields.pop("dept_id"))
    if fields:
        user_update(user=user, **fields)
    if role_ids is not None:
        user_assign_roles(user=user, role_ids=role_ids)
    if password:
        user_set_password(user=user, password=password)
    return user


def console_user_delete(*, actor: User, user_id: object) -> None:
    user = selectors.user_get(actor=actor, user_id=user_id, code=perms.USER_DEL)
    _guard_privileges(actor=actor, target=user, is_staff=None)
    user_delete_by_admin(actor=actor, user_id=user.pk)


# ------------------------------------------------------------------------------
# Roles
# ------------------------------------------------------------------------------
def _menus(menu_ids: Iterable[int]) -> list[Menu]:
    wanted = set(menu_ids)
    menus = list(Menu.objects.filter(pk__in=wanted))
    if len(menus) != len(wanted):
        unknown = sorted(wanted - {menu.pk for menu in menus})
        raise Invalid("Unknown menu.", field_errors={"menu_ids": [f"These menus do not exist: {unknown}."]})
    return menus


def _save_unique(instance: Model, message: str) -> None:
    # The checks before a save give the friendly message; this catches the
    # concurrent request that passed the same check at the same moment.
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        raise Conflict(message) from exc


def _ensure_role_unique(*, name: str | None, code: str | None, exclude: Role | None = None) -> None:
    others = Role.objects.exclude(pk=exclude.pk) if exclude else Role.objects.all()
    if name is not None and others.filter(name=name).exists():
        raise Conflict("A role with this name already exists.", field_errors={"name": ["Already taken."]})
    if code is not None and others.filter(code=code).exists():
        raise Conflict("A role with this code already exists.", field_errors={"code": ["Already taken."]})


@transaction.atomic
def role_create(
    *,
    actor: User,
    name: str,
    code: str,
    description: str = "",
    is_active: bool = True,
    menu_ids: Iterable[int] | None = None,
) -> Role:
    _ensure_role_unique(name=name, code=code)
    menus = _menus(menu_ids) if menu_ids is not None else None
    if menus is not None:
        _guard_grant(actor=actor, codes=_codes_of_menus(menus), field="menu_ids")
    role = Role(name=name, code=code, description=description, is_active=is_active)
    _save_unique(role, "A role with this name or code already exists.")
    if menus is not None:
        role.menus.set(menus)
    return role


@transaction.atomic
def role_update(*, actor: User, role_id: int, **fields: Any) -> Role:
    role = selectors.role_get(actor=actor, role_id=role_id, code=perms.ROLE_EDIT)
    _guard_own_role(actor=actor, role=role)
    menu_ids = fields.pop("menu_ids", None)
    menus = _menus(menu_ids) if menu_ids is not None else list(role.menus.all())
    # The role's users hold its codes once it is saved (or switched on): the editor must hold them.
    _guard_grant(actor=actor, codes=_codes_of_menus(menus), field="menu_ids")
    _ensure_role_unique(name=fields.get("name"), code=fields.get("code"), exclude=role)
    for name, value in fields.items():
        setattr(role, name, value)
    _save_unique(role, "A role with this name or code already exists.")
    if menu_ids is not None:
        role.menus.set(menus)
    return role


@transaction.atomic
def role_set_menus(*, actor: User, role_id: int, menu_ids: Iterable[int]) -> Role:
    role = selectors.role_get(actor=actor, role_id=role_id, code=perms.ROLE_EDIT)
    _guard_own_role(actor=actor, role=role)
    menus = _menus(menu_ids)
    _guard_grant(actor=actor, codes=_codes_of_menus(menus), field="menu_ids")
    role.menus.set(menus)
    return role


def role_delete(*, actor: User, role_id: int) -> None:
    role = selectors.role_get(actor=actor, role_id=role_id, code=perms.ROLE_DEL)
    _guard_own_role(actor=actor, role=role)
    if role.users.exists():
        raise Conflict("This role is assigned to users; take it from them first.")
    role.delete()


# ------------------------------------------------------------------------------
# Trees: departments and menus
# ------------------------------------------------------------------------------
def _lock_tree(model: type[Model]) -> None:
    # Two concurrent moves (A under B, B under A) would each pass the cycle check
    # alone; one lock per tree for the rest of the transaction serialises them.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"tree:{model._meta.label}"])


def _checked_parent(model: type[Model], *, node: Model | None, parent_id: int | None) -> Any:
    """The parent row for ``parent_id``; 400 when unknown or when it would close a cycle."""
    if parent_id is None:
        return None
    _lock_tree(model)
    parents = dict(model.objects.values_list("pk", "parent_id"))
    if parent_id not in parents:
        raise Invalid("Unknown parent.", field_errors={"parent_id": ["This parent does not exist."]})
    cursor: int | None = parent_id
    seen: set[int] = set()
    while cursor is not None and cursor not in seen:
        if node is not None and cursor == node.pk:
            raise Invalid(
                "A node cannot be moved under itself or its own descendant.",
                code="tree_cycle",
                field_errors={"parent_id": ["This would make a cycle."]},
            )
        seen.add(cursor)
        cursor = parents.get(cursor)
    return model.objects.get(pk=parent_id)


def _ensure_department_unique(*, name: str, parent: Department | None, exclude: Department | None = None) -> None:
    # The database constraint treats two NULL parents as different, so roots are checked here.
    siblings = Department.objects.filter(parent=parent, name=name)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude.pk)
    if siblings.exists():
        raise Conflict(
            "A department with this name already exists under that parent.", field_errors={"name": ["Already taken."]}
        )


@transaction.atomic
def department_create(*, name: str, parent_id: int | None = None, **fields: Any) -> Department:
    parent = _checked_parent(Department, node=None, parent_id=parent_id)
    _ensure_department_unique(name=name, parent=parent)
    department = Department(name=name, parent=parent, **fields)
    _save_unique(department, "A department with this name already exists under that parent.")
    return department


@transaction.atomic
def department_update(*, actor: User, department_id: int, **fields: Any) -> Department:
    department = selectors.department_get(actor=actor, department_id=department_id, code=perms.DEPT_EDIT)
    if "parent_id" in fields:
        department.parent = _checked_parent(Department, node=department, parent_id=fields.pop("parent_id"))
    for name, value in fields.items():
        setattr(department, name, value)
    _ensure_department_unique(name=department.name, parent=department.parent, exclude=department)
    _save_unique(department, "A department with this name already exists under that parent.")
    return department


@transaction.atomic
def department_delete(*, actor: User, department_id: int) -> None:
    department = selectors.department_get(actor=actor, department_id=department_id, code=perms.DEPT_DEL)
    _lock_tree(Department)
    if department.children.exists():
        raise Conflict("This department has sub-departments; move or delete them first.")
    if department.users.exists():
        raise Conflict("This department has members; move them first.")
    department.delete()


def _checked_menu_parent(*, node: Menu | None, parent_id: int | None) -> Menu | None:
    parent = _checked_parent(Menu, node=node, parent_id=parent_id)
    if parent is not None and parent.type == Menu.Type.BUTTON:
        raise Invalid("A button cannot hold other entries.", field_errors={"parent_id": ["This parent is a button."]})
    return parent


@transaction.atomic
def menu_create(*, actor: User, title: str, parent_id: int | None = None, **fields: Any) -> Menu:
    _guard_grant(actor=actor, codes={fields["perms"]} if fields.get("perms") else set(), field="perms")
    menu = Menu(title=title, parent=_checked_menu_parent(node=None, parent_id=parent_id), **fields)
    menu.save()
    return menu


@transaction.atomic
def menu_update(*, actor: User, menu_id: int, **fields: Any) -> Menu:
    menu = selectors.menu_get(actor=actor, menu_id=menu_id, code=perms.MENU_EDIT)
    # A menu's code is granted to every role that has the menu: rewriting it, or touching a
    # menu whose code one does not hold, would hand out (or take away) a permission one lacks.
    codes = {menu.perms, fields.get("perms") or ""} - {""}
    _guard_grant(actor=actor, codes=codes, field="perms")
    if "parent_id" in fields:
        menu.parent = _checked_menu_parent(node=menu, parent_id=fields.pop("parent_id"))
    if fields.get("type") == Menu.Type.BUTTON and menu.children.exists():
        raise Invalid("An entry with children cannot become a button.", field_errors={"type": ["It has children."]})
    for name, value in fields.items():
        setattr(menu, name, value)
    menu.save()
    return menu


@transaction.atomic
def menu_delete(*, actor: User, menu_id: int) -> None:
    menu = selectors.menu_get(actor=actor, menu_id=menu_id, code=perms.MENU_DEL)
    _guard_grant(actor=actor, codes={menu.perms} - {""}, field="perms")
    _lock_tree(Menu)
    if menu.children.exists():
        raise Conflict("This menu has children; delete them first.")
    menu.delete()


@transaction.atomic
@dataclass(frozen=True)
class MenuInstall:
    menus: list[Menu]
    created: int


def menu_tree_install(*, nodes: list[perms.MenuNode], roles: Iterable[Role] = ()) -> MenuInstall:
    """Create the entries of ``nodes`` that are missing (matched by parent and name) and grant them to ``roles``.

    Idempotent, for ``bootstrap``: running it again changes nothing, and entries an
    operator added or edited by hand are left as they are.
    """
    installed: list[Menu] = []
    created_count = 0

    def install(level: list[perms.MenuNode], parent: Menu | None) -> None:
        nonlocal created_count
        for node in level:
            fields = perms.menu_fields(node)
            menu, created = Menu.objects.get_or_create(parent=parent, name=fields.pop("name"), defaults=fields)
            created_count += int(created)
            installed.append(menu)
            install(node.get("children", []), menu)

    install(nodes, None)
    for role in roles:
        role.menus.add(*installed)
    return MenuInstall(menus=installed, created=created_count)


# ------------------------------------------------------------------------------
# Logs
# ------------------------------------------------------------------------------
def login_log_delete(*, actor: User, log_id: int) -> None:
    selectors.login_log_get(actor=actor, log_id=log_id, code=perms.LOGIN_LOG_DEL).delete()


def operation_log_delete(*, actor: User, log_id: int) -> None:
    selectors.operation_log_get(actor=actor, log_id=log_id, code=perms.OPERATION_LOG_DEL).delete()


# ------------------------------------------------------------------------------
# Bulk actions (the Django admin)
# ------------------------------------------------------------------------------
def users_set_active(*, actor: User, users: QuerySet[User], is_active: bool) -> int:
    """Enable or disable many accounts; an operator never locks themself out."""
    if not is_active:
        users = users.exclude(pk=actor.pk)
    return users.exclude(is_active=is_active).update(is_active=is_active)


@transaction.atomic
def users_add_role(*, actor: User, users: QuerySet[User], role: Role) -> int:
    """Give ``role`` to every user in ``users`` that lacks it; returns how many gained it."""
    _guard_roles_grant(actor=actor, role_ids=[role.pk])
    if not actor.is_superuser:
        users = users.exclude(pk=actor.pk).exclude(is_staff=True).exclude(is_superuser=True)
    missing = list(users.exclude(roles=role).values_list("pk", flat=True))
    role.users.add(*missing)
    return len(missing)
