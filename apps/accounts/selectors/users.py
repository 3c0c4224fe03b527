"""Reads about accounts, scoped to who is asking."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from apps.accounts import permissions_catalog as perms
from apps.accounts.models import User
from apps.core.api.pagination import Page, paginate


@dataclass(frozen=True)
class SessionInfo:
    user: User
    roles: list[str]
    is_admin: bool
    onboarding_completed: bool


def users_visible_to(*, actor: User) -> QuerySet[User]:
    """The accounts ``actor`` may manage: everyone for holders of ``sys:user:list``, only themselves otherwise."""
    users = User.objects.all()
    if actor.has_menu_permission(perms.USER_LIST):
        return users
    return users.filter(pk=actor.pk)


def user_list(*, actor: User, page: int, page_size: int, search: str = "") -> Page[User]:
    users = users_visible_to(actor=actor).select_related("department").prefetch_related("roles")
    if search:
        users = users.filter(Q(username__icontains=search) | Q(email__icontains=search) | Q(name__icontains=search))
    return paginate(users.order_by("date_joined", "id"), page=page, page_size=page_size)


def users_shareable_with(*, actor: User) -> QuerySet[User]:
    """The accounts ``actor`` may pick and share with (docs/security.md, "Who sees whom").

    Active accounts other than the actor's own; an actor in a department sees only that
    department's members; staff see everyone. Emails are never part of what is shown.
    """
    users = User.objects.filter(is_active=True).exclude(pk=actor.pk)
    if actor.is_staff or actor.is_superuser or actor.department_id is None:
        return users
    return users.filter(department_id=actor.department_id)


def user_options(*, actor: User) -> QuerySet[User]:
    """The accounts visible to ``actor``, for pickers such as sharing an agent; names only, no emails."""
    return users_shareable_with(actor=actor).order_by("username").only("id", "username", "name", "nickname")


def session_info(*, user: User) -> SessionInfo:
    return SessionInfo(
        user=user,
        roles=list(user.roles.filter(is_active=True).values_list("code", flat=True)),
        is_admin=bool(user.is_superuser or user.is_staff),
        onboarding_completed=bool((user.config or {}).get("onboarding_completed", False)),
    )


def user_config(*, user: User) -> dict[str, Any]:
    return dict(user.config or {})
