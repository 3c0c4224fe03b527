"""A chat run from start to end: plan, retrieve, then the loop; and sub-agents, which are runs within a run."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apps.agents.events import AgentEvent
from apps.agents.runtime import retrieval
from apps.agents.runtime.loop import LoopLimits, RunIds, StopCheck, agent_loop
from apps.agents.runtime.options import RunOptions
from apps.agents.runtime.plan import RunPlan, plan_run
from apps.agents.runtime.threads import in_db
from apps.agents.runtime.toolset import SubAgent
from apps.core.errors import ServiceError
from apps.providers.llm import Source, message_text
from apps.tools.registry import ToolContext, ToolResult

if TYPE_CHECKING:
    from apps.agents.models import Agent

MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")


def _clean(message: dict[str, Any], *, multimodal: bool) -> dict[str, Any]:
    """The OpenAI fields of a history message; image parts become a note for a text-only model."""
    cleaned = {key: message[key] for key in MESSAGE_KEYS if message.get(key) is not None}
    content = cleaned.get("content")
    if not multimodal and isinstance(content, list):
        images = sum(1 for part in content if isinstance(part, dict) and part.get("type") != "text")
        note = f" [{images} attachment(s) omitted: this model reads text only]" if images else ""
        cleaned["content"] = message_text(cleaned) + note
    return cleaned


async def run_sub_agent(sub: SubAgent, task: str, context: ToolContext, depth: int) -> ToolResult:
    """Run a sub-agent's loop to its answer (not streamed) and hand that answer back as a tool result.

    Its model calls are the run's cost too: their usage events go into the run's stream.
    """
    if not task.strip():
        return ToolResult("The sub-agent needs a task.", error=True)
    plan = await in_db(
        plan_run, user=context.user, agent=sub.agent, options=sub.options, run_sub_agent=run_sub_agent, depth=depth
    )
    ids = RunIds(
        user=context.user, run_id=context.run_id, thread_id=context.thread_id,
        endpoint=context.endpoint, agent_id=plan.agent_id,
    )
    conversation = [{"role": "system", "content": plan.system_prompt}, {"role": "user", "content": task}]
    answer: list[str] = []
    try:
        async for event in agent_loop(
            model=plan.model, toolset=plan.toolset, conversation=conversation, ids=ids,
            limits=LoopLimits(max_steps=plan.max_loop_count), should_stop=context.should_stop,
        ):
            if event.type == "content":
                answer.append(event.data["content"])
            elif event.type == "usage":
                await context.emit(event.type, event.data)
            elif event.type == "error":
                return ToolResult(f"The agent {sub.name} failed: {event.data['content']}", error=True)
    finally:
        await plan.toolset.aclose()
    return ToolResult("".join(answer).strip() or f"The agent {sub.name} gave no answer.")


def _question(messages: list[dict[str, Any]]) -> str:
    return next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "").strip()


@dataclass
class PreparedRun:
    """A run's plan and retrieved passages, read ahead in one go (see :func:`prepare_run`)."""

    plan: RunPlan | None
    chunks: list[Any] | None
    error: str = ""


def prepare_run(
    *, user: Any, agent: Agent | None, messages: list[dict[str, Any]], options: RunOptions, thread_id: str | None
) -> PreparedRun:
    """The database reads a run needs before its first model call, all at once (synchronous).

    A worker calls it in one trip to a database thread, shared by the runs claimed together
    (``services._runs_prepare``): with hundreds of runs on one loop, every separate trip queues
    behind every other run's database work, and that queueing was most of the time to the
    first token of fifty runs started together.
    """
    try:
        plan = plan_run(user=user, agent=agent, options=options, run_sub_agent=run_sub_agent)
    except ServiceError as exc:
        return PreparedRun(plan=None, chunks=None, error=exc.message)
    question = _question(messages)
    chunks = None
    if question:
        chunks = retrieval.search(
            user=user, query=question, knowledge_base_ids=plan.knowledge_base_ids,
            thread_id=str(thread_id) if thread_id else None,
        )
    return PreparedRun(plan=plan, chunks=chunks)


async def agent_run_stream(
    *,
    user: Any,
    agent: Agent | None,
    messages: list[dict[str, Any]],
    options: RunOptions | None = None,
    should_stop: StopCheck | None = None,
    run_id: str | None = None,
    thread_id: str | None = None,
    endpoint: str = "",
    prepared: PreparedRun | None = None,
) -> AsyncIterator[AgentEvent]:
    """Run ``agent`` (or the default agent) on ``messages`` and yield its events as they happen.

    ``prepared``: the plan and passages :func:`prepare_run` read for these arguments, if the
    caller read them ahead; otherwise they are read here.
    """
    options = options or RunOptions()
    if prepared is not None:
        if prepared.plan is None:
            yield AgentEvent("error", {"content": prepared.error})
            return
        plan = prepared.plan
    else:
        try:
            plan = await in_db(plan_run, user=user, agent=agent, options=options, run_sub_agent=run_sub_agent)
        except ServiceError as exc:
            yield AgentEvent("error", {"content": exc.message})
            return
    try:
        # Callers may hand over model ids (UUIDs); everything downstream takes strings.
        ids = RunIds(
            user=user, run_id=str(run_id) if run_id else None, thread_id=str(thread_id) if thread_id else None,
            endpoint=endpoint or "", agent_id=plan.agent_id,
        )
        yield AgentEvent("status", {"step": "routing", "content": f"Agent routing to {plan.name}..."})

        question = _question(messages)
        sources: list[Source] = []
        chunks = None
        if question:
            yield AgentEvent("status", {"step": "retrieval", "content": "Agent routing to knowledge retrieval..."})
            if prepared is not None:
                chunks = prepared.chunks
            else:
                chunks = await in_db(
                    retrieval.search, user=user, query=question, knowledge_base_ids=plan.knowledge_base_ids,
                    thread_id=ids.thread_id,
                )
        if chunks:
            sources = retrieval.sources_of(chunks)
            yield AgentEvent("citations", {"citations": [retrieval.citation(chunk) for chunk in chunks]})

        yield AgentEvent("status", {"step": "answering", "content": "Agent routing to answer generation..."})
        # One system message: many chat templates accept a system message only first. The caller's
        # own system messages (an OpenAI client's, say) join the agent's prompt, after it.
        history = [m for m in messages if isinstance(m, dict)]
        instructions = "".join(
            f"\n\n{text}" for m in history if m.get("role") == "system" and (text := message_text(m))
        )
        system = plan.system_prompt + instructions + (retrieval.sources_text(sources) if sources else "")
        conversation = [{"role": "system", "content": system}]
        conversation.extend(_clean(m, multimodal=plan.multimodal) for m in history if m.get("role") != "system")
        async for event in agent_loop(
            model=plan.model, toolset=plan.toolset, conversation=conversation, ids=ids,
            limits=LoopLimits(max_steps=plan.max_loop_count), sources=sources, should_stop=should_stop,
        ):
            yield event
    finally:
        await plan.toolset.aclose()
