"""Issue 14's "Done when" journey, in headless Chromium, on the platform as ``make run`` starts it.

``scripts/run.sh`` itself (daphne, the run worker, the task worker, beat) runs against the test
database and this worker's Redis; no LLM provider is configured, so the built-in offline model
answers. A new user, in the browser only: registers, creates a knowledge base, uploads a PDF and
watches it reach "ingested" (the task worker ingests it), builds an agent with that base and
tools, asks a question and gets a cited answer with a tool step, opens a citation and reads the
chunk, has the agent run code in a project thread's sandbox, opens the preview, and reads the
credits the answers cost on the settings screen.

A failing step names itself and the steps that passed before it.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from apps.knowledge.tests.corpus.build import make_pdf
from apps.web.tests.conftest import BROWSER
from conftest import _test_database_url, run_sh_environment, start_run_sh, stop_run_sh

pytestmark = BROWSER

INGEST_TIMEOUT = 240_000  # ms: the task worker loads the embedding model on its first document
ANSWER_TIMEOUT = 120_000

HANDBOOK = [
    [
        "Lumen Coffee Roasters: customer handbook",
        "Refund policy for subscriptions",
        "Annual coffee subscriptions can be refunded within 45 days of purchase.",
        "Monthly subscriptions are refunded only for beans that have not shipped yet.",
    ],
    [
        "Shipping and roasting",
        "Every order is roasted on Tuesday and shipped from the Rotterdam roastery on Wednesday.",
        "Orders above 60 euros ship free of charge within the European Union.",
    ],
]


@pytest.fixture
def web_server(django_db_setup, django_db_blocker) -> Iterator[str]:
    """``scripts/run.sh`` on the test database (the browser fixtures' ``web_server``)."""
    from django.conf import settings

    if not settings.REDIS_AVAILABLE:
        pytest.skip("the platform's workers need Redis")
    with django_db_blocker.unblock():
        database_url = _test_database_url()
    # Credits move: the welcome grant is spent by the priced offline model (a ModelPrice row below).
    env = run_sh_environment(database_url, BILLING_ENABLED="true")
    for name in ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL"):
        env.pop(name, None)  # no provider: the offline model answers
    server = start_run_sh(env)
    yield server.url
    stop_run_sh(server)
    server.log.close()


@pytest.fixture
def priced_offline_model(db):
    from apps.billing.models import ModelPrice
    from apps.providers.offline import OFFLINE_MODEL_NAME

    # As staff would set it in the admin's price list: credits per million tokens.
    return ModelPrice.objects.create(model=OFFLINE_MODEL_NAME, input_per_million=Decimal("200"),
                                     output_per_million=Decimal("400"))


@dataclass
class Journey:
    """The journey's steps in order; a failing step names itself and the steps done before it."""

    done: list[str] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            done = "".join(f"\n  passed: {step}" for step in self.done)
            raise AssertionError(f"journey step failed: {name}{done}\n{type(exc).__name__}: {exc}") from exc
        self.done.append(name)


def _api(page, method: str, path: str, body: dict | None = None):
    """A documented API call from the page, as the signed-in user (its token in sessionStorage)."""
    return page.evaluate(
        """async ([method, path, body]) => {
            const headers = {Authorization: 'Bearer ' + sessionStorage.getItem('codex.token'),
                             'Content-Type': 'application/json'};
            const response = await fetch(path, {method, headers, body: body ? JSON.stringify(body) : undefined});
            return {status: response.status, body: await response.json()};
        }""",
        [method, path, body],
    )


def _ask(page, text: str):
    from playwright.sync_api import expect

    answers = page.locator(".message.assistant")
    before = answers.count()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    expect(answers).to_have_count(before + 1)
    expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=ANSWER_TIMEOUT)
    answer = answers.last
    expect(answer.locator(".error")).to_have_count(0)
    return answer


