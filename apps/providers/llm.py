"""The model contract shared by every OpenAI-compatible endpoint and the built-in offline model.

A model streams :class:`ModelChunk` objects: answer text as it arrives, reasoning
text, the finished tool calls of the turn (deltas already accumulated) and the
token usage of the call. Failures raise :class:`ProviderError` with a message a
user can act on.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from uuid import UUID


class ProviderError(Exception):
    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to call one model; built from an LLMProvider row or the environment."""

    base_url: str
    api_key: str
    model: str
    provider_id: UUID | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    presence_penalty: float | None = None
    supports_multimodal: bool = False
    allow_private_network: bool = False


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it

    def parsed_arguments(self) -> dict[str, Any]:
        """The arguments as a dict; a model that wrote broken JSON gets an empty dict."""
        try:
            value = json.loads(self.arguments or "{}")
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Source:
    """A numbered retrieved passage the model may cite as ``[n]``."""

    number: int
    title: str
    content: str


@dataclass(frozen=True)
class ModelChunk:
    kind: Literal["content", "reasoning", "tool_calls", "usage"]
    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage | None = None


@dataclass(frozen=True)
class ToolSpec:
    """A tool as offered to a model (OpenAI ``tools`` entry)."""

    name: str
    description: str
    parameters: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def as_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }


class ChatModel(Protocol):
    model_name: str
    provider_id: UUID | None

    def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: Sequence[ToolSpec] = (),
        sources: Sequence[Source] = (),
    ) -> AsyncIterator[ModelChunk]: ...

    async def complete(self, messages: list[dict[str, Any]], *, max_tokens: int | None = None) -> str: ...


def estimate_tokens(text: str) -> int:
    """About four characters a token: used only when an endpoint reports no usage."""
    return max(1, len(text) // 4) if text else 0


def message_text(message: dict[str, Any]) -> str:
    """The text of a message whose content is a string or a list of multimodal parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""
