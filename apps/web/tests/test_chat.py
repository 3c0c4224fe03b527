"""The chat screen in headless Chromium against a real daphne (fixtures in conftest.py), with the
built-in offline model or the fake OpenAI-compatible server scripted per test."""
from __future__ import annotations

import json
import time

import pytest

from apps.providers.testing import Reply
from apps.web.tests.conftest import BROWSER

pytestmark = BROWSER

# Installed before any page script: records what the status line and the streaming answer
# showed over time, so a test can tell a streamed answer from one that arrived whole.
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


def _user(username: str):
    from apps.accounts.models import User

    return User.objects.get(username=username)


def _ask(page, text: str, *, wait: bool = True, timeout: float = 90_000):
    from playwright.sync_api import expect

    expect(page.locator("#whoami")).not_to_be_empty()  # the page has signed in and bound its keys
    answers = page.locator(".message.assistant")
    before = answers.count()
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")
    expect(answers).to_have_count(before + 1)
    if wait:
        # The first question of a fresh server loads the embedding model: allow for it.
        expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=timeout)
    return answers.last


@pytest.fixture
def chat(page, register):
    """A signed-up user on the chat screen; yields (page, username)."""
    page.add_init_script(RECORDER)
    username = register(page, "chat")
    return page, username


@pytest.fixture
def fake_model(fake_llm, chat):
    """The fake model as the chatting user's default provider."""
    page, username = chat
    fake_llm.make_provider(owner=_user(username))
    return fake_llm


def test_it_streams_an_answer_with_status_lines_and_shows_it_again_after_a_reload(chat):
    from playwright.sync_api import expect

    page, _ = chat
    answer = _ask(page, "What is a transformer?")

    expect(answer.locator(".error")).to_have_count(0)
    expect(answer.locator(".content")).to_contain_text("offline model")
    seen = page.evaluate("window.__seen")
    assert any(status.startswith("Agent routing to") for status in seen["statuses"]), seen["statuses"]
    expect(page.locator("#status-line")).to_have_text("")
    thread = page.locator(".thread-open")
    expect(thread).to_have_text("What is a transformer?")
    expect(thread).to_have_attribute("aria-current", "page")
    assert "/app/t/" in page.url
    text = answer.locator(".content").inner_text()

    page.reload()

    expect(page.locator(".message.user .content")).to_have_text(["What is a transformer?"])
    expect(page.locator(".message.assistant .content")).to_have_text([text])


def test_it_shows_the_answer_as_it_streams(chat, fake_model):
    page, _ = chat
    fake_model.script(Reply(text=" ".join(f"token{n}" for n in range(30)), delay=0.03))

    answer = _ask(page, "Stream it")

    assert answer.locator(".content").inner_text().split()[-1] == "token29"
    # Streamed: the answer was on screen at several lengths before it was complete.
    lengths = {length for length in page.evaluate("window.__seen.answerLengths") if length}
    assert len(lengths) > 3, lengths


def test_it_stops_a_streaming_answer(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    words = [f"word{n}" for n in range(200)]
    fake_model.script(Reply(text=" ".join(words), delay=0.05))

    answer = _ask(page, "Talk for a long time", wait=False)
    expect(answer.locator(".content")).to_contain_text("word3")
    page.get_by_role("button", name="Stop").click()

    expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=15_000)
    expect(answer).to_contain_text("Stopped.")
    assert "word199" not in answer.locator(".content").inner_text()
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(page.get_by_role("button", name="Send", exact=True)).to_be_visible()


