"""Running tools, for the agent runtime and for ``POST /api/tools/exec``."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from apps.core.errors import Invalid, NotFound
from apps.tools.registry import ToolContext, ToolFailed, get_tool

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolOutcome:
    tool_name: str
    result: str
    error: bool


async def tool_execute(*, user: Any, tool_name: str, tool_params: Any, context: ToolContext | None = None) -> ToolOutcome:
    """Run a tool. An unknown tool is a 404 and bad parameters a 400; a failing tool is an error outcome."""
    tool = get_tool(tool_name)
    if tool is None:
        raise NotFound(f"Unknown tool: {tool_name}.")
    params = tool.check_params(tool_params)
    try:
        result = await tool.function(params, context or ToolContext(user=user))
    except ToolFailed as exc:
        return ToolOutcome(tool_name=tool_name, result=str(exc), error=True)
    except Exception:
        # A tool bug must not end the run; the model is told the tool failed.
        logger.exception("tool %s failed", tool_name)
        return ToolOutcome(tool_name=tool_name, result=f"The tool {tool_name} failed unexpectedly.", error=True)
    return ToolOutcome(tool_name=tool_name, result=result, error=False)


async def tool_execute_direct(*, user: Any, tool_name: str, tool_params: Any) -> ToolOutcome:
    """``POST /api/tools/exec``: like :func:`tool_execute`, but a failing tool is a 400 for the caller."""
    outcome = await tool_execute(user=user, tool_name=tool_name, tool_params=tool_params)
    if outcome.error:
        raise Invalid(outcome.result, code="tool_failed")
    return outcome
