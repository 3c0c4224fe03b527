"""Sandbox tools for agents: shell, read_file, write_file, list_files, start_session, preview_url.

They join every run's toolset through a provider (:func:`apps.tools.toolset.provider_register`,
called from the app config). Each call is bound to the sandbox of the run's thread: the
thread's project sandbox, made or resumed on first use (ensure-active); a thread without a
project uses the user's own project-less sandbox. Explicitly named tools of another app win
(a run that names the workspace ``write_file`` keeps it).
"""
from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection

from apps.conversations import selectors as conversation_selectors
from apps.core.errors import ServiceError
from apps.sandboxes import selectors, services
from apps.sandboxes.models import Sandbox
from apps.tools.registry import Tool, ToolContext, ToolFailed, ToolResult
from apps.tools.toolset import Provision, ToolsetRequest

MAX_TOOL_OUTPUT = 20_000
PATH = {"type": "string", "description": "A path inside the sandbox's /workspace, such as site/index.html.", "maxLength": 1024}


def _sandbox_for(context: ToolContext) -> Sandbox:
    project = None
    if context.thread_id:
        try:
            project = conversation_selectors.thread_get(user=context.user, thread_id=str(context.thread_id)).project
        except ServiceError:
            project = None
    if project is not None:
        return services.project_sandbox_ensure_active(user=context.user, project=project)[0]
    sandbox = selectors.sandbox_list(user=context.user).filter(project=None, status__in=Sandbox.ALIVE).first()
    if sandbox is not None:
        return services.sandbox_use(sandbox=sandbox)
    return services.sandbox_create(user=context.user, template_id="python")


#: Which sandbox a call works on: ``(context) -> Sandbox`` (database work, run in the call's thread).
SandboxLocator = Callable[[ToolContext], Sandbox]
#: Sends an event into the run's stream from the tool's thread (it returns once the event is queued).
Report = Callable[[str, dict[str, Any]], None]
Work = Callable[[Sandbox, dict[str, Any], Report], str]


def _bound(work: Work, locate: SandboxLocator) -> Callable[[dict[str, Any], ToolContext], Awaitable[ToolResult]]:
    """A tool function running ``work`` on the located sandbox in a thread; service errors go to the model."""

    def call(params: dict[str, Any], context: ToolContext, report: Report) -> str:
        try:
            return work(locate(context), params, report)
        except ServiceError as exc:
            raise ToolFailed(exc.message) from exc
        finally:
            connection.close()  # a thread of asgiref's pool: it keeps no connection between calls

    async def function(params: dict[str, Any], context: ToolContext) -> ToolResult:
        loop = asyncio.get_running_loop()

        def report(type: str, data: dict[str, Any]) -> None:
            # Waited for, so every event is in the stream before the tool's result.
            asyncio.run_coroutine_threadsafe(context.emit(type, data), loop).result(timeout=30)

        # Not thread-sensitive: a long command must not hold the one shared thread (or a runner database thread).
        text = await sync_to_async(call, thread_sensitive=False)(params, context, report)
        return ToolResult(text[:MAX_TOOL_OUTPUT])

    return function


def _shell(sandbox: Sandbox, params: dict[str, Any], report: Report) -> str:
    streamed = 0

    def on_output(stream: str, text: str) -> None:
        # The output as it comes, for the user; the model gets the result. Past MAX_TOOL_OUTPUT only the result has it.
        nonlocal streamed
        if streamed < MAX_TOOL_OUTPUT:
            piece = text[: MAX_TOOL_OUTPUT - streamed]
            streamed += len(piece)
            report("tool_output", {"tool": "shell", "stream": stream, "content": piece})

    result = services.sandbox_exec(sandbox=sandbox, command=params["command"], timeout=params.get("timeout"),
                                   cwd=params.get("cwd", ""), on_output=on_output)
    status = "killed after its timeout" if result.timed_out else f"exit code {result.exit_code}"
    parts = [f"$ {params['command']}", f"({status}, {result.duration:.2f}s)"]
    if result.stdout:
        parts.append(f"stdout:\n{result.stdout}")
    if result.stderr:
        parts.append(f"stderr:\n{result.stderr}")
    return "\n".join(parts)