def test_it_renders_markdown_and_leaves_markup_from_the_model_inert(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer_text = (
        "## Results\n\n"
        "| Name | Score |\n|---|---|\n| ada | 3 |\n| bob | 5 |\n\n"
        "```python\ndef add(a, b):\n    return a + b\n```\n\n"
        "<script>window.__pwned = 1</script>\n\n"
        '<img src=x onerror="window.__pwned = 2">\n\n'
        "[click me](javascript:window.__pwned=3) and [data](data:text/html,<script>alert(1)</script>) "
        "and [docs](https://example.com/docs) "
        '<a href="javascript:window.__pwned=4" onclick="window.__pwned=5">raw link</a>'
    )
    fake_model.script(Reply(tokens=[answer_text[i:i + 7] for i in range(0, len(answer_text), 7)], text=answer_text))

    answer = _ask(page, "Show me everything")

    content = answer.locator(".content")
    expect(content.locator("h2")).to_have_text("Results")
    expect(content.locator("table tbody tr")).to_have_count(2)
    expect(content.locator(".code-block .lang")).to_have_text("python")
    expect(content.locator(".code-block code .hljs-keyword").first).to_have_text("def")
    # The markup is shown as text, and nothing of it runs or links anywhere.
    expect(page.locator("#messages script, #messages img, #messages iframe")).to_have_count(0)
    expect(content).to_contain_text("<script>window.__pwned = 1</script>")
    # The javascript: and data: links keep their text and lose their target.
    hrefs = content.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert [href for href in hrefs if href is not None] == ["https://example.com/docs"], hrefs
    assert page.locator("#messages [onclick], #messages [onerror]").count() == 0
    content.get_by_text("click me").click()
    content.get_by_text("raw link").click()
    assert page.evaluate("window.__pwned") is None

    content.get_by_role("button", name="Copy python").click()
    expect(page.locator(".toast")).to_contain_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "def add(a, b):\n    return a + b"


def test_it_numbers_the_sources_and_opens_the_cited_passage(chat, tmp_path):
    from playwright.sync_api import expect

    page, _ = chat
    token = page.evaluate("sessionStorage.getItem('codex.token')")
    status = page.evaluate(
        """async (token) => {
            const form = new FormData();
            form.append('file', new File(['Zebras sleep standing up in the savanna. A group of zebras is called a dazzle.\\n'],
                'zebra-notes.txt', {type: 'text/plain'}));
            const response = await fetch('/upload', {method: 'POST', headers: {Authorization: 'Bearer ' + token}, body: form});
            return response.status;
        }""",
        token,
    )
    assert status == 202
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        documents = page.evaluate(
            "async (token) => (await (await fetch('/documents', {headers: {Authorization: 'Bearer ' + token}})).json()).documents",
            token,
        )
        if documents and documents[0]["status"] == "Ingested":
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"the document was not ingested: {documents}")

    answer = _ask(page, "What is a group of zebras called?")

    expect(answer.locator(".content")).to_contain_text("dazzle")
    # The [1] of the answer is a chip, and so is the numbered list of sources under it.
    expect(answer.locator(".content .chip.citation").first).to_have_text("1")
    chip = answer.locator(".sources").get_by_role("button", name="Source 1: zebra-notes.txt")
    expect(chip).to_have_text("1")
    chip.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#source-title")).to_contain_text("zebra-notes.txt")
    expect(dialog.locator("#source-body")).to_contain_text("A group of zebras is called a dazzle.")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(chip).to_be_focused()


def test_it_shows_a_tool_call_and_its_result_as_a_step(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    fake_model.script(
        Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]),
        Reply(text="The answer is 42."),
    )

    answer = _ask(page, "What is 6 times 7?")

    step = answer.locator(".step.tool")
    expect(step).to_have_count(1)
    expect(step.locator("summary")).to_contain_text("Tool: calculator")
    expect(step.locator(".badge")).to_have_text("done")
    step.locator("summary").click()
    expect(step.locator(".step-body")).to_contain_text("6*7")
    expect(step.locator(".step-body")).to_contain_text("42")
    expect(answer.locator(".content")).to_have_text("The answer is 42.")
    seen = page.evaluate("window.__seen")
    assert "Running calculator…" in seen["statuses"], seen["statuses"]


