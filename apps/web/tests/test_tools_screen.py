"""The tools screen in headless Chromium against daphne: MCP servers against a real MCP server on
127.0.0.1, skills from a ZIP with SKILL.md edited in place, and the toolkit-profiles panel."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import Resolver404, resolve

from apps.tools.tests.mcp_server import TestMCPServer
from apps.tools.tests.skillzip import SKILL_MD, skill_zip
from apps.web.tests.conftest import BROWSER
from apps.web.tests.loopback import web_server  # noqa: F401  (daphne that may reach 127.0.0.1)
from apps.web.tests.screens import patient_expect  # noqa: F401  (autouse)

pytestmark = BROWSER


@pytest.fixture
def mcp_server() -> Iterator[TestMCPServer]:
    server = TestMCPServer().start()
    yield server
    server.stop()


def test_it_adds_refreshes_and_deletes_mcp_servers_showing_their_tools_and_errors(page, register, mcp_server):
    from playwright.sync_api import expect

    register(page, "nia")
    page.goto("/app/tools")
    expect(page.locator("#mcp-empty")).to_be_visible()
    form = page.locator("#mcp-add-form")
    form.get_by_role("button", name="Add server").click()
    expect(form.locator('.field[data-field="name"] .error')).to_be_visible()

    form.get_by_label("Name").fill("tester")
    form.get_by_label("URL").fill(mcp_server.http_url)
    form.get_by_role("button", name="Add server").click()
    server = page.locator('.mcp-server[data-name="tester"]')
    expect(server.locator(".badge").first).to_have_text("connected")
    server.locator("summary").click()
    expect(server.locator(".tool-list li code")).to_contain_text(["echo"])
    expect(server.locator("summary")).to_have_text("4 tools")

    form.get_by_label("Name").fill("dead")
    form.get_by_label("URL").fill("http://127.0.0.1:1/mcp")
    form.get_by_role("button", name="Add server").click()
    dead = page.locator('.mcp-server[data-name="dead"]')
    expect(dead.locator(".badge").first).to_have_text("error")
    expect(dead.locator("p.error")).not_to_be_empty()

    server.get_by_role("button", name="Refresh tester").click()
    expect(page.locator("#toasts")).to_contain_text("tester: 4 tools")
    page.get_by_role("button", name="Delete dead").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".mcp-server")).to_have_count(1)


def test_it_uploads_a_skill_and_edits_its_skill_md_with_validation_errors_shown(page, register, tmp_path):
    from playwright.sync_api import expect

    register(page, "oli")
    page.goto("/app/tools")
    upload = page.locator("#skill-upload-form")
    not_zip = tmp_path / "notes.zip"
    not_zip.write_bytes(b"not a zip at all")
    upload.get_by_label("Skill ZIP").set_input_files(str(not_zip))
    upload.get_by_role("button", name="Upload skill").click()
    expect(upload.locator('.field[data-field="file"] .error')).to_be_visible()

    archive = tmp_path / "csv-cleanup.zip"
    archive.write_bytes(skill_zip())
    upload.get_by_label("Skill ZIP").set_input_files(str(archive))
    upload.get_by_role("button", name="Upload skill").click()
    skill = page.locator('.skill[data-name="csv-cleanup"]')
    expect(skill).to_contain_text("Clean a CSV file")
    expect(skill).to_contain_text("v1")

    skill.get_by_role("button", name="Edit csv-cleanup").click()
    editor = page.locator("#skill-editor")
    content = editor.get_by_label("SKILL.md")
    expect(content).to_have_value(SKILL_MD)
    # The preview renders the instructions through the one sanitiser: markup in them stays inert.
    content.fill(SKILL_MD + '\n<img src=x onerror="window.__pwned=1"> **bold step**\n')
    editor.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Instructions preview")
    expect(preview.locator("h1")).to_have_text("CSV cleanup")
    expect(preview.locator("strong")).to_have_text("bold step")
    expect(preview.locator("img")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None
    expect(preview).not_to_contain_text("description:")
    content.fill(SKILL_MD.replace("normalise dates.", "normalise dates and currencies."))
    expect(preview).to_be_hidden()
    editor.get_by_role("button", name="Save SKILL.md").click()
    expect(skill).to_contain_text("currencies")
    expect(skill).to_contain_text("v2")

    content.fill(SKILL_MD.replace("name: csv-cleanup", "name: another-name"))
    editor.get_by_role("button", name="Save SKILL.md").click()
    error = editor.locator('.field[data-field="content"] .error')
    expect(error).to_contain_text("csv-cleanup")
    expect(content).to_have_attribute("aria-invalid", "true")
    content.fill("no front matter here")
    editor.get_by_role("button", name="Save SKILL.md").click()
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()

    skill.get_by_role("button", name="Delete csv-cleanup").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".skill")).to_have_count(0)


def _profiles_routed() -> bool:
    try:
        resolve("/api/composio/profiles")
    except Resolver404:
        return False
    return True


def test_it_shows_the_toolkit_profiles_panel_or_says_it_is_not_available(page, register):
    from playwright.sync_api import expect

    register(page, "pia")
    page.goto("/app/tools")
    panel = page.locator("#profiles-panel")
    if _profiles_routed():
        expect(panel.locator("#profile-form")).to_be_visible()
        expect(panel.locator("#profiles-unavailable")).to_have_count(0)
    else:
        expect(panel.locator("#profiles-unavailable")).to_contain_text("not available on this server")


@pytest.mark.skipif(not _profiles_routed(), reason="the /api/composio* routes are not installed in this build")
def test_it_adds_a_toolkit_profile_with_its_fields_and_discovers_its_tools(page, register, mcp_server):
    from django.core.management import call_command
    from playwright.sync_api import expect

    # The shipped catalog is a data migration, which the flush between transactional tests erases.
    call_command("load_toolkits")
    register(page, "ria")
    page.goto("/app/tools")
    form = page.locator("#profile-form")
    form.get_by_label("Toolkit").select_option("custom-mcp")
    form.get_by_label("Profile name").fill("Local tools")
    form.get_by_role("button", name="Add profile").click()
    url_field = form.locator('.field[data-field="server_url"]')
    expect(url_field.locator(".error")).to_be_visible()

    url_field.locator("input").fill(mcp_server.http_url)
    form.get_by_role("button", name="Add profile").click()
    title = "Custom MCP server - Local tools"  # the display name the API gives a profile by default
    profile = page.locator("#profile-list .profile", has_text="Local tools")
    expect(profile).to_have_count(1)
    profile.get_by_role("button", name=f"Discover tools of {title}").click()
    expect(page.locator("#toasts")).to_contain_text(f"{title}: 4 tools.")
    expect(page.locator("#profile-list .profile", has_text="Local tools").locator(".badge").first).to_have_text("active")
    expect(page.locator("#profile-list .profile-tools code")).to_contain_text(["echo"])

    page.get_by_role("button", name=f"Deactivate {title}").click()
    expect(page.locator("#profile-list .profile", has_text="Local tools")).to_contain_text("inactive")
    page.get_by_role("button", name=f"Delete {title}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#profile-list .profile")).to_have_count(0)
