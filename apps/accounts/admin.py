"""The Django admin for accounts: people, roles, the department and menu trees, the logs, and API keys."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db.models import Case, Count, IntegerField, Model, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.html import format_html

from apps.accounts.filters import LoginLogFilterSet, OperationLogFilterSet, UserFilterSet
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
from apps.accounts.selectors.console import tree_order
from apps.accounts.services.api_keys import api_key_check_new, api_key_create, api_key_revoke
from apps.accounts.services.console import users_add_role, users_set_active
from apps.core.errors import Forbidden, Invalid


# ------------------------------------------------------------------------------
# Users
# ------------------------------------------------------------------------------
class CodexUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class CodexUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class FilterSetListFilter(admin.ListFilter):
    """Applies a console FilterSet to a changelist, so ``?username=…&start_time=…`` mean the same
    in the admin as in the API. It shows in the sidebar only while active, with a link to clear it.
    """

    title = "console filters"
    filterset_class: type[django_filters.FilterSet]
    #: The FilterSet parameters taken here (those a visible filter does not already use).
    parameters: tuple[str, ...] = ()

    def __init__(self, request: HttpRequest, params: dict[str, list[str]], model: type[Model], model_admin: Any):
        super().__init__(request, params, model, model_admin)
        # Taken out of ``params`` so the changelist does not try them as field lookups.
        self.used = {name: params.pop(name)[-1] for name in self.parameters if name in params}

    def has_output(self) -> bool:
        # The changelist applies only filters that have output, so "active" is "shown".
        return bool(self.used)

    def choices(self, changelist: ChangeList) -> list[dict[str, Any]]:
        active = ", ".join(f"{name}={value}" for name, value in self.used.items())
        return [
            {"selected": True, "query_string": "?", "display": active},
            {"selected": False, "query_string": changelist.get_query_string(remove=list(self.parameters)),
             "display": "Clear"},
        ]

    def expected_parameters(self) -> list[str]:
        return list(self.parameters)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.used:
            return queryset
        filterset = self.filterset_class(data=self.used, queryset=queryset)
        if not filterset.is_valid():
            raise IncorrectLookupParameters(filterset.errors)
        return filterset.qs


class UserConsoleFilter(FilterSetListFilter):
    filterset_class = UserFilterSet
    parameters = ("username", "email", "is_active")


class LoginLogConsoleFilter(FilterSetListFilter):
    filterset_class = LoginLogFilterSet
    parameters = ("username", "ip", "status", "succeeded", "start_time", "end_time")


class OperationLogConsoleFilter(FilterSetListFilter):
    filterset_class = OperationLogFilterSet
    parameters = ("username", "ip", "status", "path", "start_time", "end_time")


class DepartmentSubtreeFilter(admin.SimpleListFilter):
    """The console's ``dept`` filter: a department and everything under it."""

    title = "department (with sub-departments)"
    parameter_name = "dept"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(str(node.pk), "— " * depth + node.name) for node, depth in tree_order(list(Department.objects.all()))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> QuerySet[User]:
        if not self.value():
            return queryset
        filterset = UserFilterSet(data={"dept": self.value()}, queryset=queryset)
        if not filterset.is_valid():
            raise IncorrectLookupParameters(filterset.errors)
        return filterset.qs


