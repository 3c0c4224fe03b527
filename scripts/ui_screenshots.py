"""Screenshots of every screen of the web UI, light and dark, into docs/ui/<screen>-<theme>.png.

Starts the platform as ``make run`` does (``scripts/run.sh``: daphne, the run worker, the task
worker, beat) on a fresh database of its own (``codex_ui_demo`` on the project's PostgreSQL, with
billing on and the offline model priced, so credits move), or uses a running one (``--base-url``).
Seeds a demo user through the documented APIs (a knowledge base with an ingested PDF and CSV, an
agent, a skill, an MCP server, answers with citations and a tool step, a project thread whose
agent wrote a page in its sandbox), then signs in through the login page in headless Chromium and
saves each screen at 1280x800 in both themes, and writes docs/ui/README.md listing them.

    .venv/bin/python scripts/ui_screenshots.py [--base-url URL] [--port 0] [--out docs/ui]
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DATABASE = "codex_ui_demo"
READY_LINE = "CodexEngine is running"
PASSWORD = "demo-password-2024"
THEMES = ("light", "dark")
# The offline model's price in the demo: credits per million input / output tokens.
PRICE_SCRIPT = (
    "from apps.billing.models import ModelPrice; from apps.providers.offline import OFFLINE_MODEL_NAME; "
    "ModelPrice.objects.update_or_create(model=OFFLINE_MODEL_NAME, provider=None, "
    "defaults={'input_per_million': 200, 'output_per_million': 400})"
)

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
ORIGINS = (
    "name,country,process,notes\n"
    "Yirgacheffe,Ethiopia,washed,jasmine and bergamot\n"
    "Huila,Colombia,washed,red apple and caramel\n"
    "Cerrado,Brazil,natural,cocoa and hazelnut\n"
    "Kiambu,Kenya,washed,blackcurrant and grapefruit\n"
)
SKILL_MD = """---
name: tasting-notes
description: Write tasting notes for a coffee - aroma, acidity, body, finish - in the house style.
---
# Tasting notes

1. Start with the aroma, then acidity, body and finish.
2. Use the flavour wheel in wheel.md; never more than three notes.
"""


# ------------------------------------------------------------------------------
# The platform
# ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database_url(name: str, *, keep: bool = False) -> str:
    """``name`` on the project's PostgreSQL (the embedded one unless DATABASE_URL says otherwise),
    dropped and created again (so every run seeds the same data) unless ``keep``."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg
    from django.conf import settings

    parts = urlsplit(settings.DATABASE_URL)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and not keep:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or not keep:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def running_platform(*, port: int, database: str = DATABASE, env: dict[str, str] | None = None,
                     keep_database: bool = False) -> Iterator[str]:
    """``scripts/run.sh`` on a fresh, migrated database; yields its URL and stops it afterwards."""
    database_url = fresh_database_url(database, keep=keep_database)
    queue = f"ui-{uuid.uuid4().hex[:8]}"
    full_env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
                "CELERY_QUEUE": queue, "CELERY_RUN_QUEUE": f"{queue}-runs", **(env or {})}
    for name in ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL"):
        if name not in (env or {}):
            full_env.pop(name, None)  # no provider unless asked for: the offline model answers
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=full_env, check=True)
    subprocess.run([python, "manage.py", "shell", "-c", PRICE_SCRIPT], cwd=ROOT, env=full_env, check=True)
    port = port or free_port()
    log = tempfile.TemporaryFile()
    launcher = subprocess.Popen(["scripts/run.sh", "127.0.0.1", str(port)], cwd=ROOT, env=full_env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)

    def tail() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")[-3000:]

    try:
        deadline = time.monotonic() + 300
        while READY_LINE not in tail():
            if launcher.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"scripts/run.sh did not get ready:\n{tail()}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGTERM)
            try:
                launcher.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(launcher.pid, signal.SIGKILL)
        log.close()


