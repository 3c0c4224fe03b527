"""The knowledge screen in headless Chromium against daphne: bases, uploads with per-file progress,
re-ingest and the retrieval test. Ingestion runs inside daphne (no Redis there), for real."""
from __future__ import annotations

import re

from apps.web.tests.conftest import BROWSER
from apps.web.tests.screens import patient_expect  # noqa: F401  (autouse)

pytestmark = BROWSER

# Installed before the page's scripts: every state text each document row showed, in order.
STATE_RECORDER = """
window.__states = {};
new MutationObserver(() => {
  for (const row of document.querySelectorAll("#kb-documents .document")) {
    const name = row.querySelector(".doc-name").textContent;
    const state = row.querySelector(".doc-state").textContent;
    const seen = (window.__states[name] ||= []);
    if (seen.at(-1) !== state) seen.push(state);
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""

DROP = """([names, texts]) => {
  const transfer = new DataTransfer();
  names.forEach((name, index) => transfer.items.add(new File([texts[index]], name, {type: "text/plain"})));
  const zone = document.getElementById("kb-dropzone");
  zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: transfer, bubbles: true, cancelable: true}));
  zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
}"""


def _create_base(page, name: str) -> None:
    from playwright.sync_api import expect

    form = page.locator("#kb-create-form")
    form.get_by_label("Name").fill(name)
    form.get_by_role("button", name="Create knowledge base").click()
    expect(page.locator("#kb-name")).to_have_text(name)


def test_it_uploads_dropped_files_with_per_file_progress_and_answers_a_retrieval_test(page, register, tmp_path):
    from playwright.sync_api import expect

    page.add_init_script(STATE_RECORDER)
    register(page, "kim")
    page.goto("/app/knowledge")
    expect(page.locator("#kb-empty")).to_be_visible()
    page.locator("#kb-create-form").get_by_role("button", name="Create knowledge base").click()
    expect(page.locator('#kb-create-form .field[data-field="name"] .error')).to_be_visible()
    _create_base(page, "Field notes")

    names = ["zebras.txt", "otters.md", "broken.pdf"]
    # Long enough (many chunks to embed) that its processing outlasts a poll of the page.
    otters = "".join(f"## Otter fact {index}\n\nSea otter number {index} holds hands with another otter while "
                     f"they sleep, so that they do not drift apart on the water of bay {index}.\n\n" * 6
                     for index in range(60))
    texts = [
        "Zebras sleep standing up in the savanna. A group of zebras is called a dazzle.\n",
        otters,
        "this is not a PDF at all",
    ]
    page.evaluate(DROP, [names, texts])

    rows = page.locator("#kb-documents .document")
    expect(rows).to_have_count(3)
    # The first question of a fresh server loads the embedding model: allow for it.
    expect(rows.filter(has_text="zebras.txt").locator(".doc-state")).to_have_text("Ingested · 1 chunk", timeout=120_000)
    expect(rows.filter(has_text="otters.md").locator(".doc-state")).to_have_text(re.compile(r"Ingested · \d\d+ chunks"),
                                                                              timeout=120_000)
    failed = rows.filter(has_text="broken.pdf").locator(".doc-state")
    expect(failed).to_contain_text("Failed: ", timeout=120_000)
    assert len(failed.inner_text()) > len("Failed: ") + 3  # the reason is shown

    states = page.evaluate("window.__states")
    for name in names[:2]:
        seen = states[name]
        assert seen[0].startswith("Uploading") or seen[0] == "Waiting to upload", seen
        assert seen[-1].startswith("Ingested"), seen
    # A one-chunk file may be done between two polls; the long one is seen on its way.
    assert any(state == "Queued" or state.startswith("Processing") for state in states["otters.md"]), states

    form = page.locator("#kb-retrieve-form")
    form.get_by_label("Question").fill("What is a group of zebras called?")
    form.get_by_role("button", name="Search").click()
    results = page.locator("#kb-results .result")
    expect(results.first).to_contain_text("zebras.txt")
    expect(results.first).to_contain_text("dazzle")
    scores = [float(text.split()[-1]) for text in results.locator(".badge").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0

    # Re-ingest: back through the queue to ingested again.
    rows.filter(has_text="zebras.txt").get_by_role("button", name="Re-ingest zebras.txt").click()
    expect(rows.filter(has_text="zebras.txt").locator(".doc-state")).to_have_text(re.compile("Queued|Processing"))
    expect(rows.filter(has_text="zebras.txt").locator(".doc-state")).to_have_text("Ingested · 1 chunk", timeout=60_000)
    after = page.evaluate("window.__states")["zebras.txt"]
    assert len(after) > len(states["zebras.txt"]), (after, page.locator("#toasts").inner_text())

    page.reload()
    expect(page.locator("#kb-name")).to_have_text("Field notes")
    expect(rows).to_have_count(3)
    rows.filter(has_text="broken.pdf").get_by_role("button", name="Delete broken.pdf").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(rows).to_have_count(2)


def test_it_uploads_many_chosen_files_and_shows_file_names_as_text(page, register, tmp_path):
    from playwright.sync_api import expect

    register(page, "lou")
    page.goto("/app/knowledge")
    _create_base(page, "Many")
    paths = []
    for index in range(6):
        path = tmp_path / f"note-{index}.txt"
        path.write_text(f"Note number {index} is about the colour {['red', 'blue', 'green', 'amber', 'teal', 'plum'][index]}.\n")
        paths.append(str(path))
    odd = tmp_path / "<img src=x onerror=window.__pwned=1>.txt"
    odd.write_text("A file whose name is markup.\n")
    paths.append(str(odd))
    page.get_by_label("Drop files here, or choose files to upload").set_input_files(paths)

    rows = page.locator("#kb-documents .document")
    expect(rows).to_have_count(7)
    expect(page.locator('#kb-documents .document[data-state="ingested"]')).to_have_count(7, timeout=120_000)
    expect(rows.filter(has_text="<img src=x onerror=window.__pwned=1>.txt")).to_have_count(1)
    expect(page.locator("#kb-documents img")).to_have_count(0)
    assert page.evaluate("window.__pwned") is None


def test_it_renames_and_deletes_a_knowledge_base(page, register):
    from playwright.sync_api import expect

    register(page, "mo")
    page.goto("/app/knowledge")
    _create_base(page, "Old name")
    page.get_by_role("button", name="Rename").click()
    rename = page.locator("#kb-rename-form")
    rename.get_by_label("New name").fill("")
    rename.get_by_role("button", name="Save name").click()
    expect(rename.locator('.field[data-field="name"] .error')).to_be_visible()
    rename.get_by_label("New name").fill("New name")
    rename.get_by_role("button", name="Save name").click()
    expect(page.locator("#kb-name")).to_have_text("New name")
    expect(page.locator("#kb-list .kb .item-title")).to_have_text(["New name"])

    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#kb-detail")).to_be_hidden()
    expect(page.locator("#kb-list .kb")).to_have_count(0)
    expect(page.locator("#kb-empty")).to_be_visible()
