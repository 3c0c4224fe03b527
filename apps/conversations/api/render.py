"""One run event, rendered in each API's stream format (see spec/NOTES.md).

The runner keeps events in one neutral shape ``{seq, type, data, ts}``; only here
do they become 000 ``data:`` frames, 002 NDJSON lines, 003 ``event: <type>``
frames or 004 ``event: message`` frames with ``sequence``, or OpenAI's ``chat.completion.chunk``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.conversations.runner import Outcome
from apps.core.api.styles import OPENAI, ErrorInfo
from apps.core.streaming import ndjson_line, sse_comment, sse_frame

Renderer = Callable[[dict[str, Any]], list[str]]


@dataclass(frozen=True)
class StreamContext:
    """What every frame of one stream repeats: whose thread, which agent, which answer."""

    thread_id: str
    message_id: str
    agent_name: str = ""


# ------------------------------------------------------------------------------
# 000 — data: {"type": status|token|sources|done|error}
# ------------------------------------------------------------------------------
#: Known types 000 has no frame for: token counts stay in the run's record.
_CODEX_HIDDEN = frozenset({"usage"})


def codex(context: StreamContext) -> Renderer:
    def render(event: dict[str, Any]) -> list[str]:
        kind, data = event["type"], event["data"]
        if kind == "status":
            step = data.get("step") or "agent"
            return [sse_frame({"type": "status", "content": data.get("content") or f"Agent routing to {step}..."})]
        if kind == "content":
            return [sse_frame({"type": "token", "content": data.get("content", "")})]
        if kind == "citations":
            return [sse_frame({"type": "sources", "sources": data.get("citations", [])})]
        if kind == "error":
            return [sse_frame({"type": "error", "content": data.get("content", "The agent run failed.")})]
        if kind == "end":
            return [sse_frame({"type": "done"})] if data.get("status") != "failed" else []
        if kind in _CODEX_HIDDEN:
            return []
        # reasoning, tool_call, tool_result and any type added later (progress, artifact, ...): as they are.
        return [sse_frame({"type": kind, **data})]

    return render


def codex_heartbeat() -> str:
    return sse_comment("ping")


# ------------------------------------------------------------------------------
# 002 — NDJSON, one line per event, so ``last_index`` counts events
# ------------------------------------------------------------------------------
_SAGE_TYPES = {
    "status": "status",
    "content": "normal",
    "reasoning": "thinking",
    "tool_call": "tool_call",
    "tool_result": "tool_call_result",
    "citations": "citations",
    "usage": "token_usage",
    "error": "error",
}


def sage(context: StreamContext) -> Renderer:
    def render(event: dict[str, Any]) -> list[str]:
        kind, data = event["type"], event["data"]
        if kind == "end":
            return [
                ndjson_line(
                    {
                        "type": "stream_end",
                        "session_id": context.thread_id,
                        "timestamp": event["ts"],
                        "total_stream_count": event["seq"],
                        "status": data.get("status"),
                    }
                )
            ]
        line: dict[str, Any] = {
            "role": "tool" if kind == "tool_result" else "assistant",
            "content": "",
            "reasoning_content": None,
            "tool_calls": None,
            "message_id": context.message_id,
            "tool_call_id": None,
            "type": _SAGE_TYPES.get(kind, kind),
            "timestamp": event["ts"],
            "agent_name": context.agent_name,
            "metadata": {"index": event["seq"] - 1},
            "session_id": context.thread_id,
        }
        if kind in ("content", "error"):
            line["content"] = data.get("content", "")
        elif kind == "reasoning":
            line["reasoning_content"] = data.get("content", "")
        elif kind == "status":
            line["content"] = data.get("content", "")
            line["metadata"]["step"] = data.get("step")
        elif kind == "tool_call":
            line["tool_calls"] = [
                {"id": data.get("id"), "type": "function",
                 "function": {"name": data.get("tool"), "arguments": data.get("arguments", {})}}
            ]
        elif kind == "tool_result":
            line["tool_call_id"] = data.get("id")
            line["content"] = data.get("result", "")
            line["metadata"]["tool"] = data.get("tool")
            line["metadata"]["error"] = bool(data.get("error"))
        else:
            line["metadata"].update(data)
        return [ndjson_line(line)]

    return render


def sage_heartbeat() -> str:
    # Not an event: clients count only message lines for ``last_index``.
    return ndjson_line({"type": "heartbeat", "timestamp": time.time()})


# ------------------------------------------------------------------------------
# 003 — event: message_chunk | tool_calls | tool_call_result | interrupt | error
# ------------------------------------------------------------------------------
#: Known types 003 has no frame for: its clients read only the documented event names for these.
_ADMIN_HIDDEN = frozenset({"status", "usage"})


def admin(context: StreamContext) -> Renderer:
    def frame(kind: str, **fields: Any) -> str:
        payload = {
            "thread_id": context.thread_id,
            "agent": context.agent_name or "assistant",
            "id": context.message_id,
            "role": "assistant",
            **fields,
        }
        return sse_frame(payload, event=kind)

    def render(event: dict[str, Any]) -> list[str]:
        kind, data = event["type"], event["data"]
        if kind == "content":
            return [frame("message_chunk", content=data.get("content", ""))]
        if kind == "reasoning":
            return [frame("message_chunk", content="", reasoning_content=data.get("content", ""))]
        if kind == "citations":
            # A known type, so clients that only read message_chunk still see the sources.
            return [frame("message_chunk", content="", citations=data.get("citations", []))]
        if kind == "tool_call":
            call = {"id": data.get("id"), "name": data.get("tool"), "args": data.get("arguments", {}), "type": "tool_call"}
            return [frame("tool_calls", content="", tool_calls=[call])]
        if kind == "tool_result":
            return [frame("tool_call_result", role="tool", content=str(data.get("result", "")), tool_call_id=data.get("id"))]
        if kind == "error":
            return [frame("error", content=data.get("content", ""), error=data.get("content", ""))]
        if kind == "end":
            status = data.get("status")
            if status == "completed":
                return [frame("message_chunk", content="", finish_reason="stop")]
            if status == "stopped":
                return [frame("interrupt", content="The run was stopped.", finish_reason="interrupt")]
            return []
        if kind in _ADMIN_HIDDEN:
            return []
        # Any type added later (progress, artifact, ...): an ``event: <type>`` frame of its own.
        return [frame(kind, **data)]

    return render


# ------------------------------------------------------------------------------
# 004 — event: message, data {type, sequence, message_id, ...}, id: sequence
# ------------------------------------------------------------------------------
def platform(context: StreamContext) -> Renderer:
    def render(event: dict[str, Any]) -> list[str]:
        kind, data = event["type"], event["data"]
        base = {"sequence": event["seq"], "message_id": context.message_id, "thread_id": context.thread_id}
        if kind == "end":
            payload = {"type": "status", "status": data.get("status"), **base}
            if data.get("error"):
                payload["error"] = data["error"]
        elif kind == "status":
            payload = {"type": "status", "status": data.get("status", "running"), "step": data.get("step"),
                       "content": data.get("content", ""), **base}
        else:
            payload = {"type": kind, **data, **base}
        return [sse_frame(payload, event="message", id=event["seq"])]

    return render


def platform_heartbeat() -> str:
    return sse_frame({"type": "ping"}, event="message")


# ------------------------------------------------------------------------------
# OpenAI-compatible /v1 — chat.completion.chunk frames, or one chat.completion
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class CompletionContext:
    """What every chunk of one completion repeats."""

    id: str
    model: str
    created: int
    include_usage: bool = False


def _openai_usage(usage: dict[str, Any]) -> dict[str, Any]:
    prompt, completion = int(usage.get("input_tokens", 0)), int(usage.get("output_tokens", 0))
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": int(usage.get("cached_tokens", 0))},
        "completion_tokens_details": {"reasoning_tokens": int(usage.get("reasoning_tokens", 0))},
    }


def _openai_error(message: str) -> dict[str, Any]:
    # The run failed upstream of us (the model, mostly): OpenAI's shape for a server-side failure.
    return OPENAI.error_body(None, ErrorInfo(502, message or "The agent run failed.", "upstream_error"))


def openai_chunks(context: CompletionContext) -> Renderer:
    """``data: {chat.completion.chunk}`` frames: the role first, then content, then finish_reason,
    a usage chunk when asked for, and ``data: [DONE]``. The agent's own tool calls, reasoning and
    status steps are not part of OpenAI's format and are not sent."""
    tally = Outcome()
    started = False

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        body: dict[str, Any] = {
            "id": context.id,
            "object": "chat.completion.chunk",
            "created": context.created,
            "model": context.model,
            "choices": choices,
        }
        if context.include_usage:
            body["usage"] = None  # as OpenAI does: every chunk but the last has usage null
        body.update(extra)
        return sse_frame(body)

    def delta(content: dict[str, Any], finish_reason: str | None = None) -> str:
        return chunk([{"index": 0, "delta": content, "logprobs": None, "finish_reason": finish_reason}])

    def render(event: dict[str, Any]) -> list[str]:
        nonlocal started
        kind, data = event["type"], event["data"]
        frames = []
        if not started and kind not in ("error", "end"):
            started = True
            frames.append(delta({"role": "assistant", "content": ""}))
        if kind == "content":
            frames.append(delta({"content": data.get("content", "")}))
        elif kind == "usage":
            tally.take(kind, data)
        elif kind == "error":
            frames.append(sse_frame(_openai_error(data.get("content", ""))))
        elif kind == "end":
            if data.get("status") != "failed":
                frames.append(delta({}, "stop"))
                if context.include_usage:
                    frames.append(chunk([], usage=_openai_usage(tally.usage)))
            frames.append(sse_frame("[DONE]"))
        return frames

    return render


def openai_completion(context: CompletionContext, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """The HTTP status and ``chat.completion`` body of a finished run (or OpenAI's error body)."""
    outcome = Outcome()
    for event in events:
        outcome.take(event["type"], event["data"])
    if outcome.status == "failed":
        return 502, _openai_error(outcome.error)
    message = {"role": "assistant", "content": "".join(outcome.content), "refusal": None, "annotations": []}
    return 200, {
        "id": context.id,
        "object": "chat.completion",
        "created": context.created,
        "model": context.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": _openai_usage(outcome.usage),
    }
