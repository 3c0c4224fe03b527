"""``manage.py doctor``: one line per dependency; exits non-zero when one is down."""
from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.system.selectors import CHECK_NAMES, health_checks


class Command(BaseCommand):
    help = "Check PostgreSQL, pgvector, Redis and the Celery workers; exit 1 when any of them is down."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check", action="append", choices=CHECK_NAMES, dest="checks",
            help="Run only this check (repeatable); all of them by default.",
        )
        parser.add_argument("--timeout", type=float, default=2.0, help="Seconds to wait for Redis and the workers.")

    def handle(self, *args: Any, checks: list[str] | None, timeout: float, **options: Any) -> None:
        results = health_checks(only=checks or CHECK_NAMES, timeout=timeout)
        width = max(len(r.name) for r in results)
        for r in results:
            state = self.style.SUCCESS("ok  ") if r.ok else self.style.ERROR("DOWN")
            self.stdout.write(f"{r.name:<{width}}  {state}  {r.latency_ms:>7.1f} ms  {r.detail}")
        down = [r.name for r in results if not r.ok]
        if down:
            raise CommandError(f"down: {', '.join(down)}")
