"""FilterSets for the console lists; the selectors apply them and the admin reuses them.

Query parameter names are the console API's (``dept``, ``status``, ``start_time``);
the model field names stay behind them.
"""
from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from apps.accounts.models import Department, LoginLog, OperationLog, User


class StrictBooleanField(forms.Field):
    """``true/false``, ``1/0``, ``yes/no``; anything else is a 400, never silently ignored."""

    TRUE = frozenset({"1", "true", "yes", "on"})
    FALSE = frozenset({"0", "false", "no", "off"})

    def to_python(self, value: object) -> bool | None:
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError("Use true or false (1 or 0).", code="invalid")


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class UserFilterSet(django_filters.FilterSet):
    username = django_filters.CharFilter(field_name="username", lookup_expr="icontains")
    email = django_filters.CharFilter(field_name="email", lookup_expr="icontains")
    is_active = StrictBooleanFilter(field_name="is_active")
    dept = django_filters.ModelChoiceFilter(
        field_name="department", queryset=Department.objects.all(), method="filter_dept"
    )

    class Meta:
        model = User
        fields = ["username", "email", "is_active", "dept"]

    def filter_dept(self, queryset: QuerySet[User], name: str, value: Department) -> QuerySet[User]:
        # Picking a department in the console means "people in this part of the organisation",
        # so members of its sub-departments are included.
        return queryset.filter(department_id__in=department_subtree_ids(value))


def department_subtree_ids(department: Department) -> list[int]:
    """``department`` and every department below it (one query; trees are small)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Department.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, stack = [], [department.pk]
    while stack:
        pk = stack.pop()
        found.append(pk)
        stack.extend(children.get(pk, []))
    return found


class _LogFilterSet(django_filters.FilterSet):
    username = django_filters.CharFilter(field_name="username", lookup_expr="icontains")
    ip = django_filters.CharFilter(field_name="ip", lookup_expr="icontains")
    start_time = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    end_time = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lte")


class LoginLogFilterSet(_LogFilterSet):
    status = StrictBooleanFilter(field_name="succeeded")
    succeeded = StrictBooleanFilter(field_name="succeeded")
    api = django_filters.CharFilter(field_name="api")

    class Meta:
        model = LoginLog
        fields = ["username", "ip", "status", "succeeded", "api", "start_time", "end_time"]


class OperationLogFilterSet(_LogFilterSet):
    status = django_filters.NumberFilter(field_name="status_code")
    method = django_filters.CharFilter(field_name="method", lookup_expr="iexact")
    path = django_filters.CharFilter(field_name="path", lookup_expr="icontains")

    class Meta:
        model = OperationLog
        fields = ["username", "ip", "status", "method", "path", "start_time", "end_time"]