def _assign_role_action(role: Role) -> Callable[[admin.ModelAdmin, HttpRequest, QuerySet[User]], None]:
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[User]) -> None:
        try:
            added = users_add_role(actor=request.user, users=queryset, role=role)
        except Forbidden as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
            return
        modeladmin.message_user(request, f"Role “{role.name}” given to {added} user(s).", messages.SUCCESS)

    return action


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = CodexUserChangeForm
    add_form = CodexUserCreationForm
    list_display = (
        "username", "email", "name", "department", "role_names", "is_active", "is_staff", "is_superuser",
        "last_login", "date_joined",
    )
    list_filter = ("is_active", "is_staff", "is_superuser", "roles", DepartmentSubtreeFilter, UserConsoleFilter)
    search_fields = ("username", "email", "name", "nickname", "phone")
    ordering = ("-date_joined",)
    list_select_related = ("department",)
    filter_horizontal = ("roles", "groups", "user_permissions")
    autocomplete_fields = ("department",)
    readonly_fields = ("last_login", "date_joined")
    actions = ("disable_users", "enable_users")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Profile", {"fields": ("name", "nickname", "email", "phone", "avatar", "department")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "roles", "groups", "user_permissions")}),
        ("Settings", {"classes": ("collapse",), "fields": ("config",)}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        return super().get_queryset(request).prefetch_related("roles")

    @admin.display(description="roles")
    def role_names(self, user: User) -> str:
        return ", ".join(role.name for role in user.roles.all())

    @admin.action(description="Disable selected users", permissions=["change"])
    def disable_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        changed = users_set_active(actor=request.user, users=queryset, is_active=False)
        self.message_user(request, f"{changed} user(s) disabled (never your own account).", messages.SUCCESS)

    @admin.action(description="Enable selected users", permissions=["change"])
    def enable_users(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        changed = users_set_active(actor=request.user, users=queryset, is_active=True)
        self.message_user(request, f"{changed} user(s) enabled.", messages.SUCCESS)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if self.has_change_permission(request):
            # One action per role keeps "assign a role" to a single click, with no extra form.
            for role in Role.objects.filter(is_active=True).order_by("name"):
                name = f"assign_role_{role.pk}"
                actions[name] = (_assign_role_action(role), name, f"Give role “{role.name}” to selected users")
        return actions


# ------------------------------------------------------------------------------
# Roles
# ------------------------------------------------------------------------------
@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "is_active", "user_count", "menu_count", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("name", "code", "description")
    filter_horizontal = ("menus",)
    prepopulated_fields = {"code": ("name",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Role]:
        return super().get_queryset(request).annotate(
            user_total=Count("users", distinct=True), menu_total=Count("menus", distinct=True)
        )

    @admin.display(description="users", ordering="user_total")
    def user_count(self, role: Role) -> int:
        return role.user_total  # type: ignore[attr-defined]

    @admin.display(description="menus", ordering="menu_total")
    def menu_count(self, role: Role) -> int:
        return role.menu_total  # type: ignore[attr-defined]


# ------------------------------------------------------------------------------
# Trees: departments and menus
# ------------------------------------------------------------------------------
class TreeChangeList(ChangeList):
    def get_ordering(self, request: HttpRequest, queryset: QuerySet) -> list[str]:
        # The tree order is an annotation of the changelist's queryset only; declaring it
        # in ``ordering`` would also apply it to related-field widgets, where it does not exist.
        if ORDER_VAR in self.params:
            return super().get_ordering(request, queryset)
        return ["tree_position", "pk"]


class TreeAdmin(admin.ModelAdmin):
    """Lists a tree depth-first, each row indented by its depth.

    The position and depth are computed from one query of (id, parent) pairs and
    sent back as annotations, so sorting, paging and filtering stay the admin's.
    """

    label_field = "name"

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return TreeChangeList

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        ordered = tree_order(list(self.model.objects.only("pk", "parent_id", "sort").order_by("sort", "pk")))
        position = [When(pk=node.pk, then=Value(index)) for index, (node, _) in enumerate(ordered)]
        depth = [When(pk=node.pk, then=Value(level)) for node, level in ordered]
        return queryset.annotate(
            tree_position=Case(*position, default=Value(0), output_field=IntegerField()),
            tree_depth=Case(*depth, default=Value(0), output_field=IntegerField()),
        ).order_by("tree_position", "pk")

    @admin.display(description="name", ordering="tree_position")
    def tree_label(self, node: Model) -> str:
        return format_html(
            '<span style="padding-left:{}em">{}{}</span>',
            1.5 * node.tree_depth,  # type: ignore[attr-defined]
            "└ " if node.tree_depth else "",  # type: ignore[attr-defined]
            getattr(node, self.label_field),
        )


@admin.register(Department)
class DepartmentAdmin(TreeAdmin):
    list_display = ("tree_label", "leader", "phone", "email", "member_count", "sort", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "leader", "email")
    autocomplete_fields = ("parent",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return super().get_queryset(request).annotate(member_total=Count("users"))

    @admin.display(description="members", ordering="member_total")
    def member_count(self, department: Department) -> int:
        return department.member_total  # type: ignore[attr-defined]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        # The API answers 409 for a department with members; here its members are
        # listed as protected, so the admin refuses the same delete.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        members = User.objects.filter(department__in=list(objs))
        protected = list(protected) + [f"User: {user.username}" for user in members]
        return deleted, counts, perms_needed, protected


@admin.register(Menu)
class MenuAdmin(TreeAdmin):
    label_field = "title"
    list_display = ("tree_label", "type", "perms", "path", "sort", "is_active", "is_hidden")
    list_filter = ("type", "is_active", "is_hidden")
    search_fields = ("title", "name", "perms", "path")
    autocomplete_fields = ("parent",)


# ------------------------------------------------------------------------------
# Logs and codes: written by the platform, read here
# ------------------------------------------------------------------------------
class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(LoginLog)
class LoginLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "username", "succeeded", "ip", "api", "message")
    list_filter = ("succeeded", "api", "created_at", LoginLogConsoleFilter)
    search_fields = ("username", "ip", "user_agent")
    date_hierarchy = "created_at"


@admin.register(OperationLog)
class OperationLogAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "username", "method", "path", "status_code", "duration_ms", "ip")
    list_filter = ("method", "status_code", "created_at", OperationLogConsoleFilter)
    search_fields = ("username", "path", "ip")
    date_hierarchy = "created_at"


@admin.register(VerificationCode)
class VerificationCodeAdmin(ReadOnlyAdmin):
    list_display = ("email", "purpose", "created_at", "expires_at", "used_at", "attempts")
    list_filter = ("purpose",)
    search_fields = ("email",)
    exclude = ("code_hash",)


@admin.register(InviteCode)
class InviteCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "uses", "max_uses", "expires_at", "is_active", "created_by", "created_at")
    list_filter = ("is_active",)
    search_fields = ("code", "created_by__username")
    autocomplete_fields = ("created_by",)
    readonly_fields = ("uses",)


# ------------------------------------------------------------------------------
# API keys: made here or by their owner under /api/keys; only the hash is kept
# ------------------------------------------------------------------------------
class ApiKeyAdminForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("owner", "name", "expires_at")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance._state.adding and data.get("owner") and data.get("name"):
            try:
                api_key_check_new(owner=data["owner"], name=data["name"], expires_at=data.get("expires_at"))
            except Invalid as exc:
                raise forms.ValidationError(exc.message) from None
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyAdminForm
    list_display = ("name", "prefix", "owner", "created_at", "last_used_at", "expires_at", "revoked_at", "active")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "prefix", "owner__username")
    autocomplete_fields = ("owner",)
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("owner", "name", "expires_at")
        return ("owner", "name", "prefix", "key_hash", "created_at", "last_used_at", "expires_at", "revoked_at")

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("owner", "prefix", "key_hash", "created_at", "last_used_at", "expires_at", "revoked_at")

    @admin.display(boolean=True, description="active")
    def active(self, key: ApiKey) -> bool:
        return key.is_active()

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = api_key_create(owner=obj.owner, name=obj.name, expires_at=obj.expires_at)
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = key.pk, key.prefix, key.key_hash, key.created_at
        obj._state.adding = False
        self.message_user(request, f"The key's secret, shown only now: {secret}", messages.WARNING)

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead: the row records who had access

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            api_key_revoke(api_key=key)
        self.message_user(request, f"Revoked {len(keys)} key(s).", messages.SUCCESS)