def test_it_regenerates_an_answer_and_resends_an_edited_message_in_a_branch(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    fake_model.script("The first answer.", "The second answer.", "The answer to the edit.")
    _ask(page, "Tell me a fact")
    original = page.url

    page.get_by_role("button", name="Regenerate the answer").click()
    expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=30_000)

    expect(page.locator(".message.assistant .content")).to_have_text(["The second answer."])
    expect(page.locator(".message.user .content")).to_have_text(["Tell me a fact"])
    assert page.url != original
    expect(page.locator("#thread-title")).to_have_text("Tell me a fact (branch)")
    expect(page.locator(".thread-open")).to_have_count(2)
    asked = fake_model.chat_requests[-1]["messages"]
    assert [m["content"] for m in asked if m["role"] == "user"] == ["Tell me a fact"]
    assert not any("The first answer." in str(m.get("content")) for m in asked)

    page.get_by_role("button", name="Edit and resend").click()
    page.get_by_label("Edit the message").fill("Tell me another fact")
    page.get_by_label("Edit the message").press("Enter")
    expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=30_000)

    expect(page.locator(".message.user .content")).to_have_text(["Tell me another fact"])
    expect(page.locator(".message.assistant .content")).to_have_text(["The answer to the edit."])
    assert [m["content"] for m in fake_model.chat_requests[-1]["messages"] if m["role"] == "user"] == ["Tell me another fact"]

    page.goto(original)
    expect(page.locator(".message.assistant .content")).to_have_text(["The first answer."])


def test_it_queues_a_message_sent_while_an_answer_streams_and_sends_it_after(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    fake_model.script(Reply(text=" ".join(f"slow{n}" for n in range(40)), delay=0.05), "The quick second answer.")

    _ask(page, "First question", wait=False)
    first = page.locator(".message.assistant").nth(0)
    expect(first.locator(".content")).to_contain_text("slow1")
    page.get_by_label("Message", exact=True).fill("Second question")
    page.get_by_label("Message", exact=True).press("Enter")

    queued = page.locator(".queued")
    expect(queued).to_have_count(1)
    expect(queued).to_contain_text("Queued")
    expect(queued).to_contain_text("Second question")
    expect(page.locator(".message.user")).to_have_count(1)

    expect(page.locator(".message.assistant")).to_have_count(2, timeout=30_000)
    expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=30_000)
    expect(queued).to_have_count(0)
    expect(page.locator(".message.user .content")).to_have_text(["First question", "Second question"])
    expect(page.locator(".message.assistant .content").last).to_have_text("The quick second answer.")
    assert "slow39" in first.locator(".content").inner_text()


# Cuts the first /api/web-stream response after a few chunks, as a dropped connection would:
# the body errors and the underlying connection is cancelled.
DROP_FIRST_STREAM = """
window.__resumes = [];
const realFetch = window.fetch;
let dropped = false;
window.fetch = async (input, init) => {
  const url = typeof input === "string" ? input : input.url;
  if (url.includes("/api/stream/resume/")) window.__resumes.push(url);
  const response = await realFetch(input, init);
  if (dropped || !url.includes("/api/web-stream")) return response;
  dropped = true;
  const reader = response.body.getReader();
  let chunks = 0;
  const body = new ReadableStream({
    async pull(controller) {
      const {value, done} = await reader.read();
      if (done) { controller.close(); return; }
      controller.enqueue(value);
      if (++chunks >= 8) { reader.cancel(); controller.error(new TypeError("network error")); }
    },
  });
  return new Response(body, {status: response.status, headers: response.headers});
};
"""


