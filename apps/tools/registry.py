"""The catalog of code-defined tools (built-in and workspace), with their JSON-schema parameters.

Built-in tools register themselves in :mod:`apps.tools.builtin` (imported by the
app config). A run never looks tools up here by name: it gets a per-run
:class:`~apps.tools.toolset.Toolset` whose providers (this catalog, skills, MCP
servers, sub-agents, sandboxes) are resolved once for that user and agent.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from apps.core.errors import Invalid
from apps.providers.llm import ToolSpec


async def _never_stop() -> bool:
    return False


async def _drop_event(type: str, data: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class ToolContext:
    """Who is calling, so a tool can scope what it touches; how it reports progress; whether to stop.

    ``emit(type, data)`` sends an event (``progress``, ``artifact`` or any new type) into the
    run's stream while the tool works; ``should_stop()`` says the user asked the run to stop.
    """

    user: Any
    run_id: str | None = None
    thread_id: str | None = None
    agent_id: str | None = None
    endpoint: str = ""
    emit: Callable[[str, dict[str, Any]], Awaitable[None]] = _drop_event
    should_stop: Callable[[], Awaitable[bool]] = _never_stop


@dataclass(frozen=True)
class ToolResult:
    """What a tool hands back: text for the model, artifacts for the user, and whether it failed."""

    text: str
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    error: bool = False


ToolFunction = Callable[[dict[str, Any], ToolContext], Awaitable[str | ToolResult]]


@dataclass(frozen=True)
class Tool:
    """A tool: its schema for the model and the function that runs it (catalog tools and per-run ones alike)."""

    name: str
    description: str
    function: ToolFunction
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    type: str = "builtin"

    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    def check_params(self, params: Any) -> dict[str, Any]:
        return check_params(self.name, self.parameters, params)


def check_params(name: str, schema: dict[str, Any], params: Any) -> dict[str, Any]:
    """``params`` validated against ``schema``; the first problem is a 400."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise Invalid("tool_params must be an object.", field_errors={"tool_params": ["Must be an object."]})
    try:
        jsonschema.validate(params, schema)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(part) for part in exc.absolute_path) or "tool_params"
        raise Invalid(f"Invalid parameters for {name}: {exc.message}", field_errors={where: [exc.message]}) from exc
    except jsonschema.SchemaError:
        # A remote (MCP) tool may publish a schema jsonschema cannot read: the server checks its own input.
        return params
    return params


class ToolFailed(Exception):
    """A tool could not do its job; the message goes back to the model and the user."""


_tools: dict[str, Tool] = {}


def register(
    name: str, *, description: str, parameters: dict[str, Any] | None = None, type: str = "builtin"
) -> Callable[[ToolFunction], ToolFunction]:
    def decorate(function: ToolFunction) -> ToolFunction:
        _tools[name] = Tool(
            name=name,
            description=description,
            function=function,
            parameters=parameters or {"type": "object", "properties": {}},
            type=type,
        )
        return function

    return decorate


def get_tool(name: str) -> Tool | None:
    return _tools.get(name)


def all_tools(type: str | None = None) -> list[Tool]:
    return [tool for tool in _tools.values() if type in (None, "", tool.type)]