def _read_file(sandbox: Sandbox, params: dict[str, Any], report: Report) -> str:
    return services.file_read(sandbox=sandbox, path=params["path"], max_bytes=MAX_TOOL_OUTPUT * 4).decode("utf-8", "replace")


def _write_file(sandbox: Sandbox, params: dict[str, Any], report: Report) -> str:
    size = services.file_write(sandbox=sandbox, path=params["path"], data=params["content"].encode())
    return f"Wrote {params['path']} ({size} bytes) in the sandbox."


def _list_files(sandbox: Sandbox, params: dict[str, Any], report: Report) -> str:
    entries = services.file_list(sandbox=sandbox, path=params.get("path", ""), recursive=True)
    lines = [f"{entry.path}{'/' if entry.type == 'directory' else ''}  {entry.size}" for entry in entries[:500]]
    return "\n".join(lines) or "The directory is empty."


def _start_session(sandbox: Sandbox, params: dict[str, Any], report: Report) -> str:
    session = services.session_start(sandbox=sandbox, name=params["name"], command=params["command"], port=params.get("port"))
    return f"Started session {session.name!r}: {session.command}" + (f" (port {session.port})" if session.port else "")


def _preview_url(sandbox: Sandbox, params: dict[str, Any], report: Report) -> str:
    port = services.preview_ensure(sandbox=sandbox, port=params.get("port"))
    return f"Preview of port {port}: {services.preview_path(sandbox=sandbox, port=port)}"


def sandbox_tools(locate: SandboxLocator) -> list[Tool]:
    """The sandbox tools, each call working on the sandbox ``locate`` names (a run's, or one MCP endpoint's)."""
    return [
        Tool(
            name="shell",
            description="Run a shell command in your sandbox (an isolated Linux workspace without network) and see its output.",
            function=_bound(_shell, locate),
            parameters={
                "type": "object",
                "properties": {
                    "command": {"type": "string", "maxLength": 100_000},
                    "timeout": {"type": "number", "minimum": 0.1, "maximum": 600},
                    "cwd": PATH,
                },
                "required": ["command"],
            },
            type="sandbox",
        ),
        Tool(
            name="read_file", description="Read a text file from your sandbox.", function=_bound(_read_file, locate),
            parameters={"type": "object", "properties": {"path": PATH}, "required": ["path"]}, type="sandbox",
        ),
        Tool(
            name="write_file", description="Write a text file in your sandbox (parent directories are created).",
            function=_bound(_write_file, locate),
            parameters={
                "type": "object", "properties": {"path": PATH, "content": {"type": "string", "maxLength": 1_000_000}},
                "required": ["path", "content"],
            },
            type="sandbox",
        ),
        Tool(
            name="list_files", description="List the files of your sandbox (or of one directory in it).", function=_bound(_list_files, locate),
            parameters={"type": "object", "properties": {"path": PATH}}, type="sandbox",
        ),
        Tool(
            name="start_session",
            description="Start a long-running process in your sandbox, such as a dev server on a port (see preview_url).",
            function=_bound(_start_session, locate),
            parameters={
                "type": "object",
                "properties": {
                    "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
                    "command": {"type": "string", "maxLength": 10_000},
                    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                },
                "required": ["name", "command"],
            },
            type="sandbox",
        ),
        Tool(
            name="preview_url",
            description="A link that shows what a server in your sandbox serves (a static file server is started if none runs).",
            function=_bound(_preview_url, locate),
            parameters={"type": "object", "properties": {"port": {"type": "integer", "minimum": 1, "maximum": 65535}}},
            type="sandbox",
        ),
    ]


#: The tools of a run: bound to the run's thread's project sandbox.
SANDBOX_TOOLS = sandbox_tools(_sandbox_for)
TOOL_NAMES = [tool.name for tool in SANDBOX_TOOLS]


def sandbox_tools_available() -> bool:
    return settings.SANDBOX_BACKEND != "bubblewrap" or shutil.which("bwrap") is not None


def provide_sandbox_tools(request: ToolsetRequest) -> Provision:
    """Every sandbox tool for a run on the default tools; otherwise the ones it names."""
    if not sandbox_tools_available():
        return Provision()
    if request.tool_names is None or request.everything:
        return Provision(tools=list(SANDBOX_TOOLS))
    named = set(map(str, request.tool_names))
    return Provision(tools=[tool for tool in SANDBOX_TOOLS if tool.name in named])
