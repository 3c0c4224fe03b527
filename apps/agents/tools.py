"""The workspace tool: an agent saves files into its session's workspace (listed by ``/file_workspace``)."""
from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async

from apps.agents.workspace import workspace_write
from apps.core.errors import Invalid
from apps.tools.registry import ToolContext, ToolFailed, register

MAX_FILE_CHARS = 1_000_000


@register(
    "write_file",
    description="Save a text file in this conversation's workspace, where the user can download it.",
    parameters={
        "type": "object",
        "properties": {
            "path": {"type": "string", "description": "A relative path such as notes/summary.md.", "maxLength": 300},
            "content": {"type": "string", "maxLength": MAX_FILE_CHARS},
        },
        "required": ["path", "content"],
    },
    type="workspace",
)
async def write_file(params: dict[str, Any], context: ToolContext) -> str:
    if not (context.agent_id and context.thread_id):
        raise ToolFailed("Files can only be written by an agent inside a conversation.")
    try:
        path = await sync_to_async(workspace_write)(
            agent_id=context.agent_id, session_id=context.thread_id, file_path=params["path"], content=params["content"]
        )
    except Invalid as exc:
        raise ToolFailed(exc.message) from exc
    return f"Saved {path} ({len(params['content'])} characters) in the workspace."
