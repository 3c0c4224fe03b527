"""Which tools a user can see, and the toolset of one run."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from apps.tools.registry import Tool, all_tools, get_tool
from apps.tools.toolset import Provider, Provision, Toolset, ToolsetRequest, registered_providers


def tool_list(*, user: Any, type: str | None = None) -> list[Tool]:
    """Every tool the user's runs can be given: the catalog, and their MCP servers' tools and skills (no network)."""
    toolset = toolset_resolve(request=ToolsetRequest(user=user, everything=True))
    return [tool for tool in toolset.tools if type in (None, "", tool.type)]


def default_tool_names() -> list[str]:
    """The tools of a run that names none: every built-in tool."""
    return [tool.name for tool in all_tools("builtin")]


def catalog_provision(request: ToolsetRequest) -> Provision:
    """The code-defined tools (built-in, workspace) the request names, or every built-in one."""
    if request.everything:
        return Provision(tools=list(all_tools()))
    names = default_tool_names() if request.tool_names is None else request.tool_names
    tools = [tool for name in dict.fromkeys(names) if (tool := get_tool(str(name)))]
    return Provision(tools=tools)


def toolset_resolve(*, request: ToolsetRequest, extra_providers: Sequence[Provider] = ()) -> Toolset:
    """The run's toolset, from the catalog, every registered provider and the caller's own (database reads)."""
    providers: list[Provider] = [catalog_provision, *registered_providers(), *extra_providers]
    return Toolset([provider(request) for provider in providers])
