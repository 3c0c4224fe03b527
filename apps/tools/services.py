"""Running one tool directly, for ``POST /api/tools/exec`` (runs call theirs through their toolset)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async

from apps.core.errors import Invalid, NotFound
from apps.tools.registry import ToolContext, check_params
from apps.tools.selectors import toolset_resolve
from apps.tools.toolset import ToolsetRequest


@dataclass(frozen=True)
class ToolOutcome:
    tool_name: str
    result: str
    error: bool


async def tool_execute_direct(*, user: Any, tool_name: str, tool_params: Any) -> ToolOutcome:
    """Run a tool of the user's: unknown is a 404, bad parameters and a failing tool a 400."""
    toolset = await sync_to_async(toolset_resolve)(request=ToolsetRequest(user=user, tool_names=[tool_name]))
    try:
        tool = toolset.get(tool_name)
        if tool is None:
            raise NotFound(f"Unknown tool: {tool_name}.")
        params = check_params(tool.name, tool.parameters, tool_params)
        result = await toolset.run(tool, params, ToolContext(user=user))
    finally:
        await toolset.aclose()
    if result.error:
        raise Invalid(result.text, code="tool_failed")
    return ToolOutcome(tool_name=tool_name, result=result.text, error=False)
