from django.apps import AppConfig
from django.urls import register_converter


class CoreConfig(AppConfig):
    name = "apps.core"
    label = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from apps.core.limits import BigIntConverter, bound_serializer_integers

        register_converter(BigIntConverter, "bigint")
        bound_serializer_integers()
