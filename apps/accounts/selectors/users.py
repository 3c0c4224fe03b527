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


def user_options(*, actor: User) -> QuerySet[User]:
    """Active accounts other than ``actor``, for pickers such as sharing an agent; names only, no emails."""
    return (
        User.objects.filter(is_active=True)
        .exclude(pk=actor.pk)
        .order_by("username")
        .only("id", "username", "name", "nickname")
    )


def session_info(*, user: User) -> SessionInfo:
    return SessionInfo(
        user=user,
        roles=list(user.roles.filter(is_active=True).values_list("code", flat=True)),
        is_admin=bool(user.is_superuser or user.is_staff),
        onboarding_completed=bool((user.config or {}).get("onboarding_completed", False)),
    )


def user_config(*, user: User) -> dict[str, Any]:
    return dict(user.config or {})
