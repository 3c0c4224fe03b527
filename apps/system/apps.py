from django.apps import AppConfig


class SystemConfig(AppConfig):
    name = "apps.system"
    label = "system"
    verbose_name = "System"

    def ready(self) -> None:
        from apps.accounts import registration
        from apps.system import selectors, tracing

        tracing.setup()
        # The accounts app reads the sign-up switches through this hook, not by importing this app.
        registration.switches_source_set(selectors.registration_switches)
