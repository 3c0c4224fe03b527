"""The agents screen in headless Chromium against daphne: the picker, the editor, sharing and drafts."""
from __future__ import annotations

import pytest

from apps.web.tests.conftest import BROWSER
from apps.web.tests.screens import patient_expect  # noqa: F401  (autouse)

pytestmark = BROWSER


def _editor(page):
    return page.locator("#agent-form")


def _create_agents(page, *titles: str) -> None:
    from playwright.sync_api import expect

    for title in titles:
        page.get_by_role("button", name="New agent").click()
        _editor(page).get_by_label("Name").fill(title)
        _editor(page).get_by_role("button", name="Create agent").click()
        expect(page.locator("#agent-editor-title")).to_have_text(f"Edit “{title}”")  # reopened as saved


def _checkbox(page, group: str, label: str):
    return page.locator(f'fieldset[data-field="{group}"]').get_by_label(label, exact=True)


def test_it_creates_an_agent_shows_field_errors_and_keeps_what_was_saved(page, register):
    from playwright.sync_api import expect

    register(page, "ada")
    page.goto("/app/agents")
    expect(page.locator("#agents-empty")).to_be_visible()

    page.get_by_role("button", name="New agent").click()
    form = _editor(page)
    name = '<img src=x onerror="window.__pwned=1">Ledger helper'
    form.get_by_label("Name").fill(name)
    form.get_by_label("System prompt").fill("You keep the household ledger.")
    _checkbox(page, "tools", "calculator").check()
    form.get_by_label("Loop limit").fill("0")
    form.get_by_role("button", name="Create agent").click()

    # The API's 400 lands under the control it is about, and nothing was made.
    error = form.locator('.field[data-field="max_loop_count"] .error')
    expect(error).to_be_visible()
    expect(error).to_contain_text("1")
    expect(form.get_by_label("Loop limit")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#agent-list .agent")).to_have_count(0)

    form.get_by_label("Loop limit").fill("7")
    form.get_by_role("button", name="Create agent").click()
    item = page.locator("#agent-list .agent")
    expect(item).to_have_count(1)
    # Markup in a name is text, in the list and in the editor's title.
    expect(item.locator(".item-title")).to_have_text(name)
    expect(page.locator("#agent-list img, #agent-editor-title img")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None

    page.wait_for_url("**/app/agents?agent=*")  # the saved agent is open in the editor, and in the URL
    page.reload()
    form = _editor(page)
    expect(form.get_by_label("Name")).to_have_value(name)
    expect(form.get_by_label("System prompt")).to_have_value("You keep the household ledger.")
    expect(form.get_by_label("Loop limit")).to_have_value("7")
    expect(_checkbox(page, "tools", "calculator")).to_be_checked()

    form.get_by_label("Name").fill("")
    form.get_by_role("button", name="Save").click()
    expect(form.locator('.field[data-field="name"] .error')).to_be_visible()


def test_it_searches_duplicates_and_deletes_agents(page, register):
    from playwright.sync_api import expect

    register(page, "bea")
    page.goto("/app/agents")
    _create_agents(page, "Travel planner", "Tax helper")

    page.get_by_label("Search agents").fill("tax")
    expect(page.locator("#agent-list .agent .item-title")).to_have_text(["Tax helper"])
    page.get_by_label("Search agents").fill("")

    page.get_by_role("button", name="Duplicate Travel planner").click()
    expect(page.locator("#agent-list .agent .item-title", has_text="Travel planner (copy)")).to_have_count(1)
    expect(_editor(page).get_by_label("Name")).to_have_value("Travel planner (copy)")

    page.get_by_role("button", name="Delete Travel planner (copy)").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#agent-list .agent .item-title")).to_have_count(2)
    expect(page.locator("#agent-editor")).to_be_hidden()


def test_an_agent_that_opens_late_leaves_the_focus_where_the_user_went_meanwhile(page, register):
    import re

    from playwright.sync_api import expect

    register(page, "cid")
    page.goto("/app/agents")
    _create_agents(page, "Travel planner", "Tax helper")
    held = []
    agent_read = re.compile(r".*/api/agent/[0-9a-f-]{36}$")

    def hold(route) -> None:  # the agent's read waits for us
        held.append(route)

    page.route(agent_read, hold)

    page.get_by_role("button", name="Edit Travel planner").click()
    for _ in range(200):  # the click's read reaches the route (Playwright runs handlers while it waits)
        if held:
            break
        page.wait_for_timeout(50)
    page.get_by_label("Search agents").fill("tax")  # the user goes on while the editor loads
    held[0].continue_()

    expect(_editor(page).get_by_label("Name")).to_have_value("Travel planner")
    # The editor did not take the focus back: what the user types still goes into the search.
    expect(page.get_by_label("Search agents")).to_be_focused()
    page.keyboard.type(" helper")
    expect(page.get_by_label("Search agents")).to_have_value("tax helper")
    expect(page.locator("#agent-list .agent .item-title")).to_have_text(["Tax helper"])


def test_it_optimizes_the_prompt_and_drafts_an_agent_from_a_description(page, register):
    from playwright.sync_api import expect

    register(page, "cai")
    page.goto("/app/agents")
    page.get_by_role("button", name="New agent").click()
    form = _editor(page)
    form.get_by_role("button", name="Optimize prompt").click()
    expect(form.locator('.field[data-field="system_prompt"] .error')).to_have_text("Write a prompt first.")

    form.get_by_label("System prompt").fill("answer questions about our garden")
    form.get_by_role("button", name="Optimize prompt").click()
    expect(form.get_by_label("System prompt")).not_to_have_value("answer questions about our garden")
    assert "garden" in form.get_by_label("System prompt").input_value()
    form.get_by_role("button", name="Undo optimize").click()
    expect(form.get_by_label("System prompt")).to_have_value("answer questions about our garden")

    page.get_by_role("button", name="Auto-generate").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Generate").click()
    expect(dialog.locator('.field[data-field="agent_description"] .error')).to_be_visible()
    dialog.get_by_label("Description").fill("Helps me calculate my monthly budget and spending")
    dialog.get_by_role("button", name="Generate").click()
    expect(page.locator("#agent-draft-note")).to_contain_text("offline template")
    expect(form.get_by_label("Name")).not_to_have_value("")
    expect(_checkbox(page, "tools", "calculator")).to_be_checked()
    form.get_by_role("button", name="Create agent").click()
    expect(page.locator("#agent-list .agent")).to_have_count(1)


def test_it_shares_an_agent_by_username_and_the_other_user_sees_it_read_only(chromium, web_server, page, register):
    from playwright.sync_api import expect

    other = chromium.new_context(base_url=web_server)
    try:
        friend_page = other.new_page()
        friend = register(friend_page, "dev")
        register(page, "eli")
        page.goto("/app/agents")
        page.get_by_role("button", name="New agent").click()
        _editor(page).get_by_label("Name").fill("Shared helper")
        _editor(page).get_by_role("button", name="Create agent").click()

        share = page.locator("#agent-share-form")
        share.get_by_label("Share with (username)").fill("nobody-by-that-name")
        share.get_by_role("button", name="Share").click()
        expect(share.locator('.field[data-field="username"] .error')).to_contain_text("No user named")

        share.get_by_label("Share with (username)").fill(friend)
        share.get_by_role("button", name="Share").click()
        expect(page.locator("#agent-grants li")).to_have_text([f"{friend} Stop sharing"])

        friend_page.goto("/app/agents")
        shared = friend_page.locator("#agent-list .agent", has_text="Shared helper")
        expect(shared).to_contain_text("Shared with you")
        expect(shared.get_by_role("button", name="Delete Shared helper")).to_have_count(0)
        shared.get_by_role("button", name="Edit Shared helper").click()
        expect(friend_page.locator("#agent-form").get_by_label("Name")).to_be_disabled()
        expect(friend_page.locator("#agent-sharing")).to_be_hidden()

        page.get_by_role("button", name=f"Stop sharing with {friend}").click()
        expect(page.locator("#agent-grants li")).to_have_text(["Not shared with anyone."])
        friend_page.reload()
        expect(friend_page.locator("#agent-list .agent")).to_have_count(0)
    finally:
        other.close()


@pytest.mark.parametrize("width", [390])
def test_it_keeps_the_agents_screen_usable_on_a_narrow_screen(page, register, width):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": width, "height": 800})
    register(page, "fay")
    page.goto("/app/agents")
    page.get_by_role("button", name="New agent").click()
    expect(_editor(page).get_by_label("Name")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
