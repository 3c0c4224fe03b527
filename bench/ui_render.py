"""Web UI rendering benchmark: the chat screen in headless Chromium, on the platform as ``make run`` starts it.

Starts the fake OpenAI-compatible upstream (apps/providers/testing.py) in a process of its own,
streaming a Markdown answer (paragraphs, lists, code blocks, a table) at ``--rate`` tokens/s, and
``scripts/run.sh`` on a fresh database of its own with that upstream as the default model. Then,
in Chromium through Playwright, with the performance API (``requestAnimationFrame`` frame gaps and
a ``PerformanceObserver`` for long tasks), in the same run:

(a) token rendering: the chat screen while an answer streams in through the real platform
    (002 ``/api/web-stream``), against the same page idle for as long (the baseline);
(b) a 2,000-message thread: time to first render (navigation to the first rendered message) and
    scrolling up through it (300 px a frame, which brings in the earlier pages), against a
    2-message thread (first render) and a 60-message thread scrolled the same way (the baselines).

Figures are ratios against those baselines, with the absolute values beside them for reference.

    .venv/bin/python bench/ui_render.py [--rate 100] [--tokens 1000] [--messages 2000] [--port 0] [--cpu-slowdown 1]

``--cpu-slowdown N`` has Chromium run the page N times slower (DevTools CPU throttling): a
quiet machine then shows what a loaded one (or a slow laptop) would.

Targets (issue 14): token rendering keeps up with 100 tokens/s with no dropped frames; a
2,000-message thread renders without freezing.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from ui_screenshots import (  # noqa: E402  (scripts/ is not a package)
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    running_platform,
    sign_in,
    signed_up_client,
)

DATABASE = "codex_bench_ui"
FRAME_BUDGET_MS = 1000 / 60  # 16.7 ms: one frame at 60 Hz
SCROLL_FRAMES = 240
SCROLL_STEP_PX = 300

UPSTREAM = """
import sys, time
from apps.providers.testing import FakeLLMServer, Reply
text, delay = open(sys.argv[1]).read(), float(sys.argv[2])
server = FakeLLMServer(default=Reply(text=text, delay=delay), record=False).start()
print(server.port, flush=True)
while True:
    time.sleep(3600)
"""

# Installed before any page script. Frame gaps come from requestAnimationFrame, long tasks
# (>= 50 ms on the main thread) from the performance timeline; both only while recording.
RECORDER = """
window.__perf = {frames: [], longtasks: [], recording: false, firstText: null, lastChange: null};
new PerformanceObserver((list) => {
  if (!window.__perf.recording) return;
  for (const entry of list.getEntries()) window.__perf.longtasks.push(entry.duration);
}).observe({type: "longtask"});
let last = 0;
const tick = (now) => {
  if (window.__perf.recording) { if (last) window.__perf.frames.push(now - last); last = now; } else last = 0;
  requestAnimationFrame(tick);
};
requestAnimationFrame(tick);
window.__perfStart = () => Object.assign(window.__perf, {frames: [], longtasks: [], recording: true,
                                                         firstText: null, lastChange: null});
