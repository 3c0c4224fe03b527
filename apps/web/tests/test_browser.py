"""The shell and the sign-in page in headless Chromium against a real daphne (fixtures in
conftest.py): registration, sign-in and sign-out, errors, the drawer, the theme."""
from __future__ import annotations

import uuid

import pytest

from apps.web.tests.conftest import BROWSER, PASSWORD

pytestmark = BROWSER


def test_it_registers_signs_out_and_signs_in_again(page, register):
    from playwright.sync_api import expect

    username = register(page, "dora")
    assert page.evaluate("sessionStorage.getItem('codex.refresh')")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/app/login")
    assert page.evaluate("sessionStorage.getItem('codex.token')") is None

    form = page.locator("#login-form")
    form.get_by_label("Email or username").fill(f"{username}@example.com")
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/")
    expect(page.locator("#whoami")).to_have_text(username)


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


def test_it_sends_a_signed_out_visitor_to_the_sign_in_page_and_back_after_it(page, register):
    page.goto("/app/t/some-thread")
    page.wait_for_url("**/app/login?next=%2Fapp%2Ft%2Fsome-thread")

    username = f"una{uuid.uuid4().hex[:8]}"
    page.evaluate(
        """async ([username, password]) => {
            await fetch('/register', {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({username, email: username + '@example.com', password})});
        }""",
        [username, PASSWORD],
    )
    form = page.locator("#login-form")
    form.get_by_label("Email or username").fill(username)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/t/some-thread")


def test_it_refuses_to_send_the_visitor_to_another_site_after_sign_in(page, register):
    username = register(page, "vic")
    page.get_by_role("button", name="Sign out").click()
    page.goto("/app/login?next=//evil.example/app/")
    form = page.locator("#login-form")
    form.get_by_label("Email or username").fill(username)
    form.get_by_label("Password").fill(PASSWORD)
    form.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/")
    assert page.url.endswith("/app/")


def test_it_refreshes_an_expired_access_token_once_and_carries_on(page, register):
    from playwright.sync_api import expect

    username = register(page, "rita")
    page.evaluate("sessionStorage.setItem('codex.token', 'expired.or.forged')")

    page.reload()

    expect(page.locator("#whoami")).to_have_text(username)
    assert page.evaluate("sessionStorage.getItem('codex.token')") != "expired.or.forged"


def test_it_moves_between_the_sign_in_tabs_with_the_arrow_keys(page):
    from playwright.sync_api import expect

    page.goto("/app/login")
    page.get_by_role("tab", name="Sign in").focus()
    page.keyboard.press("ArrowRight")

    expect(page.get_by_role("tab", name="Create account")).to_be_focused()
    expect(page.get_by_role("tab", name="Create account")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#register-form")).to_be_visible()
    expect(page.locator("#login-form")).to_be_hidden()


def test_it_keeps_the_navigation_in_a_drawer_on_a_narrow_screen(page, register):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 390, "height": 800})
    register(page, "ivy")
    toggle = page.get_by_role("button", name="Show navigation")
    agents = page.get_by_role("link", name="Agents")
    expect(agents).not_to_be_visible()

    toggle.click()
    expect(agents).to_be_visible()
    expect(page.get_by_role("button", name="Hide navigation")).to_have_attribute("aria-expanded", "true")

    page.keyboard.press("Escape")
    expect(agents).not_to_be_visible()
    expect(page.get_by_role("button", name="Show navigation")).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("button", name="Show navigation")).to_be_focused()


def test_it_follows_the_system_theme_and_keeps_the_chosen_one(page, register):
    from playwright.sync_api import expect

    page.emulate_media(color_scheme="dark")
    register(page, "theo")
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "dark")
    dark_background = page.evaluate("getComputedStyle(document.body).backgroundColor")

    page.get_by_role("button", name="Theme: follow the system").click()  # → light
    expect(html).to_have_attribute("data-theme", "light")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != dark_background
    page.reload()
    expect(html).to_have_attribute("data-theme", "light")
    expect(page.get_by_role("button", name="Theme: light")).to_be_visible()

    page.get_by_role("button", name="Theme: light").click()  # → dark
    expect(html).to_have_attribute("data-theme", "dark")
    page.get_by_role("button", name="Theme: dark").click()  # → follow the system again
    page.emulate_media(color_scheme="light")
    expect(html).to_have_attribute("data-theme", "light")


def test_it_moves_the_focus_to_the_content_with_the_skip_link(page, register):
    from playwright.sync_api import expect

    register(page, "sam")
    page.goto("/app/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#main")).to_be_focused()


MARKDOWN_SAMPLE = (
    "# Title\n\nSome *text* with `code` and a [link](https://example.com) [1].\n\n"
    "- one\n- two\n\n```js\nconst a = 1;\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n> quoted\n\nThe end [2]."
)


def test_its_incremental_markdown_ends_where_a_full_render_does(page, register):
    register(page, "mark")

    same = page.evaluate(
        """async (text) => {
            const { renderMarkdown, updateMarkdown } = await import('/app/assets/js/markdown.js');
            const citations = [{filename: 'a.txt'}, {filename: 'b.txt'}];
            const live = document.createElement('div');
            for (let end = 1; end <= text.length; end += 3) updateMarkdown(live, text.slice(0, end), { citations });
            updateMarkdown(live, text, { citations });
            const full = document.createElement('div');
            full.append(renderMarkdown(text, { citations }));
            return [live.innerHTML === full.innerHTML, live.querySelectorAll('.chip.citation').length];
        }""",
        MARKDOWN_SAMPLE,
    )

    assert same == [True, 2]


@pytest.mark.parametrize(
    "payload",
    [
        '<svg onload="window.__pwned=1"></svg>',
        '<iframe src="javascript:window.__pwned=1"></iframe>',
        '<a href="jAvAsCrIpT:window.__pwned=1">x</a>',
        '<a href=" javascript:window.__pwned=1">x</a>',
        '<form action="/x"><button formaction="javascript:window.__pwned=1">x</button></form>',
        '<style>body{display:none}</style>',
        '<math><mtext><img src=x onerror="window.__pwned=1"></mtext></math>',
        '<div style="background:url(javascript:1)" onmouseover="window.__pwned=1">x</div>',
        '<input type="text" autofocus onfocus="window.__pwned=1">',
    ],
)
def test_its_sanitiser_removes_what_could_run_or_restyle_the_page(page, payload):
    page.goto("/app/login")

    html = page.evaluate(
        """async (payload) => {
            const { sanitize } = await import('/app/assets/js/markdown.js');
            const box = document.createElement('div');
            box.append(sanitize(payload));
            document.body.append(box);
            await new Promise((resolve) => setTimeout(resolve, 50));
            return box.innerHTML;
        }""",
        payload,
    )

    lowered = html.lower()
    assert "javascript:" not in lowered and " on" not in lowered and "style" not in lowered, html
    assert not any(tag in lowered for tag in ("<svg", "<iframe", "<form", "<img", "<math", "<style")), html
    assert 'type="text"' not in lowered, html
    assert page.evaluate("window.__pwned") is None
