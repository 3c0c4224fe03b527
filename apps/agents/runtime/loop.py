"""The one agent loop: model call (streaming) → tool calls → tool results → model call → … → answer.

Chat runs, their sub-agents and 001 task steps all run this loop; a task step is
the loop with one step and one action. It yields :class:`~apps.agents.events.AgentEvent`
objects as they happen, records every model call's usage through
:func:`~apps.agents.runtime.usage.record_usage`, and never knows which API asked.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from apps.agents.events import AgentEvent
from apps.agents.runtime.threads import in_db
from apps.agents.runtime.usage import record_usage
from apps.billing.services import INSUFFICIENT, credits_available
from apps.providers.llm import ChatModel, ModelChunk, ProviderError, Source, ToolCall, ToolSpec
from apps.system import tracing
from apps.tools.registry import ToolContext, ToolResult
from apps.tools.toolset import Toolset

#: How often a running stream asks ``should_stop``: often enough to stop promptly, rarely enough to be free.
STOP_CHECK_INTERVAL = 0.1
LAST_STEP_NOTE = "\n\nThe tool budget is used up: answer now from what you have, summarising it."

StopCheck = Callable[[], Awaitable[bool]]


async def _never() -> bool:
    return False


@dataclass(frozen=True)
class RunIds:
    """Who runs, and where usage and tool effects are filed."""

    user: Any
    run_id: str | None = None
    thread_id: str | None = None
    endpoint: str = ""
    agent_id: str | None = None


@dataclass(frozen=True)
class LoopLimits:
    """How far the loop may go.

    ``last_step_answers``: the last step offers no tools, so the model has to answer (chat
    runs). A task step instead offers its tools on its one step and ends after
    ``actions_per_step`` actions; ``control_actions`` are offered to the model but not run:
    a call to one ends the loop and the caller acts on it.
    """

    max_steps: int
    last_step_answers: bool = True
    actions_per_step: int | None = None
    control_actions: Sequence[ToolSpec] = ()


class _Stopped(Exception):
    pass


_DONE = object()
_STOP = object()


async def _watched(stream: AsyncIterator[ModelChunk], should_stop: StopCheck | None) -> AsyncIterator[ModelChunk]:
    """``stream``, asking ``should_stop`` every STOP_CHECK_INTERVAL even while the upstream is silent.

    A watcher task on its own timer rather than a timeout per chunk: per-chunk timers
    pile up in the event loop's heap and cost more CPU than the tokens themselves.
    """
    if should_stop is None:
        async for chunk in stream:
            yield chunk
        return
    queue: asyncio.Queue[Any] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for chunk in stream:
                queue.put_nowait(chunk)
                # Let the consumer relay this chunk now: a burst already buffered in the
                # socket would otherwise be parsed whole before the first token moves on.
                await asyncio.sleep(0)
            queue.put_nowait(_DONE)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put_nowait(exc)

    async def watch() -> None:
        try:
            while True:
                await asyncio.sleep(STOP_CHECK_INTERVAL)
                if await should_stop():
                    queue.put_nowait(_STOP)
                    return
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            queue.put_nowait(exc)

    tasks = [asyncio.create_task(pump()), asyncio.create_task(watch())]
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            if item is _STOP:
                raise _Stopped
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task


def _assistant_with_calls(text: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in calls
        ],
    }


async def _act(
    toolset: Toolset, call: ToolCall, arguments: dict[str, Any], ids: RunIds, should_stop: StopCheck | None
) -> AsyncIterator[AgentEvent | ToolResult]:
    """Run one tool call; yield the events it emits while it works, then its result (last)."""
    emitted: asyncio.Queue[AgentEvent] = asyncio.Queue()

    async def emit(type: str, data: dict[str, Any]) -> None:
        emitted.put_nowait(AgentEvent(type, data))

    context = ToolContext(
        user=ids.user, run_id=ids.run_id, thread_id=ids.thread_id, agent_id=ids.agent_id,
        endpoint=ids.endpoint, emit=emit, should_stop=should_stop or _never,
    )
    work = asyncio.create_task(toolset.call(call.name, arguments, context))
    try:
        while not work.done():
            getter = asyncio.create_task(emitted.get())
            done, _ = await asyncio.wait({work, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                yield getter.result()
            else:
                getter.cancel()
        while not emitted.empty():
            yield emitted.get_nowait()
        yield work.result()
    finally:
        if not work.done():
            work.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await work


async def agent_loop(
    *,
    model: ChatModel,
    toolset: Toolset,
    conversation: list[dict[str, Any]],
    ids: RunIds,
    limits: LoopLimits,
    sources: Sequence[Source] = (),
    should_stop: StopCheck | None = None,
) -> AsyncIterator[AgentEvent]:
    """Loop until the model answers, a limit is reached or the run is asked to stop.

    ``conversation`` starts with the one system message and grows with each step's
    assistant message and tool results.
    """
    controls = {spec.name for spec in limits.control_actions}
    run_span = tracing.start_span("agent.run", run_id=ids.run_id, thread_id=ids.thread_id, agent_id=ids.agent_id,
                                  endpoint=ids.endpoint)
    step_span = None
    try:
        for step in range(limits.max_steps):
            if step > 0 and not await in_db(credits_available, user=ids.user):
                # The balance ran out on the previous model call: stop before the next one, and say why.
                yield AgentEvent("status", {"step": "insufficient_credits", "status": "stopped", "content": INSUFFICIENT})
                return
            tracing.end_span(step_span)
            step_span = tracing.start_span("agent.step", parent=run_span, step=step)
            last = step == limits.max_steps - 1
            offer_tools = not (last and limits.last_step_answers)
            messages = conversation
            if last and step > 0 and limits.last_step_answers:
                # The note joins the system message (many chat templates take only one) and the tool results stay last.
                system = {**conversation[0], "content": conversation[0]["content"] + LAST_STEP_NOTE}
                messages = [system, *conversation[1:]]
            tools = [*toolset.specs(), *limits.control_actions] if offer_tools else []
            text_parts: list[str] = []
            calls: tuple[ToolCall, ...] = ()
            model_span = tracing.start_span("agent.model_call", parent=step_span, model=model.model_name)
            try:
                async for chunk in _watched(model.stream(messages, tools=tools, sources=sources), should_stop):
                    if chunk.kind == "content":
                        text_parts.append(chunk.text)
                        yield AgentEvent("content", {"content": chunk.text})
                    elif chunk.kind == "reasoning":
                        yield AgentEvent("reasoning", {"content": chunk.text})
                    elif chunk.kind == "tool_calls":
                        calls = chunk.tool_calls
                    elif chunk.kind == "usage" and chunk.usage is not None:
                        tracing.record_tokens(model_span, chunk.usage)
                        yield await record_usage(
                            user=ids.user, model=model, usage=chunk.usage, run_id=ids.run_id,
                            session_id=ids.thread_id, endpoint=ids.endpoint,
                        )
            except ProviderError as exc:
                tracing.mark_error(model_span, exc.message)
                yield AgentEvent("error", {"content": exc.message})
                return
            finally:
                tracing.end_span(model_span)
            if not calls:
                return
            if not offer_tools:
                yield AgentEvent(
                    "status",
                    {"step": "max_loop", "content": f"Stopped after {limits.max_steps} steps (the loop limit)."},
                )
                return
            if limits.actions_per_step:
                # Further calls of the same reply are not run, and the conversation never shows them.
                calls = calls[: limits.actions_per_step]
            conversation.append(_assistant_with_calls("".join(text_parts), calls))
            for call in calls:
                arguments = call.parsed_arguments()
                yield AgentEvent("tool_call", {"id": call.id, "tool": call.name, "arguments": arguments})
                if call.name in controls:
                    return
                result = ToolResult("The tool returned nothing.", error=True)
                tool_span = tracing.start_span("agent.tool_call", parent=step_span, tool=call.name)
                try:
                    async for item in _act(toolset, call, arguments, ids, should_stop):
                        if isinstance(item, ToolResult):
                            result = item
                        else:
                            yield item
                finally:
                    tool_span.set_attribute("tool.error", result.error)
                    tracing.end_span(tool_span)
                data: dict[str, Any] = {"id": call.id, "tool": call.name, "result": result.text, "error": result.error}
                if result.artifacts:
                    data["artifacts"] = result.artifacts
                yield AgentEvent("tool_result", data)
                conversation.append({"role": "tool", "tool_call_id": call.id, "content": result.text})
            if should_stop is not None and await should_stop():
                return
    except _Stopped:
        return
    finally:
        tracing.end_span(step_span)
        tracing.end_span(run_span)
