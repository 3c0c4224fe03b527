"""The settings screen in headless Chromium against daphne: profile, password, theme, providers
verified against the fake OpenAI-compatible server, API keys, and credits with usage."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from apps.providers.testing import FAKE_MODEL, FakeLLMServer, Reply
from apps.web.tests.conftest import BROWSER, PASSWORD
from apps.web.tests.loopback import web_server  # noqa: F401  (daphne that may reach 127.0.0.1)
from apps.web.tests.screens import patient_expect  # noqa: F401  (autouse)

pytestmark = BROWSER


@pytest.fixture
def fake_upstream() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as server:
        yield server


def test_it_saves_the_profile_and_changes_the_password_with_errors_at_the_field(page, register):
    from playwright.sync_api import expect

    username = register(page, "quinn")
    page.goto("/app/settings")
    profile = page.locator("#profile-form")
    expect(profile.get_by_label("Username")).to_have_value(username)
    profile.get_by_label("Email").fill("not-an-email")
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.locator('.field[data-field="email"] .error')).to_be_visible()
    profile.get_by_label("Email").fill(f"{username}@example.org")
    profile.get_by_label("Name", exact=True).fill("Quinn <b>Q</b>")
    profile.get_by_role("button", name="Save profile").click()
    expect(page.locator("#toasts")).to_contain_text("Profile saved.")

    password = page.locator("#password-form")
    password.get_by_label("Current password").fill("wrong-password")
    password.get_by_label("New password").fill("another-horse-battery")
    password.get_by_role("button", name="Change password").click()
    expect(password.locator('.field[data-field="currentPassword"] .error')).to_be_visible()
    password.get_by_label("Current password").fill(PASSWORD)
    password.get_by_label("New password").fill("12345678")
    password.get_by_role("button", name="Change password").click()
    expect(password.locator('.field[data-field="newPassword"] .error')).to_be_visible()
    password.get_by_label("New password").fill("another-horse-battery")
    password.get_by_role("button", name="Change password").click()
    expect(page.locator("#toasts")).to_contain_text("Password changed.")

    # Still signed in (with a token made after the change), and the profile was kept.
    page.reload()
    expect(page).to_have_url("/app/settings")
    expect(page.locator("#profile-form").get_by_label("Name", exact=True)).to_have_value("Quinn <b>Q</b>")
    expect(page.locator("#profile-form").get_by_label("Email")).to_have_value(f"{username}@example.org")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/app/login")
    form = page.locator("#login-form")
    form.get_by_label("Email or username").fill(username)
    form.get_by_label("Password").fill("another-horse-battery")
    form.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/")


def test_it_follows_the_chosen_theme_across_reloads(page, register):
    from playwright.sync_api import expect

    register(page, "rae")
    page.goto("/app/settings")
    expect(page.get_by_role("radio", name="Follow the system")).to_be_checked()
    page.get_by_role("radio", name="Dark").check()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.reload()
    expect(page.get_by_role("radio", name="Dark")).to_be_checked()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("button", name="Theme: dark").click()  # the header's toggle moves on to "system"
    expect(page.get_by_role("radio", name="Follow the system")).to_be_checked()


def test_it_verifies_a_provider_before_saving_it_and_meters_its_usage(page, register, fake_upstream, web_server):  # noqa: F811
    from playwright.sync_api import expect

    register(page, "sam")
    page.goto("/app/settings")
    expect(page.locator("#providers-empty")).to_be_visible()
    form = page.locator("#provider-form")
    save = form.get_by_role("button", name="Save provider")
    expect(save).to_be_disabled()

    form.get_by_label("Name", exact=True).fill("Fake upstream")
    form.get_by_label("Base URL").fill("http://127.0.0.1:1/v1")
    form.get_by_label("API key").fill("sk-fake-key")
    form.get_by_label("Model", exact=True).fill(FAKE_MODEL)
    form.get_by_role("button", name="Verify").click()
    expect(form.locator(".form-error")).to_contain_text("Verification failed")
    expect(save).to_be_disabled()

    fake_upstream.script(Reply(text="ok"))
    form.get_by_label("Base URL").fill(fake_upstream.base_url)
    form.get_by_role("button", name="Verify").click()
    expect(page.locator("#provider-verify-result")).to_contain_text("replied “ok”")
    expect(save).to_be_enabled()
    form.get_by_label("Model", exact=True).fill("other-model")  # an edit after verifying needs a new verification
    expect(save).to_be_disabled()
    form.get_by_label("Model", exact=True).fill(FAKE_MODEL)
    fake_upstream.script(Reply(text="ok"))
    form.get_by_role("button", name="Verify").click()
    form.get_by_label("Use as my default model").check()
    save.click()
    provider = page.locator("#provider-list .provider")
    expect(provider).to_contain_text("Fake upstream")
    expect(provider.locator(".badge")).to_have_text(["default"])
    expect(provider).not_to_contain_text("sk-fake-key")

    # A chat on that provider is metered and shows up under usage.
    token = page.evaluate("sessionStorage.getItem('codex.token')")
    fake_upstream.script(Reply(text="Metered answer."))
    with httpx.stream("POST", f"{web_server}/chat/stream", headers={"Authorization": f"Bearer {token}"},
                      json={"message": "hello", "thread_id": str(uuid.uuid4()), "title": "Metered"}, timeout=60) as response:
        assert response.status_code == 200
        assert '"done"' in "".join(response.iter_text())
    page.reload()
    expect(page.locator("#models-table")).to_contain_text(FAKE_MODEL)
    expect(page.locator("#credits-balance")).to_contain_text("Total")

    # The default provider cannot go (the API says why); once it is not the default, it can.
    page.get_by_role("button", name="Delete Fake upstream").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#toasts")).to_contain_text("Cannot delete the default provider")
    page.get_by_role("button", name="Stop using Fake upstream as the default").click()
    expect(provider.locator(".badge")).to_have_count(0)
    page.get_by_role("button", name="Delete Fake upstream").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#providers-empty")).to_be_visible()


def test_it_creates_an_api_key_shown_once_and_revokes_it(page, register, web_server):  # noqa: F811
    from playwright.sync_api import expect

    register(page, "tia")
    page.goto("/app/settings")
    form = page.locator("#key-form")
    form.get_by_role("button", name="Create key").click()
    expect(form.locator('.field[data-field="name"] .error')).to_be_visible()
    form.get_by_label("Key name").fill("ci bot")
    form.get_by_role("button", name="Create key").click()
    secret = page.locator("#key-secret")
    key = secret.input_value()
    assert key.startswith("ce-") and len(key) > 40
    item = page.locator("#key-list .api-key", has_text="ci bot")
    expect(item).to_contain_text(key[:11])
    expect(item.locator(".badge")).to_have_text("active")

    # The key works on /v1, and it is not shown again.
    assert httpx.get(f"{web_server}/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    page.reload()
    expect(page.locator("#key-created")).to_be_hidden()
    assert key not in page.content()

    page.get_by_role("button", name="Revoke ci bot").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator("#key-list .api-key .badge")).to_have_text("revoked")
    assert httpx.get(f"{web_server}/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 401
