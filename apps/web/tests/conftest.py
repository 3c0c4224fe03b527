"""Fixtures for the web app's browser tests: a real daphne on the test database, headless
Chromium through Playwright's sync API, and a signed-up user.

pytest-django's ``live_server`` is a threaded WSGI server that cannot stream SSE, so daphne
runs in a subprocess on the test database; the tests commit their rows
(``pytest.mark.django_db(transaction=True)``) so that it sees them, and it sees theirs.
A browser test module marks itself with ``pytestmark = BROWSER`` (below).
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import Daphne, _test_database_url, start_daphne, stop_daphne

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "correct-horse-battery"

BROWSER = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed (make test installs it)"),
]


@pytest.fixture(scope="session")
def web_daphne(django_db_setup, django_db_blocker) -> Iterator[Daphne]:
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    # Without Redis the runs and the ingestion execute inside daphne itself, so the tests
    # need no Celery worker; the API and the pages are the same either way.
    # Every browser test signs up a user from 127.0.0.1 on this one server: the per-client
    # sign-up and sign-in limits (tested by the accounts app) would refuse them after ten.
    limits = {"REGISTER_THROTTLE": "1000/min", "LOGIN_THROTTLE_PER_IP": "1000/min", "LOGIN_THROTTLE_PER_ACCOUNT": "1000/min"}
    server = start_daphne(
        {**os.environ, **limits, "DATABASE_URL": database_url, "CODEX_TESTING": "1", "CODEX_FORCE_NO_REDIS": "1"}
    )
    yield server
    stop_daphne(server)


@pytest.fixture(scope="session")
def web_server(web_daphne: Daphne) -> str:
    return web_daphne.url


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import Error, sync_playwright

    # Playwright's sync API keeps an event loop on this thread, which makes Django refuse the
    # database flush that ends each transactional test; nothing here is really async.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.skip(f"chromium cannot start here: {exc.message.splitlines()[0]}")
        yield browser
        browser.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def browser_context(chromium, web_server):
    context = chromium.new_context(base_url=web_server)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    """A fresh page (its own storage); the test fails if a page script raised."""
    page = browser_context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == [], f"the page raised: {errors}"


@pytest.fixture
def register() -> Callable[..., str]:
    """``register(page, "dora")`` signs up a fresh user through the sign-in page and lands on
    the chat; returns the (unique) username. Its password is ``PASSWORD``."""

    def sign_up(page, name: str) -> str:
        from playwright.sync_api import expect

        # Unique, so that rows a crashed earlier run left behind cannot get in the way.
        username = f"{name}{uuid.uuid4().hex[:8]}"
        page.goto("/app/login")
        page.get_by_role("tab", name="Create account").click()
        form = page.locator("#register-form")
        form.get_by_label("Username").fill(username)
        form.get_by_label("Email").fill(f"{username}@example.com")
        form.get_by_label("Password").fill(PASSWORD)
        form.get_by_role("button", name="Create account").click()
        page.wait_for_url("**/app/")
        expect(page.locator("#whoami")).to_have_text(username)
        return username

    return sign_up
