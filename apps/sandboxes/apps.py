from django.apps import AppConfig


class SandboxesConfig(AppConfig):
    name = "apps.sandboxes"
    label = "sandboxes"
    verbose_name = "Sandboxes"

    def ready(self) -> None:
        from apps.sandboxes.tools import provide_sandbox_tools  # the tools import models: only once apps are ready
        from apps.tools.toolset import provider_register

        provider_register("sandboxes", provide_sandbox_tools)
