"""``manage.py load_toolkits``: install or update the shipped toolkit catalog; toolkits staff edited are kept."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.tools.toolkits.catalog import catalog_install


class Command(BaseCommand):
    help = "Install or update the shipped toolkits (apps/tools/toolkits/catalog.json); staff-edited ones are kept."

    def handle(self, *args: Any, **options: Any) -> None:
        for slug, outcome in catalog_install():
            self.stdout.write(f"{slug}: {outcome}")
