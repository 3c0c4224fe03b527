from django.apps import AppConfig


class ToolsConfig(AppConfig):
    name = "apps.tools"
    label = "tools"
    verbose_name = "Tools"

    def ready(self) -> None:
        # Registers the built-in tools, then the providers every run's toolset draws on.
        from apps.tools import builtin  # noqa: F401
        from apps.tools.mcp.servers import mcp_provision
        from apps.tools.skills import skills_provision
        from apps.tools.toolkits.profiles import profiles_provision
        from apps.tools.toolset import provider_register

        provider_register("skills", skills_provision)
        provider_register("mcp", mcp_provision)
        provider_register("toolkit_profiles", profiles_provision)
