"""The modules of a generated app, one function each; every one renders ruff-clean Python.

The generated code imports only Django, DRF and its own package (relative imports), so it
installs into any project and its import order is the same wherever ruff checks it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Context:
    app_label: str
    class_name: str
    entity: str
    model: Any
    business_name: str
    read_only: bool

    @property
    def url_base(self) -> str:
        return f"api/v1/gen/{self.app_label}/{self.entity.replace('_', '-')}"

    @property
    def doc_name(self) -> str:
        # Docstrings quote the business name; no character of it may end the string.
        return self.business_name.replace("\\", "").replace('"', "'")


def _init(c: Context) -> str:
    return f'"""{c.doc_name}: generated from the table {c.model.table}."""\n'


def _apps(c: Context) -> str:
    config = "".join(part.title() for part in c.app_label.split("_")) + "Config"
    return (
        "from django.apps import AppConfig\n\n\n"
        f"class {config}(AppConfig):\n"
        f'    name = "{c.app_label}"\n'
        f'    label = "{c.app_label}"\n'
        f'    verbose_name = "{c.doc_name}"\n'
    )


def _models(c: Context) -> str:
    fields = "\n".join(
        f"    {column.attribute} = models.{column.field}({', '.join(column.arguments)})" for column in c.model.columns
    )
    return (
        f'"""{c.doc_name}: the model of the existing table {c.model.table} (unmanaged: migrations leave it alone)."""\n'
        "from django.db import models\n\n\n"
        f"class {c.class_name}(models.Model):\n"
        f"{fields}\n\n"
        "    class Meta:\n"
        "        managed = False\n"
        f'        db_table = "{c.model.table}"\n'
        f'        verbose_name = "{c.doc_name}"\n\n'
        "    def __str__(self) -> str:\n"
        f'        return f"{c.class_name} {{self.pk}}"\n'
    )


def _services(c: Context) -> str:
    return (
        f'"""Every write of {c.doc_name}."""\n'
        "from __future__ import annotations\n\n"
        "from typing import Any\n\n"
        "from django.db import transaction\n\n"
        f"from .models import {c.class_name}\n\n\n"
        "@transaction.atomic\n"
        f"def {c.entity}_create(*, data: dict[str, Any]) -> {c.class_name}:\n"
        f"    record = {c.class_name}(**data)\n"
        "    record.full_clean()\n"
        "    record.save(force_insert=True)\n"
        "    return record\n\n\n"
        "@transaction.atomic\n"
        f"def {c.entity}_update(*, record: {c.class_name}, data: dict[str, Any]) -> {c.class_name}:\n"
        "    for field, value in data.items():\n"
        "        setattr(record, field, value)\n"
        "    record.full_clean()\n"
        "    record.save()\n"
        "    return record\n\n\n"
        f"def {c.entity}_delete(*, record: {c.class_name}) -> None:\n"
        "    record.delete()\n"
    )


def _selectors(c: Context) -> str:
    return (
        f'"""Reads of {c.doc_name}; a missing row is 404."""\n'
        "from __future__ import annotations\n\n"
        "from typing import Any\n\n"
        "from django.db.models import QuerySet\n"
        "from django.http import Http404\n\n"
        f"from .models import {c.class_name}\n\n\n"
        f"def {c.entity}_list() -> QuerySet[{c.class_name}]:\n"
        f'    return {c.class_name}.objects.order_by("pk")\n\n\n'
        f"def {c.entity}_get(*, pk: Any) -> {c.class_name}:\n"
        "    try:\n"
        f"        return {c.class_name}.objects.get(pk=pk)\n"
        f"    except ({c.class_name}.DoesNotExist, ValueError, TypeError):\n"
        f'        raise Http404("{c.class_name} not found.") from None\n'
    )


def _api_init(c: Context) -> str:
    return ""


def _serializers(c: Context) -> str:
    return (
        f'"""The API shapes of {c.doc_name}."""\n'
        "from rest_framework import serializers\n\n"
        f"from ..models import {c.class_name}\n\n\n"
        f"class {c.class_name}Serializer(serializers.ModelSerializer):\n"
        "    class Meta:\n"
        f"        model = {c.class_name}\n"
        '        fields = "__all__"\n'
    )


def _views(c: Context) -> str:
    writes_list = (
        "\n    def post(self, request: Request) -> Response:\n"
        f"        serializer = {c.class_name}Serializer(data=request.data)\n"
        "        serializer.is_valid(raise_exception=True)\n"
        f"        record = services.{c.entity}_create(data=serializer.validated_data)\n"
        f"        return Response({c.class_name}Serializer(record).data, status=201)\n"
    )
    writes_detail = (
        "\n    def put(self, request: Request, pk: str) -> Response:\n"
        f"        record = selectors.{c.entity}_get(pk=pk)\n"
        f"        serializer = {c.class_name}Serializer(record, data=request.data, partial=True)\n"
        "        serializer.is_valid(raise_exception=True)\n"
        f"        record = services.{c.entity}_update(record=record, data=serializer.validated_data)\n"
        f"        return Response({c.class_name}Serializer(record).data)\n\n"
        "    def delete(self, request: Request, pk: str) -> Response:\n"
        f"        services.{c.entity}_delete(record=selectors.{c.entity}_get(pk=pk))\n"
        "        return Response(status=204)\n"
    )
    imports = "from .. import selectors, services\n" if not c.read_only else "from .. import selectors\n"
    return (
        f'"""Admin-only API of {c.doc_name}: thin views over the services and selectors."""\n'
        "from __future__ import annotations\n\n"
        "from rest_framework.permissions import IsAdminUser\n"
        "from rest_framework.request import Request\n"
        "from rest_framework.response import Response\n"
        "from rest_framework.views import APIView\n\n"
        f"{imports}"
        f"from .serializers import {c.class_name}Serializer\n\n\n"
        f"class {c.class_name}ListApi(APIView):\n"
        "    permission_classes = [IsAdminUser]\n\n"
        "    def get(self, request: Request) -> Response:\n"
        f"        return Response({c.class_name}Serializer(selectors.{c.entity}_list(), many=True).data)\n"
        f"{'' if c.read_only else writes_list}\n\n"
        f"class {c.class_name}DetailApi(APIView):\n"
        "    permission_classes = [IsAdminUser]\n\n"
        "    def get(self, request: Request, pk: str) -> Response:\n"
        f"        return Response({c.class_name}Serializer(selectors.{c.entity}_get(pk=pk)).data)\n"
        f"{'' if c.read_only else writes_detail}"
    )


def _urls(c: Context) -> str:
    return (
        f'"""The paths of {c.doc_name}; include them from the project\'s urls."""\n'
        "from django.urls import path\n\n"
        "from .api import views\n\n"
        "urlpatterns = [\n"
        f'    path("{c.url_base}", views.{c.class_name}ListApi.as_view(), name="{c.app_label}-list"),\n'
        f'    path("{c.url_base}/<str:pk>", views.{c.class_name}DetailApi.as_view(), name="{c.app_label}-detail"),\n'
        "]\n"
    )


