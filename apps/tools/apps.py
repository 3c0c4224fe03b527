from django.apps import AppConfig


class ToolsConfig(AppConfig):
    name = "apps.tools"
    label = "tools"
    verbose_name = "Tools"

    def ready(self) -> None:
        # Registers the built-in tools.
        from apps.tools import builtin  # noqa: F401
