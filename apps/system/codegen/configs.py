"""Code generator configurations: created and listed by admins, each generating one app."""
from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from apps.core.errors import Conflict, NotFound
from apps.system.codegen.generate import app_zip, check_names, render_app, table_model
from apps.system.models import CodeGenConfig


def config_list() -> QuerySet[CodeGenConfig]:
    return CodeGenConfig.objects.select_related("created_by")


def config_get(*, config_id: Any) -> CodeGenConfig:
    config = CodeGenConfig.objects.filter(pk=config_id).first() if str(config_id).isdigit() else None
    if config is None:
        raise NotFound("Code generator configuration not found.")
    return config


def config_create(*, created_by: Any, app_label: str, table_name: str, business_name: str, class_name: str,
                  options: dict[str, Any]) -> CodeGenConfig:
    check_names(app_label=app_label, class_name=class_name, table_name=table_name, options=options)
    table_model(table_name)  # refuses an unknown table now, not at generation
    try:
        with transaction.atomic():
            return CodeGenConfig.objects.create(created_by=created_by, app_label=app_label, table_name=table_name,
                                                business_name=business_name.strip(), class_name=class_name,
                                                options=options)
    except IntegrityError:
        raise Conflict(f"An app labelled {app_label} is configured already.",
                       field_errors={"app_label": ["Already used."]}) from None


def config_generate(*, config: CodeGenConfig) -> bytes:
    """The zip of the generated app, from the table as it is now."""
    check_names(app_label=config.app_label, class_name=config.class_name, table_name=config.table_name,
                options=config.options)
    files = render_app(app_label=config.app_label, class_name=config.class_name, business_name=config.business_name,
                       model=table_model(config.table_name), options=config.options)
    return app_zip(files)