def test_a_new_user_walks_the_whole_journey_on_make_run(page, register, priced_offline_model, tmp_path):
    from playwright.sync_api import expect

    journey = Journey()

    with journey.step("register (the sign-up form, landing on the chat)"):
        username = register(page, "journey")

    with journey.step("create a knowledge base"):
        page.get_by_role("link", name="Knowledge").click()
        page.wait_for_url("**/app/knowledge")
        create = page.locator("#kb-create-form")
        create.get_by_label("Name").fill("Coffee handbook")
        create.get_by_role("button", name="Create knowledge base").click()
        expect(page.locator("#kb-name")).to_have_text("Coffee handbook")

    with journey.step("upload a PDF and watch it ingest (the task worker parses, chunks and embeds it)"):
        pdf = tmp_path / "lumen-handbook.pdf"
        pdf.write_bytes(make_pdf(HANDBOOK))
        page.locator("#kb-files").set_input_files(pdf)
        row = page.locator("#kb-documents .document", has_text="lumen-handbook.pdf")
        expect(row).to_have_count(1)
        seen_states: set[str] = set()
        deadline = time.monotonic() + INGEST_TIMEOUT / 1000
        while (state := row.get_attribute("data-state")) != "ingested":
            seen_states.add(state or "")
            assert state != "failed", f"ingestion failed: {row.locator('.doc-state').text_content()}"
            assert time.monotonic() < deadline, f"still {state} after {INGEST_TIMEOUT / 1000:.0f} s"
            time.sleep(0.1)
        expect(row.locator(".doc-state")).to_have_text(re.compile(r"^Ingested · \d+ chunks?$"))
        # It went through the states on its way (a row that appeared already ingested would not show them).
        assert seen_states & {"uploading", "queued", "processing"}, seen_states

    with journey.step("build an agent with that knowledge base and a tool (calculator)"):
        page.get_by_role("link", name="Agents").click()
        page.wait_for_url("**/app/agents")
        # agents.js binds "New agent" before its catalog (tools, bases) has loaded; an editor opened
        # in between lists no knowledge bases, so let the page's requests settle first.
        page.wait_for_load_state("networkidle")
        page.get_by_role("button", name="New agent").click()
        form = page.locator("#agent-form")
        form.get_by_label("Name").fill("Barista")
        form.get_by_label("System prompt").fill("You answer questions about Lumen Coffee from the handbook.")
        for group, label in (("knowledge_bases", "Coffee handbook"), ("tools", "calculator")):
            page.locator(f'fieldset[data-field="{group}"]').get_by_label(label, exact=True).check()
        form.get_by_role("button", name="Create agent").click()
        expect(page.locator("#agent-list .agent .item-title", has_text="Barista")).to_have_count(1)

    with journey.step("ask a question and see a cited answer (numbered citation chips in the text)"):
        page.get_by_role("link", name="Chat").click()
        page.wait_for_url("**/app/")
        page.get_by_label("Agent").select_option(label="Barista")
        answer = _ask(page, "How many days do annual coffee subscriptions have for a refund?")
        expect(answer.locator(".content")).to_contain_text("45 days")
        expect(answer.locator(".content .chip.citation").first).to_be_visible()

    with journey.step("see a tool step (calculator: collapsible, its arguments and result) beside the sources"):
        answer = _ask(page, "Shipping is free above 60 euros: what is 60 * 12 for a year of orders?")
        step = answer.locator("details.step.tool", has_text="calculator")
        expect(step).to_have_count(1)
        expect(step.locator(".badge")).to_have_text("done")
        step.locator("summary").click()
        expect(step.locator(".step-body")).to_contain_text("60 * 12")
        expect(step.locator(".step-body")).to_contain_text("720")
        expect(answer.locator(".content")).to_contain_text("720")
        expect(answer.locator(".sources .chip.citation").first).to_be_visible()

    with journey.step("open a citation (the source chunk, its document and page)"):
        page.locator(".message.assistant").first.locator(".content .chip.citation").first.click()
        dialog = page.locator("#source-dialog")
        expect(dialog).to_be_visible()
        expect(page.locator("#source-title")).to_contain_text("lumen-handbook.pdf")
        expect(page.locator("#source-meta")).to_contain_text("Page 1")
        expect(page.locator("#source-body")).to_contain_text("refunded within 45 days")
        page.locator("#source-close").click()
        expect(dialog).to_be_hidden()

    with journey.step("start a project chat (a thread with a sandbox)"):
        page.get_by_role("button", name="+ New project chat").click()
        page.wait_for_url(re.compile(r"/app/t/"))
        expect(page.get_by_role("button", name="Sandbox")).to_be_visible()
        expect(page.locator("#whoami")).to_have_text(username)

    with journey.step("run code in the sandbox (the agent's shell step: command, output)"):
        # The default assistant: the editor's tool list (GET /api/tools) does not offer the sandbox
        # tools, and an agent that names its tools gets only those, so Barista has no shell.
        page.get_by_label("Agent").select_option(label="Default assistant")
        answer = _ask(page, "Please run `printf '<h1>Lumen Coffee</h1>' > index.html && ls && python3 -c 'print(6*7)'`")
        step = answer.locator("details.step.tool", has_text="shell")
        expect(step).to_have_count(1)
        expect(step.locator(".badge")).to_have_text("done")
        step.locator("summary").click()
        expect(step.locator(".step-body")).to_contain_text("index.html")
        expect(step.locator(".step-body")).to_contain_text("42")

    with journey.step("the sandbox pane shows the file the agent wrote"):
        page.get_by_role("button", name="Sandbox").click()
        pane = page.get_by_role("complementary", name="Sandbox")
        expect(pane.locator("#sandbox-status")).to_have_text("running", timeout=60_000)
        pane.get_by_role("button", name="index.html").click()
        expect(pane.locator("#file-content")).to_have_text("<h1>Lumen Coffee</h1>")

    with journey.step("open the preview (the agent's page, served from the sandbox into the iframe)"):
        pane.get_by_role("tab", name="Preview").click()
        pane.get_by_role("button", name="Open preview").click()
        expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Lumen Coffee", timeout=60_000)
        assert page.locator("#preview-frame").get_attribute("src").startswith("/preview/")

    with journey.step("check the credits (the balance the answers left, usage by day and model)"):
        page.get_by_role("link", name="Settings").click()
        page.wait_for_url("**/app/settings")
        balance = _api(page, "GET", "/api/v1/agent/credits/balance")["body"]
        assert Decimal(str(balance["total_credits"])) < Decimal("5"), f"the answers cost nothing: {balance}"
        credits = page.locator("#credits-balance")
        expect(credits.locator("dd").last).to_have_text(re.compile(r"\d"))
        shown = credits.locator("dd").last.text_content().replace(",", "")
        assert abs(Decimal(shown) - Decimal(str(balance["total_credits"]))) < Decimal("0.01"), (shown, balance)
        expect(page.locator("#usage-table tbody tr").first).to_be_visible()
        expect(page.locator("#models-table")).to_contain_text("codex-offline")

    print("\njourney steps passed:\n  " + "\n  ".join(journey.done))
