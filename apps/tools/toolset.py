"""A run's tools: resolved once per run from providers, then called by name within that run only.

A provider is a function of a :class:`ToolsetRequest` (who runs which agent, with
which tool and skill names) that returns a :class:`Provision`: the tools it offers,
any lines it adds to the system prompt (skills are listed by name and description)
and how to release what it opened (MCP sessions). Built-in and workspace tools,
skills and MCP servers are providers of this app; the agents runtime adds
sub-agents for its run, and other apps add theirs with :func:`provider_register`
(the sandboxes app registers its sandbox tools this way).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core.errors import Invalid
from apps.providers.llm import ToolSpec
from apps.tools.registry import Tool, ToolContext, ToolFailed, ToolResult, check_params

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolsetRequest:
    """What a run asks for; ``None`` lists mean "the defaults" (every built-in tool, the agent's skills)."""

    user: Any
    agent_id: str | None = None
    tool_names: Sequence[str] | None = None
    skill_names: Sequence[str] | None = None
    #: Per-request MCP servers (002 ``extra_mcp_config``, 003 ``mcp_settings``), checked by the MCP provider.
    mcp_servers: dict[str, Any] | None = None
    #: Sub-agents nest; providers that start agents use it to stop the recursion.
    depth: int = 0
    #: A listing (``GET /api/tools``), not a run: every provider offers every tool it could give this user.
    everything: bool = False


@dataclass
class Provision:
    tools: list[Tool] = field(default_factory=list)
    instructions: str = ""
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


Provider = Callable[[ToolsetRequest], Provision]

_providers: dict[str, Provider] = {}


def provider_register(name: str, provider: Provider) -> None:
    """Add a provider to every run's toolset (by name, so registering twice does not double it)."""
    _providers[name] = provider


def provider_unregister(name: str) -> None:
    _providers.pop(name, None)


def registered_providers() -> list[Provider]:
    return list(_providers.values())


class Toolset:
    """The tools one run may call; names are unique (the first provider to offer a name keeps it)."""

    def __init__(self, provisions: Sequence[Provision] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._closers: list[Callable[[], Awaitable[None]]] = []
        notes = []
        for provision in provisions:
            for tool in provision.tools:
                self._tools.setdefault(tool.name, tool)
            if provision.instructions:
                notes.append(provision.instructions)
            self._closers.extend(provision.closers)
        self.instructions = "\n\n".join(notes)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def tools(self) -> list[Tool]:
        return list(self._tools.values())

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def specs(self) -> list[ToolSpec]:
        return [tool.spec() for tool in self._tools.values()]

    async def call(self, name: str, arguments: Any, context: ToolContext) -> ToolResult:
        """Run ``name`` with ``arguments``; every failure is a :class:`ToolResult` with ``error`` set."""
        tool = self._tools.get(name)
        if tool is None:
            return ToolResult(f"The tool {name} is not available to this agent.", error=True)
        try:
            params = check_params(tool.name, tool.parameters, arguments)
        except Invalid as exc:
            return ToolResult(exc.message, error=True)
        return await self.run(tool, params, context)

    async def run(self, tool: Tool, params: dict[str, Any], context: ToolContext) -> ToolResult:
        """Run ``tool`` on checked ``params``."""
        try:
            result = await tool.function(params, context)
        except ToolFailed as exc:
            return ToolResult(str(exc), error=True)
        except Exception:
            # A tool bug must not end the run; the model is told the tool failed.
            logger.exception("tool %s failed", tool.name)
            return ToolResult(f"The tool {tool.name} failed unexpectedly.", error=True)
        return result if isinstance(result, ToolResult) else ToolResult(str(result))

    async def aclose(self) -> None:
        """Release what the providers opened for this run (MCP sessions); never raises."""
        closers, self._closers = self._closers, []
        for close in reversed(closers):
            try:
                await close()
            except Exception:
                logger.warning("closing a toolset resource failed", exc_info=True)