def test_it_resumes_a_dropped_stream_from_the_last_index_without_duplicating_text(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    page.add_init_script(DROP_FIRST_STREAM)
    page.reload()
    words = [f"w{n}" for n in range(60)]
    fake_model.script(Reply(text=" ".join(words), delay=0.03))

    answer = _ask(page, "Count for me")

    expect(answer.locator(".error")).to_have_count(0)
    assert answer.locator(".content").inner_text().split() == words
    resumes = page.evaluate("window.__resumes")
    assert len(resumes) >= 1 and "last_index=" in resumes[0], resumes
    assert int(resumes[0].split("last_index=")[1]) > 0

    page.reload()
    expect(page.locator(".message.assistant .content")).to_have_text([" ".join(words)])


def test_it_follows_an_answer_still_streaming_after_a_reload(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    words = [f"r{n}" for n in range(50)]
    fake_model.script(Reply(text=" ".join(words), delay=0.06))
    answer = _ask(page, "Keep going", wait=False)
    expect(answer.locator(".content")).to_contain_text("r2")

    page.reload()

    expect(page.locator(".message.assistant.pending")).to_have_count(1)
    expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=30_000)
    expect(page.locator(".message.assistant .content")).to_have_text([" ".join(words)])
    expect(page.locator(".message.user .content")).to_have_text(["Keep going"])


def test_it_shows_markup_in_a_users_message_as_text(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    attack = '<img src=x onerror="window.__pwned=1"><b>bold</b>'
    fake_model.script("Noted.")

    _ask(page, attack)

    expect(page.locator(".message.user .content")).to_have_text(attack)
    expect(page.locator("#messages img, #messages b")).to_have_count(0)
    page.reload()
    expect(page.locator(".message.user .content")).to_have_text(attack)
    assert page.evaluate("window.__pwned") is None


def test_it_renders_a_2000_message_thread_a_page_at_a_time(chat):
    from playwright.sync_api import expect

    from apps.conversations.models import Message, Thread

    page, username = chat
    thread = Thread.objects.create(owner=_user(username), title="A long one")
    Message.objects.bulk_create(
        Message(thread=thread, role="user" if n % 2 == 0 else "assistant", content=f"message number {n} with **bold** text")
        for n in range(2000)
    )

    started = time.monotonic()
    page.goto(f"/app/t/{thread.id}")
    expect(page.locator(".message.assistant .content").last).to_contain_text("message number 1999")
    elapsed = time.monotonic() - started

    print(f"2,000-message thread: last message on screen after {elapsed:.2f} s")
    assert elapsed < 10, elapsed
    assert page.locator(".message").count() == 60
    # The main thread is free: a click is answered at once.
    responsive = page.evaluate("""() => new Promise((resolve) => {
        const start = performance.now();
        setTimeout(() => resolve(performance.now() - start), 0);
    })""")
    assert responsive < 200, responsive
    # Asked for (or scrolled to: bringing the button into view may load a page by itself),
    # the earlier messages come in pages of 60, in order.
    page.get_by_role("button", name="Show earlier messages").click()
    page.wait_for_function("document.querySelectorAll('.message').length > 60")
    count = page.locator(".message").count()
    assert count % 60 == 0 and count < 2000, count
    expect(page.locator(".message .content").first).to_contain_text(f"message number {2000 - count} with")


def test_it_renames_pins_and_deletes_a_thread(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    fake_model.script("One.", "Two.")
    _ask(page, "first question")
    page.get_by_role("button", name="+ New chat").click()
    _ask(page, "second question")
    expect(page.locator(".thread-open")).to_have_text(["second question", "first question"])

    page.get_by_role("button", name="Rename “first question”").click()
    page.get_by_label("New title").fill("Renamed chat")
    page.get_by_label("New title").press("Enter")
    expect(page.locator(".thread-open")).to_have_text(["second question", "Renamed chat"])
    page.get_by_role("button", name="Pin “Renamed chat”").click()
    expect(page.locator(".thread-open")).to_have_text(["Renamed chat", "second question"])
    expect(page.get_by_role("button", name="Unpin “Renamed chat”")).to_have_attribute("aria-pressed", "true")

    page.get_by_role("button", name="Delete “second question”").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".thread-open")).to_have_text(["Renamed chat"])
    expect(page).to_have_url("/app/")
    page.reload()
    expect(page.locator(".thread-open")).to_have_text(["Renamed chat"])


def test_it_lists_the_agents_the_user_may_use_and_answers_with_the_chosen_one(chat, fake_model, bob):
    from playwright.sync_api import expect

    from apps.agents.models import Agent

    page, username = chat
    Agent.objects.create(owner=_user(username), name="Pirate", system_prefix="You talk like a pirate.")
    Agent.objects.create(owner=bob, name="Bob's private agent", system_prefix="Secret.")
    page.reload()
    picker = page.get_by_label("Agent")
    expect(picker.locator("option")).to_have_text(["Default assistant", "Pirate"])

    picker.select_option(label="Pirate")
    fake_model.script("Arr.")
    _ask(page, "Hello")

    system = fake_model.chat_requests[-1]["messages"][0]
    assert "pirate" in json.dumps(system).lower()
    page.reload()
    expect(picker).to_have_value(str(Agent.objects.get(name="Pirate").pk))


def test_it_keeps_the_conversations_in_the_drawer_on_a_narrow_screen(chat):
    from playwright.sync_api import expect

    page, _ = chat
    page.set_viewport_size({"width": 390, "height": 800})
    new_chat = page.get_by_role("button", name="+ New chat")
    expect(new_chat).not_to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_visible()

    page.get_by_role("button", name="Show navigation").click()
    expect(new_chat).to_be_visible()
    page.keyboard.press("Escape")
    expect(new_chat).not_to_be_visible()


def test_it_starts_a_project_chat_and_opens_its_sandbox_pane(chat):
    from playwright.sync_api import expect

    page, _ = chat
    expect(page.get_by_role("button", name="Sandbox")).to_be_hidden()  # a plain chat has no sandbox
    page.get_by_role("button", name="+ New project chat").click()
    page.wait_for_url("**/app/t/**")
    expect(page.locator(".thread-open[aria-current=page]")).to_contain_text("Project")
    page.reload()  # a project thread is known as one from the thread list, not only after creating it
    page.get_by_role("button", name="Sandbox").click()
    pane = page.get_by_role("complementary", name="Sandbox")
    expect(pane).to_be_visible()
    expect(pane.locator("#sandbox-status")).to_have_text("running", timeout=30_000)

    pane.get_by_role("tab", name="Terminal").click()
    pane.get_by_label("Command").fill("printf '<h1>Hello sandbox</h1>' > index.html && echo written")
    pane.get_by_label("Command").press("Enter")
    expect(pane.locator("#terminal-output")).to_contain_text("written", timeout=30_000)
    expect(pane.locator("#terminal-output")).to_contain_text("[exit 0")

    pane.get_by_role("tab", name="Files").click()
    pane.get_by_role("button", name="index.html").click()
    expect(pane.locator("#file-content")).to_have_text("<h1>Hello sandbox</h1>")

    pane.get_by_role("tab", name="Preview").click()
    pane.get_by_role("button", name="Open preview").click()
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("h1")).to_have_text("Hello sandbox", timeout=30_000)
    assert page.locator("#preview-frame").get_attribute("src").startswith("/preview/")
    # The preview server's own output (its request log) reaches the terminal.
    pane.get_by_role("tab", name="Terminal").click()
    expect(pane.locator("#terminal-output .dev-server").last).to_contain_text("GET /", timeout=15_000)
    pane.get_by_role("tab", name="Preview").click()

    pane.get_by_role("button", name="Deploy").click()
    expect(pane.locator("#deploy-status .badge")).to_have_text("ready", timeout=30_000)
    assert "/sites/" in pane.locator("#deploy-status a").get_attribute("href")


