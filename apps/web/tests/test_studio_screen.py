"""The studio screen in headless Chromium against daphne: speech played in the page, and podcast and
slide-deck jobs (run inside daphne, offline engines) with progress and download."""
from __future__ import annotations

import shutil
import zipfile

import pytest

from apps.web.tests.conftest import BROWSER
from apps.web.tests.screens import patient_expect  # noqa: F401  (autouse)

pytestmark = [*BROWSER, pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed")]

AUDIO_READY = """(audio) => new Promise((resolve) => {
  if (audio.readyState >= 1) { resolve(audio.duration); return; }
  audio.addEventListener("loadedmetadata", () => resolve(audio.duration), {once: true});
  audio.addEventListener("error", () => resolve(-1), {once: true});
})"""

REPORT = """# Quarterly report

Revenue grew by twelve percent over the quarter, led by the new subscription plans.

## Costs

Hosting costs fell after the move to the new region. Support costs stayed flat.

## Next steps

We will hire two engineers and open an office in Lisbon.
"""


def test_it_speaks_text_in_an_audio_player_and_refuses_empty_text_at_the_field(page, register):
    from playwright.sync_api import expect

    register(page, "uma")
    page.goto("/app/studio")
    form = page.locator("#tts-form")
    expect(form.get_by_label("Voice").locator("option")).not_to_have_count(1)
    form.get_by_role("button", name="Speak").click()
    expect(form.locator('.field[data-field="text"] .error')).to_be_visible()

    form.get_by_label("Text").fill("Hello from the studio.")
    form.get_by_role("button", name="Speak").click()
    audio = page.locator("#tts-output audio")
    expect(audio).to_be_visible()
    assert audio.get_attribute("src").startswith("blob:")
    assert audio.evaluate(AUDIO_READY) > 0.3  # decodable audio of about a second
    with page.expect_download() as download:
        page.get_by_role("link", name="Download speech.mp3").click()
    assert download.value.suggested_filename == "speech.mp3"


def test_it_generates_a_podcast_and_a_slide_deck_with_progress_and_download(page, register, tmp_path):
    from playwright.sync_api import expect

    register(page, "val")
    page.goto("/app/studio")
    podcast = page.locator("#podcast-form")
    podcast.get_by_label("Content").fill(REPORT)
    podcast.get_by_role("button", name="Generate podcast").click()
    job = page.locator("#podcast-job")
    expect(job.get_by_role("progressbar")).to_be_visible()
    expect(job.locator(".job-status")).to_have_text("Done", timeout=120_000)
    audio = job.locator("audio")
    assert audio.evaluate(AUDIO_READY) > 1

    slides = page.locator("#slides-form")
    slides.get_by_role("button", name="Generate slides").click()
    expect(slides.locator('.field[data-field="content"] .error')).to_be_visible()
    slides.get_by_label("Content").fill(REPORT)
    slides.get_by_role("button", name="Generate slides").click()
    link = page.locator("#slides-job").get_by_role("link", name="Download the slides (PowerPoint)")
    expect(link).to_be_visible(timeout=120_000)
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "slides.pptx"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as deck:
        slide_names = [name for name in deck.namelist() if name.startswith("ppt/slides/slide")]
        text = b"".join(deck.read(name) for name in slide_names).decode()
    assert len(slide_names) >= 3 and "Costs" in text
