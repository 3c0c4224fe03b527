"""Fixtures of the tools tests: a real MCP server on 127.0.0.1, and the streaming servers of the conversations tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.conversations.tests.conftest import (  # noqa: F401  (fixtures shared with those tests)
    daphne_server,
    server_env,
)
from apps.tools.tests.mcp_server import TestMCPServer


@pytest.fixture
def mcp_server(settings) -> Iterator[TestMCPServer]:
    # The test server lives on 127.0.0.1: let registrations reach loopback, as FETCH_ALLOW_LOOPBACK does for tools.
    settings.FETCH_ALLOW_LOOPBACK = True
    server = TestMCPServer().start()
    yield server
    server.stop()
