"""Shared by the agents, knowledge, tools, settings and studio browser tests."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

#: Playwright's assertions wait 5 s by default; on a loaded machine (a shared CI box, the whole
#: suite at once) a screen's first API answers can take longer, so these tests wait up to 15 s.
EXPECT_TIMEOUT_MS = 15_000
PLAYWRIGHT_DEFAULT_MS = 5_000


@pytest.fixture(autouse=True)
def patient_expect() -> Iterator[None]:
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    yield
    expect.set_options(timeout=PLAYWRIGHT_DEFAULT_MS)