window.__perfStop = () => { window.__perf.recording = false; return window.__perf; };
new MutationObserver(() => {
  const list = document.getElementById("message-list");
  if (list && list.querySelector(".message") && window.__firstMessage === undefined) {
    window.__firstMessage = performance.now();
  }
  const answer = document.querySelector(".message.assistant.pending .content");
  if (window.__perf.recording && answer && answer.textContent.length) {
    window.__perf.firstText ??= performance.now();
    window.__perf.lastChange = performance.now();
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""

SCROLL = """async ([frames, step]) => {
  const box = document.getElementById("messages");
  box.scrollTop = box.scrollHeight;
  await new Promise((resolve) => requestAnimationFrame(resolve));
  window.__perfStart();
  for (let i = 0; i < frames; i += 1) {
    box.scrollTop -= step;
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  const perf = window.__perfStop();
  return {...perf, rendered: document.querySelectorAll("#message-list .message").length};
}"""


def answer_text(tokens: int) -> str:
    """A Markdown answer of about ``tokens`` words: what a model streams, code and a table included."""
    blocks = [
        "Here is how the roastery plans a week, step by step.",
        "1. **Monday**: green coffee is weighed and the roast profiles are checked.\n"
        "2. **Tuesday**: every order is roasted; each batch is logged.\n"
        "3. **Wednesday**: orders are packed and shipped from Rotterdam.",
        "```python\ndef batches(orders, capacity=12):\n    total = sum(order.kilos for order in orders)\n"
        "    return -(-total // capacity)  # ceiling division\n```",
        "| origin | process | notes |\n|---|---|---|\n| Ethiopia | washed | jasmine, bergamot |\n"
        "| Colombia | washed | red apple, caramel |\n| Brazil | natural | cocoa, hazelnut |",
        "A batch that misses its window is roasted on Thursday instead, and the customer is told "
        "by email before noon, so nobody waits without knowing why. See the handbook [1] for the rules.",
    ]
    words: list[str] = []
    while len(words) < tokens:
        for block in blocks:
            words.extend(block.replace("\n", "\n ").split(" "))
            words[-1] += "\n\n"
    return " ".join(words[:tokens])


def thread_messages(count: int) -> list[tuple[str, str]]:
    """``count`` messages alternating user and assistant, the assistant's in Markdown."""
    out = []
    for index in range(count // 2):
        out.append(("user", f"Question {index + 1}: how should batch {index + 1} be roasted?"))
        body = answer_text(60 + (index % 5) * 20)
        out.append(("assistant", f"Answer {index + 1}.\n\n{body}"))
    return out


def seed_thread(username: str, title: str, count: int) -> str:
    """A thread of ``count`` messages for ``username``, written straight into the bench database
    (2,000 answers through the API would be 1,000 runs of setup for one measurement)."""
    from apps.accounts.models import User
    from apps.conversations.models import Message, Thread

    user = User.objects.get(username=username)
    thread = Thread.objects.create(owner=user, title=title)
    Message.objects.bulk_create(Message(thread=thread, role=role, content=content)
                                for role, content in thread_messages(count))
    return thread.pk


@dataclass
class Frames:
    gaps: list[float]
    longtasks: list[float]

    @property
    def over_budget(self) -> float:
        """The share of frames that took longer than one 60 Hz frame (a dropped frame or more)."""
        return sum(gap > FRAME_BUDGET_MS * 1.2 for gap in self.gaps) / len(self.gaps) if self.gaps else float("nan")

    def p(self, q: float) -> float:
        if not self.gaps:
            return float("nan")
        ordered = sorted(self.gaps)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def longest_task(self) -> float:
        return max(self.longtasks, default=0.0)


def frames_of(perf: dict[str, Any]) -> Frames:
    return Frames(gaps=list(perf["frames"]), longtasks=list(perf["longtasks"]))


def ratio(value: float, baseline: float) -> str:
    if baseline == 0:
        return "n/a (baseline 0)" if value else "1.00"
    return f"{value / baseline:.2f}"


def show(label: str, measured: Frames, baseline: Frames) -> None:
    print(f"  {label}")
    print(f"    frames recorded            {len(measured.gaps):>8} | baseline {len(baseline.gaps):>8}")
    print(f"    frame gap p50 (ms)         {measured.p(0.5):>8.1f} | baseline {baseline.p(0.5):>8.1f} | "
          f"ratio {ratio(measured.p(0.5), baseline.p(0.5))}")
    print(f"    frame gap p95 (ms)         {measured.p(0.95):>8.1f} | baseline {baseline.p(0.95):>8.1f} | "
          f"ratio {ratio(measured.p(0.95), baseline.p(0.95))}")
    print(f"    frame gap max (ms)         {max(measured.gaps, default=0):>8.1f} | baseline "
          f"{max(baseline.gaps, default=0):>8.1f} | ratio {ratio(max(measured.gaps, default=0), max(baseline.gaps, default=0))}")
    print(f"    frames over 16.7 ms        {measured.over_budget:>8.1%} | baseline {baseline.over_budget:>8.1%} | "
          f"ratio {ratio(measured.over_budget, baseline.over_budget)}")
    print(f"    long tasks (>= 50 ms)      {len(measured.longtasks):>8} | baseline {len(baseline.longtasks):>8}")
    print(f"    longest task (ms)          {measured.longest_task:>8.0f} | baseline {baseline.longest_task:>8.0f}")


def bench(base_url: str, username: str, *, tokens: int, rate: float, messages: int, slowdown: float = 1) -> None:
    from playwright.sync_api import expect, sync_playwright

    big = seed_thread(username, "A long thread", messages)
    small = seed_thread(username, "A short thread", 2)
    page_thread = seed_thread(username, "One page", 60)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 800})
        context.add_init_script(RECORDER)
        page = context.new_page()
        page.set_default_timeout(120_000)
        if slowdown > 1:
            context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": slowdown})
        sign_in(page, username)
        expect(page.locator("#whoami")).to_have_text(username)

        # (a) Token rendering. A first answer warms the platform and the page's code up.
        def ask(text: str) -> dict[str, Any]:
            page.evaluate("window.__perfStart()")
            page.get_by_label("Message", exact=True).fill(text)
            page.get_by_label("Message", exact=True).press("Enter")
            expect(page.locator(".message.assistant")).not_to_have_count(0)
            expect(page.locator(".message.assistant.pending")).to_have_count(0, timeout=tokens / rate * 1000 * 6 + 60_000)
            return page.evaluate("window.__perfStop()")

        ask("Warm up: plan the week.")
        page.get_by_role("button", name="+ New chat").click()
        streamed = ask("How does the roastery plan a week?")
        shown = page.locator(".message.assistant .content").last.text_content() or ""
        seconds = (streamed["lastChange"] - streamed["firstText"]) / 1000 if streamed["firstText"] else float("nan")
        page.evaluate("window.__perfStart()")
        page.wait_for_timeout(max(1000, int(len(streamed["frames"]) * FRAME_BUDGET_MS)))
        idle = page.evaluate("window.__perfStop()")
        print(f"\n(a) token rendering: {tokens} tokens at {rate:.0f}/s from the upstream; the page showed the answer "
              f"grow for {seconds:.1f} s ({tokens / seconds:.0f} tokens/s as rendered, {len(shown)} characters)")
        show("streaming vs the same page idle", frames_of(streamed), frames_of(idle))

        # (b) Long threads: first render, then scrolling up.
        def first_render(thread_id: str) -> tuple[float, Frames]:
            page.goto(f"/app/t/{thread_id}")
            page.evaluate("window.__perfStart()")
            expect(page.locator("#message-list .message").first).to_be_visible()
            page.wait_for_timeout(500)
            perf = page.evaluate("window.__perfStop()")
            # performance.now() counts from the navigation's start.
            return page.evaluate("window.__firstMessage"), frames_of(perf)

        first_render(small)  # warm: the page's modules cached
        small_ms, _ = min((first_render(small) for _ in range(3)), key=lambda item: item[0])
        big_ms, big_load = min((first_render(big) for _ in range(3)), key=lambda item: item[0])
        rendered = page.locator("#message-list .message").count()
        print(f"\n(b) a {messages}-message thread ({rendered} messages rendered at first, the rest a page at a time)")
        print(f"    time to first render (ms)  {big_ms:>8.0f} | 2-message thread {small_ms:>8.0f} | "
              f"ratio {ratio(big_ms, small_ms)}")
        print(f"    longest task while loading {big_load.longest_task:>8.0f} ms")

        page.goto(f"/app/t/{page_thread}")
        expect(page.locator("#message-list .message")).to_have_count(60)
        short = page.evaluate(SCROLL, [SCROLL_FRAMES, SCROLL_STEP_PX])
        page.goto(f"/app/t/{big}")
        expect(page.locator("#message-list .message").first).to_be_visible()
        long = page.evaluate(SCROLL, [SCROLL_FRAMES, SCROLL_STEP_PX])
        print(f"    scrolling up {SCROLL_FRAMES} frames x {SCROLL_STEP_PX} px: {long['rendered']} messages rendered "
              f"by the end (60-message thread: {short['rendered']})")
        show(f"{messages}-message thread vs a 60-message thread", frames_of(long), frames_of(short))
        browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0, help="tokens per second from the upstream")
    parser.add_argument("--tokens", type=int, default=1000, help="tokens in the streamed answer")
    parser.add_argument("--messages", type=int, default=2000, help="messages in the long thread")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cpu-slowdown", type=float, default=1, help="run the page this many times slower (CPU throttling)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings

    text_file = tempfile.NamedTemporaryFile("w", suffix=".md", delete=False)
    text_file.write(answer_text(args.tokens))
    text_file.close()
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, text_file.name, str(1 / args.rate)], cwd=ROOT,
                                env={**os.environ, "DJANGO_SETTINGS_MODULE": "codex.settings"},
                                stdout=subprocess.PIPE, text=True)
    try:
        upstream_port = int(upstream.stdout.readline())
        env = {"LLM_BASE_URL": f"http://127.0.0.1:{upstream_port}/v1", "LLM_API_KEY": "sk-bench",
               "LLM_MODEL": "fake-model", "FETCH_ALLOW_LOOPBACK": "1"}
        started = time.monotonic()
        with running_platform(port=args.port or free_port(), database=DATABASE, env=env) as base_url:
            print(f"scripts/run.sh ready in {time.monotonic() - started:.0f} s; load average "
                  f"{os.getloadavg()[0]:.1f}", flush=True)
            settings.DATABASES["default"]["NAME"] = DATABASE  # before this process's first connection
            username = f"bench{uuid.uuid4().hex[:6]}"
            signed_up_client(base_url, username).close()
            print(f"page CPU slowdown {args.cpu_slowdown:g}x", flush=True)
            bench(base_url, username, tokens=args.tokens, rate=args.rate, messages=args.messages, slowdown=args.cpu_slowdown)
            print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        upstream.kill()
        os.unlink(text_file.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
