"""``manage.py embedded_postgres status|start|stop``: the embedded PostgreSQL under var/postgres."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from codex import embedded_db


class Command(BaseCommand):
    help = (
        "Show, start or stop the embedded PostgreSQL (used when DATABASE_URL is unset). "
        "Loading the settings for this command never starts the server by itself."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "start", "stop"])

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        pgdata = settings.EMBEDDED_POSTGRES_DIR
        if action == "start":
            state = embedded_db.start(pgdata)
        elif action == "stop":
            was_running = embedded_db.stop(pgdata)
            self.stdout.write(f"stopped the embedded PostgreSQL in {pgdata}" if was_running else "it was not running")
            return
        else:
            state = embedded_db.server_state(pgdata)
        if not state.initialised:
            self.stdout.write(f"no embedded PostgreSQL in {pgdata} yet (the first command that needs it creates it)")
        elif state.running:
            self.stdout.write(
                f"running: pid {state.pid}, socket in {state.socket_dir}, data in {pgdata}, "
                f"{len(state.handles)} process(es) holding it"
            )
        else:
            self.stdout.write(f"stopped: data in {pgdata}")
        if action == "status" and not state.running:
            raise CommandError("not running")
