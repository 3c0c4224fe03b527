"""What the agent runtime yields while it works; the conversations app numbers, keeps and streams them.

Each API renders these its own way (000 status/token/done, 002 NDJSON lines, 003
``event: <type>`` frames, 004 ``event: message`` with ``sequence``); the runtime
never knows which API asked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

EventType = Literal[
    "status",  # a pipeline step starts: {"step": "routing"|"retrieval"|"answering"|..., "content": "Agent routing to ..."}
    "content",  # answer text: {"content": "..."}
    "reasoning",  # reasoning text: {"content": "..."}
    "tool_call",  # {"id": "call_1", "tool": "calculator", "arguments": {...}}
    "tool_result",  # {"id": "call_1", "tool": "calculator", "result": "...", "error": bool}
    "citations",  # {"citations": [{"document_id", "filename", "page", "row", "chunk_id", "score"}, ...]}
    "usage",  # {"model", "input_tokens", "output_tokens", "cached_tokens", "reasoning_tokens"}
    "error",  # {"content": "human-readable reason"}
]


@dataclass(frozen=True)
class AgentEvent:
    type: EventType
    data: dict[str, Any] = field(default_factory=dict)