def test_it_shows_a_tool_steps_result_again_after_a_reload(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    fake_model.script(
        Reply(tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]),
        Reply(text="Six sevens make that."),
    )
    _ask(page, "What is 6 times 7?")

    page.reload()
    step = page.locator(".message.assistant .step.tool")
    expect(step).to_have_count(1)
    expect(step.locator(".badge")).to_have_text("done")
    step.locator("summary").click()
    body = step.locator(".step-body")
    expect(body).to_contain_text("6*7")
    # The result comes from the answer's stored metadata.tool_results, shown as while streaming.
    expect(body.locator("p")).to_have_text(["Arguments", "Result"])
    expect(body.locator("pre").nth(1)).to_have_text("42")


def test_it_prepends_an_earlier_page_cheaply_and_keeps_the_readers_place(chat):
    from playwright.sync_api import expect

    from apps.conversations.models import Message, Thread

    page, username = chat
    answer = "Answer with **bold**.\n\n```python\nprint('roast')\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |"
    thread = Thread.objects.create(owner=_user(username), title="Long and rich")
    Message.objects.bulk_create(
        Message(thread=thread, role="user" if n % 2 == 0 else "assistant",
                content=f"question {n}" if n % 2 == 0 else f"{answer}\n\nnumber {n}")
        for n in range(400)
    )
    page.goto(f"/app/t/{thread.id}")
    expect(page.locator(".message")).to_have_count(60)
    expect(page.locator(".message.assistant .content").last.locator("strong")).to_have_text("bold")

    # Scrolled away from the top (so that nothing loads by itself), then the button: the first
    # message shown stays where it was, and the page of 60 comes in without rendering markdown.
    moved = page.evaluate("""() => {
        const box = document.getElementById("messages");
        box.scrollTop = 400;
        const anchor = document.querySelector(".message[data-index='370']");
        const top = anchor.getBoundingClientRect().top;
        const started = performance.now();
        document.getElementById("load-earlier").click();
        const took = performance.now() - started;
        return {took, moved: anchor.getBoundingClientRect().top - top};
    }""")
    print(f"prepending 60 messages took {moved['took']:.0f} ms")
    assert abs(moved["moved"]) <= 2, moved
    expect(page.locator(".message")).to_have_count(120)
    earlier = page.locator(".message[data-index='301'] .content")
    assert "lazy" in (earlier.get_attribute("class") or "")
    expect(earlier).to_contain_text("number 301")
    assert earlier.locator("strong, .code-block, table").count() == 0
    # Near the screen, its markdown is rendered, exactly as the others.
    earlier.scroll_into_view_if_needed()
    expect(earlier.locator("strong")).to_have_text("bold")
    expect(earlier.locator(".code-block")).to_contain_text("print('roast')")
    expect(earlier.locator("table td").first).to_have_text("1")
    assert "lazy" not in (earlier.get_attribute("class") or "")
    assert moved["took"] < 150, moved


