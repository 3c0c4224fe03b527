from django.apps import AppConfig
from django.urls import register_converter


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.core.signals import request_started

        from apps.core.db import reset_unavailable
        from apps.core.limits import BigIntConverter, bound_serializer_integers

        request_started.connect(reset_unavailable, dispatch_uid="core.reset_database_unavailable")

        register_converter(BigIntConverter, "bigint")
        bound_serializer_integers()
