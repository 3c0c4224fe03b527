"""Permission classes: menu permission codes are checked here and nowhere else."""
from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission


class HasMenuPermission(BasePermission):
    """Grants a view's ``required_permissions[method]`` (or ``required_permission``) to holders.

    Superusers hold every code; others hold the codes of their roles' menus.
    """

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        codes = getattr(view, "required_permissions", {})
        code = codes.get(request.method) if isinstance(codes, dict) else None
        code = code or getattr(view, "required_permission", None)
        if code is None:
            return bool(user.is_superuser)
        return user.has_menu_permission(code)


class IsAdminUser(BasePermission):
    """Staff and superusers, for the admin-only product routes (user management, settings)."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_superuser or user.is_staff))
