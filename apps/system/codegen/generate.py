"""Introspect a table and render an app for it (models, services, selectors, serializers, views, urls,
admin and a test module). The generated model is unmanaged: the table stays the database's."""
from __future__ import annotations

import io
import keyword
import re
import zipfile
from dataclasses import dataclass

from django.db import connection

from apps.core.errors import Invalid
from apps.system.codegen import templates

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_APP_LABEL = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_CLASS_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,59}$")
OPTIONS = {"read_only": bool}


@dataclass(frozen=True)
class Column:
    attribute: str
    field: str
    arguments: tuple[str, ...]


@dataclass(frozen=True)
class TableModel:
    table: str
    columns: tuple[Column, ...]


def check_names(*, app_label: str, class_name: str, table_name: str, options: dict) -> None:
    """Refuse names that would not make valid Python, and options we do not know."""
    errors: dict[str, list[str]] = {}
    if not _APP_LABEL.match(app_label) or keyword.iskeyword(app_label):
        errors["app_label"] = ["Use a lowercase Python identifier (letters, digits, underscores)."]
    if not _CLASS_NAME.match(class_name) or keyword.iskeyword(class_name):
        errors["class_name"] = ["Use a CapWords Python class name."]
    if not _IDENTIFIER.match(table_name):
        errors["table_name"] = ["Use the table's plain name (letters, digits, underscores)."]
    unknown = sorted(set(options) - set(OPTIONS))
    wrong = sorted(key for key, kind in OPTIONS.items() if key in options and not isinstance(options[key], kind))
    if unknown or wrong:
        errors["options"] = [f"Unknown options: {', '.join(unknown)}." if unknown else f"Wrong types: {', '.join(wrong)}."]
    if errors:
        raise Invalid("Invalid code generator configuration.", field_errors=errors)


def _attribute(column: str, taken: set[str]) -> str:
    name = re.sub(r"\W", "_", column.lower())
    if not name or name[0].isdigit():
        name = f"field_{name}"
    if keyword.iskeyword(name) or name in ("pk", "objects"):
        name = f"{name}_field"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def table_model(table_name: str) -> TableModel:
    """The table's columns as model fields; an unknown table or one without a primary key is refused."""
    with connection.cursor() as cursor:
        tables = {info.name for info in connection.introspection.get_table_list(cursor) if info.type == "t"}
        if table_name not in tables:
            raise Invalid(f"There is no table {table_name!r}.", field_errors={"table_name": ["Unknown table."]})
        description = connection.introspection.get_table_description(cursor, table_name)
        primary_key = connection.introspection.get_primary_key_column(cursor, table_name)
    if primary_key is None:
        raise Invalid(f"Table {table_name!r} has no primary key.", field_errors={"table_name": ["No primary key."]})
    columns, taken = [], set()
    for row in description:
        try:
            field = connection.introspection.get_field_type(row.type_code, row)
        except KeyError:
            field = "TextField"  # a type Django does not model (tsvector, vector): read as text
        arguments: list[str] = []
        attribute = _attribute(row.name, taken)
        if attribute != row.name:
            arguments.append(f"db_column={row.name!r}")
        if row.name == primary_key:
            arguments.append("primary_key=True")
            if field in ("IntegerField", "BigIntegerField") and getattr(row, "is_autofield", False):
                field = "BigAutoField" if field == "BigIntegerField" else "AutoField"
        if field == "CharField":
            arguments.append(f"max_length={row.display_size or row.internal_size or 255}")
        if field == "DecimalField":
            arguments.extend([f"max_digits={row.precision or 20}", f"decimal_places={row.scale or 0}"])
        if row.null_ok and row.name != primary_key:
            arguments.extend(["null=True", "blank=True"])
        columns.append(Column(attribute, field, tuple(arguments)))
    return TableModel(table_name, tuple(columns))


def render_app(*, app_label: str, class_name: str, business_name: str, model: TableModel,
               options: dict) -> dict[str, str]:
    """``{path: source}`` of the generated app."""
    context = templates.Context(
        app_label=app_label, class_name=class_name, entity=_snake(class_name), model=model,
        business_name=" ".join(business_name.split()) or class_name, read_only=bool(options.get("read_only")),
    )
    return {f"{app_label}/{path}": render(context) for path, render in templates.FILES.items()}


def app_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, source in sorted(files.items()):
            archive.writestr(path, source)
    return buffer.getvalue()


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
