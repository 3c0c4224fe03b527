"""A daphne for the browser tests that reach servers the tests start on 127.0.0.1 (an MCP server,
the fake LLM): FETCH_ALLOW_LOOPBACK, as the tools and provider tests set it in-process."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from conftest import _test_database_url, start_daphne, stop_daphne


@pytest.fixture(scope="module")
def web_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    server = start_daphne({**os.environ, "DATABASE_URL": database_url, "CODEX_TESTING": "1",
                           "CODEX_FORCE_NO_REDIS": "1", "FETCH_ALLOW_LOOPBACK": "1"})
    yield server.url
    stop_daphne(server)