def _admin(c: Context) -> str:
    names = ", ".join(f'"{column.attribute}"' for column in c.model.columns[:6])
    return (
        "from django.contrib import admin\n\n"
        f"from .models import {c.class_name}\n\n\n"
        f"@admin.register({c.class_name})\n"
        f"class {c.class_name}Admin(admin.ModelAdmin):\n"
        f"    list_display = [{names}]\n"
    )


def _tests_init(c: Context) -> str:
    return ""


def _tests(c: Context) -> str:
    return (
        f'"""The API of {c.doc_name}: admins only; a missing row is 404."""\n'
        "import pytest\n\n"
        f'URL = "/{c.url_base}"\n\n\n'
        "@pytest.mark.django_db\n"
        "def test_the_list_needs_an_admin(anon, alice_client):\n"
        "    assert anon.get(URL).status_code == 401\n"
        "    assert alice_client.get(URL).status_code == 403\n\n\n"
        "@pytest.mark.django_db\n"
        "def test_an_admin_lists_the_rows(admin_client):\n"
        "    response = admin_client.get(URL)\n"
        "    assert response.status_code == 200\n"
        "    assert isinstance(response.json(), list)\n\n\n"
        "@pytest.mark.django_db\n"
        "def test_a_missing_row_is_404(admin_client):\n"
        '    assert admin_client.get(f"{URL}/0").status_code == 404\n'
    )


FILES: dict[str, Callable[[Context], str]] = {
    "__init__.py": _init,
    "apps.py": _apps,
    "models.py": _models,
    "services.py": _services,
    "selectors.py": _selectors,
    "api/__init__.py": _api_init,
    "api/serializers.py": _serializers,
    "api/views.py": _views,
    "urls.py": _urls,
    "admin.py": _admin,
    "tests/__init__.py": _tests_init,
    "tests/test_api.py": _tests,
}
