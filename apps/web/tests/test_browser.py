"""The web app in headless Chromium against a real daphne, the test database and the offline model.

pytest-django's ``live_server`` is a threaded WSGI server that cannot stream SSE,
so daphne runs in a subprocess on the test database; the tests commit their rows
(``transaction=True``) so that it sees them, and it sees theirs.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import _test_database_url, start_daphne, stop_daphne

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "correct-horse-battery"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed (make test installs it)"),
]

# Installed before any page script: records what the status line and the streaming answer
# showed over time, so the test can tell a streamed answer from one that arrived whole.
RECORDER = """
window.__seen = {statuses: [], answerLengths: []};
new MutationObserver(() => {
  const status = document.getElementById("status-line");
  if (status && status.textContent && window.__seen.statuses.at(-1) !== status.textContent) {
    window.__seen.statuses.push(status.textContent);
  }
  const answer = document.querySelector(".message.assistant.pending .content");
  if (answer) window.__seen.answerLengths.push(answer.textContent.length);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="module")
def web_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    # Without Redis the run and the ingestion execute inside daphne itself, so the test
    # needs no Celery worker; the API and the pages are the same either way.
    server = start_daphne({**os.environ, "DATABASE_URL": database_url, "CODEX_TESTING": "1", "CODEX_FORCE_NO_REDIS": "1"})
    yield server.url
    stop_daphne(server)


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
def page(chromium, web_server):
    context = chromium.new_context(base_url=web_server)
    context.add_init_script(RECORDER)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"the page raised: {errors}"


def _register(page, name: str) -> str:
    from playwright.sync_api import expect

    # Unique, so that rows a crashed earlier run left behind cannot get in the way.
    username = f"{name}{uuid.uuid4().hex[:8]}"
    page.goto("/")
    page.wait_for_url("**/app/login")
    page.get_by_role("tab", name="Create account").click()
    form = page.locator("#register-form")
    form.get_by_label("Username").fill(username)
    form.get_by_label("Email").fill(f"{username}@example.com")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/app/")
    expect(page.locator("#whoami")).to_have_text(username)
    return username


def _ask(page, text: str):
    from playwright.sync_api import expect

    expect(page.locator("#whoami")).not_to_be_empty()  # the page has signed in and bound its keys
    answers = page.locator(".message.assistant")
    before = answers.count()
    page.get_by_label("Message").fill(text)
    page.get_by_label("Message").press("Enter")
    expect(answers).to_have_count(before + 1)
    # The first question of a fresh server loads the embedding model: allow for it.
    expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=90_000)
    return answers.last


def test_it_registers_signs_in_streams_an_answer_and_shows_it_again_after_a_reload(page):
    from playwright.sync_api import expect

    username = _register(page, "dora")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/app/login")
    form = page.locator("#login-form")
    form.get_by_label("Email or username").fill(f"{username}@example.com")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/")

    answer = _ask(page, "What is a transformer?")

    expect(answer.locator(".error")).to_have_count(0)
    expect(answer.locator(".content")).to_contain_text("offline model")
    seen = page.evaluate("window.__seen")
    assert any(status.startswith("Agent routing to") for status in seen["statuses"]), seen["statuses"]
    # Streamed: the answer was on screen at several lengths before it was complete.
    assert len({length for length in seen["answerLengths"] if length}) > 3
    expect(page.locator("#status-line")).to_have_text("")
    thread = page.locator(".thread-open")
    expect(thread).to_have_text("What is a transformer?")
    expect(thread).to_have_attribute("aria-current", "true")

    page.reload()

    expect(page.locator(".message.user .content")).to_have_text(["What is a transformer?"])
    expect(page.locator(".message.assistant .content")).to_have_text([answer.locator(".content").inner_text()])


def test_it_shows_markup_in_a_message_as_text(page):
    from playwright.sync_api import expect

    _register(page, "erin")
    attack = '<img src=x onerror="window.__pwned=1"><b>bold</b>'

    _ask(page, attack)

    expect(page.locator(".message.user .content")).to_have_text(attack)
    expect(page.locator("#messages img, #messages b")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None


def test_it_uploads_a_document_answers_from_it_with_citations_and_deletes_it(page, tmp_path):
    from playwright.sync_api import expect

    _register(page, "fred")
    note = tmp_path / "zebra-notes.txt"
    note.write_text("Zebras sleep standing up in the savanna. A group of zebras is called a dazzle.\n")
    page.get_by_role("button", name="Documents").click()
    page.get_by_label("Upload a PDF").set_input_files(str(note))
    document = page.locator(".document", has_text="zebra-notes.txt")
    expect(document.locator(".badge")).to_have_text("Ingested", timeout=90_000)
    page.keyboard.press("Escape")

    answer = _ask(page, "What is a group of zebras called?")

    expect(answer.locator(".content")).to_contain_text("dazzle")
    expect(answer.locator(".citations li").first).to_contain_text("zebra-notes.txt")

    page.get_by_role("button", name="Documents").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete zebra-notes.txt").click()
    expect(document).to_have_count(0)
    expect(page.locator("#documents-empty")).to_be_visible()


def test_it_pins_and_deletes_a_thread(page):
    from playwright.sync_api import expect

    _register(page, "gail")
    _ask(page, "first question")
    page.get_by_role("button", name="+ New chat").click()
    _ask(page, "second question")
    expect(page.locator(".thread-open")).to_have_text(["second question", "first question"])

    page.get_by_role("button", name="Pin “first question”").click()
    expect(page.locator(".thread-open")).to_have_text(["first question", "second question"])

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete “first question”").click()
    expect(page.locator(".thread-open")).to_have_text(["second question"])


def test_it_shows_the_api_error_when_sign_in_or_registration_fails(page):
    from playwright.sync_api import expect

    page.goto("/app/login")
    form = page.locator("#login-form")
    form.get_by_label("Email or username").fill("nobody@example.com")
    form.get_by_label("Password").fill("wrong-password")
    form.get_by_label("Password").press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.get_by_role("alert")).not_to_have_text("")
    expect(page).to_have_url("/app/login")

    page.get_by_role("tab", name="Create account").click()
    form = page.locator("#register-form")
    form.get_by_label("Username").fill(f"hank{uuid.uuid4().hex[:8]}")
    form.get_by_label("Email").fill("not-an-email")
    form.get_by_label("Password").fill("short")
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).to_contain_text("email")
    assert page.evaluate("sessionStorage.getItem('codex.token')") is None


def test_it_sends_a_signed_out_visitor_to_the_sign_in_page(page):
    page.goto("/app/")

    page.wait_for_url("**/app/login")


def test_it_keeps_the_conversations_in_a_drawer_on_a_narrow_screen(page):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 390, "height": 800})
    _register(page, "ivy")
    toggle = page.get_by_role("button", name="Show conversations")
    expect(page.get_by_role("button", name="+ New chat")).not_to_be_visible()

    toggle.click()
    expect(page.get_by_role("button", name="+ New chat")).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")

    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="+ New chat")).not_to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "false")


def test_it_moves_between_the_sign_in_tabs_with_the_arrow_keys(page):
    from playwright.sync_api import expect

    page.goto("/app/login")
    page.get_by_role("tab", name="Sign in").focus()
    page.keyboard.press("ArrowRight")

    expect(page.get_by_role("tab", name="Create account")).to_be_focused()
    expect(page.get_by_role("tab", name="Create account")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#register-form")).to_be_visible()
    expect(page.locator("#login-form")).to_be_hidden()