def test_it_streams_into_the_answer_once_a_frame_and_keeps_the_blocks_already_rendered(chat, fake_model):
    from playwright.sync_api import expect

    page, _ = chat
    text = "First paragraph stays.\n\n" + "\n\n".join(f"Paragraph {n} " + " ".join(f"w{n}x{k}" for k in range(8)) for n in range(12))
    fake_model.script(Reply(text=text, delay=0.01))
    page.evaluate("""() => {
        window.__updates = {frames: 0, batches: 0, marked: false};
        const tick = () => { window.__updates.frames += 1; requestAnimationFrame(tick); };
        requestAnimationFrame(tick);
        new MutationObserver((records) => {
            const inAnswer = (r) => (r.target.nodeType === 1 ? r.target : r.target.parentElement)?.closest(".message.assistant.pending .content");
            if (!records.some(inAnswer)) return;
            window.__updates.batches += 1;
            // Once later paragraphs are there, the first one is complete.
            const blocks = document.querySelectorAll(".message.assistant.pending .content > p");
            const first = blocks[0];
            if (blocks.length > 2 && first.textContent === "First paragraph stays." && !window.__updates.marked) {
                first.dataset.seen = "1";  // the same element must still be there at the end
                window.__updates.marked = true;
            }
        }).observe(document, {subtree: true, childList: true, characterData: true});
    }""")

    answer = _ask(page, "Write twelve paragraphs")

    expect(answer.locator(".content > p").last).to_contain_text("w11x7")
    updates = page.evaluate("window.__updates")
    assert updates["marked"], updates
    # The first block was rendered once, not again for each token nor at the answer's end.
    expect(answer.locator(".content > p").first).to_have_attribute("data-seen", "1")
    # At most one update of the answer per animation frame, though ~110 tokens came in.
    assert 1 < updates["batches"] <= updates["frames"] + 1, updates
