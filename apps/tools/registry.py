"""The tool registry: every tool an agent can call, with its JSON-schema parameters.

Built-in tools register themselves in :mod:`apps.tools.builtin` (imported by the
app config); the tools issue adds skills and MCP-backed tools the same way.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from apps.core.errors import Invalid
from apps.providers.llm import ToolSpec


@dataclass(frozen=True)
class ToolContext:
    """Who is calling, so a tool can scope what it touches."""

    user: Any
    run_id: str | None = None
    thread_id: str | None = None
    agent_id: str | None = None


ToolFunction = Callable[[dict[str, Any], ToolContext], Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    function: ToolFunction
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})
    type: str = "builtin"

    def spec(self) -> ToolSpec:
        return ToolSpec(name=self.name, description=self.description, parameters=self.parameters)

    def check_params(self, params: Any) -> dict[str, Any]:
        """``params`` validated against the schema; the first problem is a 400."""
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise Invalid("tool_params must be an object.", field_errors={"tool_params": ["Must be an object."]})
        try:
            jsonschema.validate(params, self.parameters)
        except jsonschema.ValidationError as exc:
            where = ".".join(str(part) for part in exc.absolute_path) or "tool_params"
            raise Invalid(f"Invalid parameters for {self.name}: {exc.message}", field_errors={where: [exc.message]}) from exc
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
