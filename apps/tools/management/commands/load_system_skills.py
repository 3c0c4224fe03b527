"""``manage.py load_system_skills``: install or update the system skills shipped in apps/tools/system_skills; idempotent."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.tools.skills import system_skills_install


class Command(BaseCommand):
    help = "Install or update the shipped system skills (data-migration, meeting-notes, code-review)."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, outcome in system_skills_install():
            self.stdout.write(f"{name}: {outcome}")