class DemoMCPServer:
    """A small real MCP server (the mcp SDK over streamable HTTP) for the tools screen."""

    def __init__(self) -> None:
        import uvicorn
        from mcp.server.mcpserver import MCPServer

        self.port = free_port()
        mcp = MCPServer("roastery")

        @mcp.tool()
        def roast_schedule(origin: str) -> str:
            """The next roast day of a coffee origin at the Rotterdam roastery."""
            return f"{origin}: next roast on Tuesday, ships Wednesday."

        @mcp.tool()
        def stock_level(origin: str) -> str:
            """Kilograms of green coffee in stock for an origin."""
            return f"{origin}: 120 kg in stock."

        self.server = uvicorn.Server(uvicorn.Config(mcp.streamable_http_app(), host="127.0.0.1", port=self.port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="demo-mcp", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> DemoMCPServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the demo MCP server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(10)


# ------------------------------------------------------------------------------
# The demo user's data, through the documented APIs
# ------------------------------------------------------------------------------
def _data(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: {response.status_code} "
                           f"{response.text[:300]}")
    body = response.json()
    return body["data"] if isinstance(body, dict) and "code" in body and "data" in body else body


def _zip(files: dict[str, str]) -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in files.items():
            archive.writestr(path, content)
    return buffer.getvalue()


@dataclass
class Demo:
    username: str
    chat_thread: str
    project_thread: str
    kdb_id: str
    agent_id: str


def web_stream(http: httpx.Client, *, thread_id: str, text: str, agent_id: str | None) -> list[dict[str, Any]]:
    """One answer through 002 POST /api/web-stream, read to its ``stream_end`` line."""
    lines = []
    body = {"messages": [{"role": "user", "content": text}], "session_id": thread_id, "agent_id": agent_id}
    with http.stream("POST", "/api/web-stream", json=body, timeout=300) as response:
        if response.status_code != 200:
            raise RuntimeError(f"web-stream: {response.status_code} {response.read()[:300]!r}")
        for line in response.iter_lines():
            if line.strip():
                lines.append(json.loads(line))
                if lines[-1].get("type") == "stream_end":
                    break
    errors = [line for line in lines if line.get("type") == "error" or line.get("status") == "failed"]
    if errors:
        raise RuntimeError(f"the answer to {text!r} failed: {errors[0].get('content')}")
    return lines


def signed_up_client(base_url: str, username: str) -> httpx.Client:
    """A new user (000 POST /register), signed in (002 POST /api/auth/login); its password is PASSWORD."""
    http = httpx.Client(base_url=base_url, timeout=60)
    _data(http.post("/register", json={"username": username, "email": f"{username}@example.com",
                                       "password": PASSWORD}))
    tokens = _data(http.post("/api/auth/login", json={"username_or_email": username, "password": PASSWORD}))
    http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
    return http


def sign_in(page, username: str) -> None:
    """Through the login page, as a person does; lands on the chat."""
    page.goto("/app/login")
    page.get_by_label("Email or username").fill(username)
    page.locator("#login-form").get_by_label("Password").fill(PASSWORD)
    page.locator("#login-form").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/")


def seed(base_url: str, *, mcp_url: str | None) -> Demo:
    from apps.knowledge.tests.corpus.build import make_pdf

    username = f"dora{uuid.uuid4().hex[:4]}"
    http = signed_up_client(base_url, username)

    base = _data(http.post("/api/knowledge-base/add", json={
        "name": "Coffee handbook", "intro": "Policies, shipping and the origins we roast."}))
    kdb_id = base["kdb_id"]
    for filename, content in (("lumen-handbook.pdf", make_pdf(HANDBOOK)), ("origins.csv", ORIGINS.encode())):
        _data(http.post("/api/knowledge-base/doc/add_by_files", data={"kdb_id": kdb_id},
                        files={"files": (filename, content)}))
    deadline = time.monotonic() + 300
    while True:
        docs = _data(http.get("/api/knowledge-base/doc/list", params={"kdb_id": kdb_id, "page_size": 10}))["list"]
        if docs and all(doc["status"] == 2 for doc in docs):
            break
        if any(doc["status"] == 3 for doc in docs) or time.monotonic() > deadline:
            raise RuntimeError(f"ingestion did not finish: {docs}")
        time.sleep(0.5)
    _data(http.post("/api/knowledge-base/add", json={"name": "Brewing guides", "intro": "Recipes per method."}))

    agent = _data(http.post("/api/agent/create", json={
        "name": "Barista", "description": "Answers customers from the handbook.",
        "systemPrefix": "You are Lumen Coffee's barista. Answer from the handbook and cite it.",
        "availableTools": ["calculator", "current_time"], "availableKnowledgeBases": [kdb_id], "maxLoopCount": 6}))
    _data(http.post("/api/agent/create", json={"name": "Roast planner", "description": "Plans the week's roasts.",
                                               "systemPrefix": "You plan roasts.", "availableTools": ["calculator"]}))
    _data(http.post("/api/skills/upload", files={"file": ("tasting-notes.zip", _zip({
        "SKILL.md": SKILL_MD, "wheel.md": "- fruity\n- floral\n- nutty\n- chocolate\n"}))}))
    if mcp_url:
        _data(http.post("/api/mcp/add", json={"name": "roastery", "protocol": "streamable_http",
                                              "streamable_http_url": mcp_url}))

    chat_thread = str(uuid.uuid4())
    web_stream(http, thread_id=chat_thread, agent_id=agent["agent_id"],
               text="How many days do annual coffee subscriptions have for a refund?")
    web_stream(http, thread_id=chat_thread, agent_id=agent["agent_id"],
               text="Shipping is free above 60 euros: what is 60 * 12 for a year of orders?")
    _data(http.post(f"/api/conversations/{chat_thread}/title", json={"title": "Refunds and shipping"}))

    project = _data(http.post("/api/projects", json={"name": "Lumen landing page"}))
    thread = _data(http.post("/api/threads", json={"name": "Landing page", "project_id": project["project_id"]}))
    page = ("<h1>Lumen Coffee</h1><p>Roasted on Tuesday, shipped on Wednesday.</p>").replace("'", "")
    lines = web_stream(http, thread_id=thread["thread_id"], agent_id=None,
                       text=f"Please run `printf '{page}' > index.html && ls -l`")
    if not any(line.get("type") == "tool_call_result" for line in lines):
        raise RuntimeError(f"the agent ran no command in the sandbox: {lines}")
    return Demo(username=username, chat_thread=chat_thread, project_thread=thread["thread_id"], kdb_id=kdb_id,
                agent_id=agent["agent_id"])


# ------------------------------------------------------------------------------
# The screenshots
# ------------------------------------------------------------------------------
SCREENS = [
    ("login", "The sign-in page (sign in and create an account)."),
    ("chat", "A conversation with the Barista agent: a cited answer, a calculator step opened, the sources."),
    ("citation", "A citation chip opened: the source chunk with its document and page."),
    ("sandbox", "A project thread: the agent's shell step, and the sandbox pane with the live preview."),
    ("agents", "The agent editor: prompt, model, tools, skills, knowledge bases, MCP servers, sub-agents."),
    ("knowledge", "A knowledge base with its ingested PDF and CSV and a retrieval test with scores."),
    ("tools", "MCP servers with their tools, an uploaded skill, toolkit profiles."),
    ("settings", "Settings scrolled to the credits: the balance after the demo's answers, usage per day and model."),
    ("studio", "Text to speech, podcast and slide-deck generation."),
]


def _settle(page) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_load_state("networkidle", timeout=5_000)
    except PlaywrightTimeout:
        pass  # a screen that keeps polling (the sandbox pane's preview) is never idle; its data is there
    page.wait_for_timeout(300)  # fonts, the last paint after the data arrived


def shoot(base_url: str, demo: Demo, out: Path, *, width: int, height: int) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    saved: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for theme in THEMES:
            context = browser.new_context(base_url=base_url, viewport={"width": width, "height": height},
                                          color_scheme=theme, locale="en-GB")
            page = context.new_page()
            page.set_default_timeout(60_000)

            def save(name: str, page=page, theme=theme) -> None:
                _settle(page)
                path = out / f"{name}-{theme}.png"
                page.screenshot(path=str(path))
                saved.append(path)
                print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", flush=True)

            page.goto("/app/login")
            save("login")
            sign_in(page, demo.username)

            page.goto(f"/app/t/{demo.chat_thread}")
            answer = page.locator(".message.assistant").last
            answer.locator("details.step.tool summary").first.click()
            page.locator("#message-list").evaluate("list => list.lastElementChild.scrollIntoView({block: 'end'})")
            save("chat")
            page.locator(".message.assistant").first.locator(".chip.citation").first.click()
            expect(page.locator("#source-body")).not_to_contain_text("Loading")
            save("citation")
            page.locator("#source-close").click()

            page.goto(f"/app/t/{demo.project_thread}")
            page.locator(".message.assistant details.step.tool summary").first.click()
            page.get_by_role("button", name="Sandbox").click()
            pane = page.get_by_role("complementary", name="Sandbox")
            expect(pane.locator("#sandbox-status")).to_have_text("running")
            pane.get_by_role("tab", name="Preview").click()
            pane.get_by_role("button", name="Open preview").click()
            expect(page.frame_locator("#preview-frame").locator("h1")).to_have_text("Lumen Coffee")
            save("sandbox")

            page.goto(f"/app/agents?agent={demo.agent_id}")
            expect(page.locator("#agent-form").get_by_label("Name")).to_have_value("Barista")
            save("agents")

            page.goto(f"/app/knowledge?kb={demo.kdb_id}")
            expect(page.locator("#kb-documents .document")).to_have_count(2)
            page.locator("#kb-retrieve-form").get_by_label("Question").fill("When are orders shipped?")
            page.locator("#kb-retrieve-form").get_by_role("button", name="Search").click()
            expect(page.locator("#kb-results .result").first).to_be_visible()
            save("knowledge")

            page.goto("/app/tools")
            save("tools")
            page.goto("/app/settings")
            # The credits, the part of the screen the journey ends on.
            expect(page.locator("#credits-balance dd").last).to_have_text(re.compile(r"\d"))
            page.locator("#credits-title").evaluate("node => node.closest('section').scrollIntoView({block: 'start'})")
            save("settings")
            page.goto("/app/studio")
            save("studio")
            context.close()
        browser.close()
    return saved


def optimise(paths: list[Path]) -> None:
    """Fewer bytes for the same pixels: a 256-colour palette where it is invisible (flat UI colours)."""
    from PIL import Image

    for path in paths:
        with Image.open(path) as image:
            quantised = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        quantised.save(path, optimize=True)


def write_index(out: Path, *, width: int, height: int) -> None:
    rows = "\n".join(
        f"| {name} | {description} | ![{name}, light]({name}-light.png) | ![{name}, dark]({name}-dark.png) |"
        for name, description in SCREENS
    )
    (out / "README.md").write_text(
        "# Screens of the web UI\n\n"
        f"Each screen at {width}x{height}, in the light and the dark theme, with a demo user's data seeded\n"
        "through the documented APIs (the offline model answers). Regenerate them all with\n\n"
        "    .venv/bin/python scripts/ui_screenshots.py\n\n"
        "which starts the platform (`scripts/run.sh`) on a fresh database of its own, or takes `--base-url`.\n\n"
        "| screen | what it shows | light | dark |\n|---|---|---|---|\n" + rows + "\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", help="a running platform to seed and photograph, instead of starting one")
    parser.add_argument("--port", type=int, default=0, help="the port for the platform this script starts")
    parser.add_argument("--keep-database", action="store_true",
                        help=f"reuse the {DATABASE} database of an earlier run instead of starting afresh")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "ui")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("mcp").setLevel(logging.WARNING)

    def run(base_url: str, mcp_url: str | None) -> None:
        print(f"seeding the demo user on {base_url}", flush=True)
        demo = seed(base_url, mcp_url=mcp_url)
        print(f"photographing as {demo.username}", flush=True)
        paths = shoot(base_url, demo, args.out, width=args.width, height=args.height)
        optimise(paths)
        write_index(args.out, width=args.width, height=args.height)
        total = sum(path.stat().st_size for path in paths)
        print(f"{len(paths)} screenshots, {total / 1024:.0f} KB in all, listed in {args.out / 'README.md'}")

    if args.base_url:
        run(args.base_url.rstrip("/"), None)
        return 0
    import django

    django.setup()
    with DemoMCPServer() as mcp, running_platform(port=args.port, env={
        "BILLING_ENABLED": "true", "FETCH_ALLOW_LOOPBACK": "1"}, keep_database=args.keep_database) as base_url:
        run(base_url, mcp.url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
