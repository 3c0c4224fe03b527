"""``manage.py bootstrap``: default roles, their menus and a first admin; idempotent."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import ServiceError
from apps.system.services import platform_bootstrap


class Command(BaseCommand):
    help = (
        "Create the default roles (admin, user) with their menus and an admin account from "
        "ADMIN_USERNAME/ADMIN_EMAIL/ADMIN_PASSWORD (a generated password is printed once). "
        "Running it again changes nothing."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        import environ

        env = environ.Env()
        try:
            result = platform_bootstrap(
                admin_username=env.str("ADMIN_USERNAME", default="admin"),
                admin_email=env.str("ADMIN_EMAIL", default="admin@localhost"),
                admin_password=env.str("ADMIN_PASSWORD", default="") or None,
            )
        except ServiceError as exc:
            raise CommandError(f"bootstrap failed: {exc.message}") from exc
        if result.roles_created:
            self.stdout.write(f"roles created: {', '.join(result.roles_created)}")
        if result.menus_created:
            self.stdout.write(f"menus created: {result.menus_created}")
        if not result.admin_created:
            self.stdout.write(f"admin account {result.admin_username!r} exists; left unchanged")
        elif result.generated_password:
            self.stdout.write(
                self.style.WARNING(
                    f"admin account {result.admin_username!r} created with the generated password: "
                    f"{result.generated_password}\n(shown once and stored only as a hash; change it after signing in)"
                )
            )
        else:
            self.stdout.write(f"admin account {result.admin_username!r} created with ADMIN_PASSWORD")
