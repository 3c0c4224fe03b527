"""The agent runtime: messages → model (streaming) → tool calls → tool results → … → answer.

:func:`agent_run_stream` is the one entry point. The conversations app calls it
in a worker, numbers and keeps the :class:`~apps.agents.events.AgentEvent` objects
it yields, and streams them in each API's format. The runtime never knows which
API asked, and writes to the database once per model call (usage), never per token.
"""
from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Executor
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from asgiref.sync import sync_to_async
from django.utils import timezone

from apps.agents.events import AgentEvent
from apps.agents.models import MAX_LOOP_LIMIT
from apps.billing.services import INSUFFICIENT, credits_available
from apps.core.errors import ServiceError
from apps.providers.llm import ChatModel, ModelChunk, ProviderError, Source, ToolCall, ToolSpec, message_text
from apps.providers.selectors import chat_model, model_config_for
from apps.providers.services import usage_record_add
from apps.tools.registry import ToolContext, all_tools, get_tool
from apps.tools.services import tool_execute

if TYPE_CHECKING:
    from apps.agents.models import Agent

logger = logging.getLogger(__name__)

DEFAULT_AGENT_NAME = "CodexEngine"
DEFAULT_MAX_LOOP_COUNT = 10
#: How often a running stream asks ``should_stop``: often enough to stop promptly, rarely enough to be free.
STOP_CHECK_INTERVAL = 0.1
MAX_SUB_AGENT_DEPTH = 2
SUB_AGENT_PREFIX = "agent_"
MESSAGE_KEYS = ("role", "content", "tool_calls", "tool_call_id", "name")
LAST_STEP_NOTE = "\n\nThe tool budget is used up: answer now from what you have, summarising it."

DEFAULT_SYSTEM_PROMPTS = {
    "en": (
        "You are {name}, a helpful, careful assistant. Answer clearly and concisely. "
        "Use the tools you are given when they help, and say so when you are not sure. "
        "When sources are provided, ground your answer in them and cite them as [n]."
    ),
    "zh": (
        "你是 {name}，一个认真、乐于助人的助手。请清晰、简洁地回答。"
        "在有帮助时使用提供的工具；不确定时请直说。提供了资料时，请依据资料作答并以 [n] 标注引用。"
    ),
}


#: Where the runtime's database work runs. Unset, asgiref's thread-sensitive thread (requests, tests);
#: the worker sets its pool of database threads, so hundreds of runs on one event loop do not
#: queue behind a single thread for their plan and retrieval.
db_executor: ContextVar[Executor | None] = ContextVar("runtime_db_executor", default=None)


async def _in_db(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    executor = db_executor.get()
    if executor is None:
        return await sync_to_async(fn)(*args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(executor, functools.partial(fn, *args, **kwargs))


def default_system_prompt(language: str = "en", *, name: str = DEFAULT_AGENT_NAME) -> str:
    key = (language or "en").lower().split("-")[0].split("_")[0]
    return DEFAULT_SYSTEM_PROMPTS.get(key, DEFAULT_SYSTEM_PROMPTS["en"]).format(name=name)


def _strings(value: Any) -> list[str] | None:
    if not isinstance(value, list):
        return None
    return [str(item) for item in value if isinstance(item, (str, int)) and str(item)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class ModelOverrides:
    """002's ``llm_model_config``: which provider and model, and sampling settings."""

    provider_id: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    @classmethod
    def from_request(cls, raw: Any) -> ModelOverrides | None:
        if not isinstance(raw, dict):
            return None
        temperature = raw.get("temperature")
        max_tokens = raw.get("max_tokens")
        return cls(
            provider_id=_text(raw.get("provider_id") or raw.get("llm_provider_id") or raw.get("provider")),
            model=_text(raw.get("model")),
            temperature=float(temperature) if isinstance(temperature, (int, float)) and 0 <= temperature <= 2 else None,
            max_tokens=int(max_tokens) if isinstance(max_tokens, int) and max_tokens > 0 else None,
        )


@dataclass(frozen=True)
class RunOverrides:
    """Per-request overrides of the saved agent config (002 StreamRequest, 003 chat request)."""

    system_prefix: str | None = None
    available_tools: list[str] | None = None
    available_knowledge_bases: list[str] | None = None
    available_sub_agent_ids: list[str] | None = None
    max_loop_count: int | None = None
    deep_thinking: bool | None = None
    llm_model_config: ModelOverrides | None = None
    agent_name: str | None = None
    force_summary: bool = False
    custom_sub_agents: list[dict[str, Any]] = field(default_factory=list)
    system_context: dict[str, Any] | None = None
    locale: str | None = None

    @classmethod
    def from_request(cls, body: Any) -> RunOverrides:
        """Build from a 002 or 003 request body; unknown or ill-typed fields are ignored."""
        if not isinstance(body, dict):
            return cls()
        tools = _strings(body.get("available_tools"))
        if body.get("enable_web_search") is True:
            tools = [*(tools if tools is not None else [tool.name for tool in all_tools("builtin")]), "http_fetch"]
        knowledge = _strings(body.get("available_knowledge_bases"))
        resources = body.get("resources")
        if isinstance(resources, list):
            # 003 resources name knowledge bases by id (or ``uri``).
            ids = [str(r.get("id") or r.get("uri") or "") if isinstance(r, dict) else str(r) for r in resources]
            knowledge = [*(knowledge or []), *(value for value in ids if value)]
        loops = body.get("max_loop_count")
        deep = body.get("deep_thinking", body.get("enable_deep_thinking"))
        custom = body.get("custom_sub_agents")
        context = body.get("system_context")
        return cls(
            system_prefix=_text(body.get("system_prefix")),
            available_tools=list(dict.fromkeys(tools)) if tools is not None else None,
            available_knowledge_bases=knowledge,
            available_sub_agent_ids=_strings(body.get("available_sub_agent_ids")),
            max_loop_count=max(1, min(loops, MAX_LOOP_LIMIT)) if isinstance(loops, int) and not isinstance(loops, bool) else None,
            deep_thinking=deep if isinstance(deep, bool) else None,
            llm_model_config=ModelOverrides.from_request(body.get("llm_model_config")),
            agent_name=_text(body.get("agent_name")),
            force_summary=body.get("force_summary") is True,
            custom_sub_agents=[item for item in custom if isinstance(item, dict)] if isinstance(custom, list) else [],
            system_context=context if isinstance(context, dict) and context else None,
            locale=_text(body.get("locale")),
        )


@dataclass
class SubAgent:
    tool_name: str
    name: str
    description: str
    agent: Agent | None = None
    config: dict[str, Any] | None = None


@dataclass
class RunPlan:
    """Everything a run needs, resolved once from the agent, the overrides and the user."""

    name: str
    system_prompt: str
    model: ChatModel
    tools: list[ToolSpec]
    sub_agents: dict[str, SubAgent]
    knowledge_base_ids: list[str]
    max_loop_count: int
    multimodal: bool = True
    agent_id: str | None = None


def _plan(user: Any, agent: Agent | None, overrides: RunOverrides, *, depth: int = 0) -> RunPlan:
    """Resolve the run's configuration (database reads: called in a thread)."""
    from apps.agents.selectors import agents_by_ids

    name = overrides.agent_name or (agent.name if agent else DEFAULT_AGENT_NAME)
    prompt = overrides.system_prefix or (agent.system_prefix if agent else "") or default_system_prompt(
        overrides.locale or "en", name=name
    )
    context = overrides.system_context or (agent.system_context if agent else None)
    if context:
        prompt += "\n\nContext:\n" + json.dumps(context, ensure_ascii=False, indent=1)
    if overrides.locale:
        prompt += f"\n\nAnswer in the user's locale ({overrides.locale})."
    prompt += f"\n\nCurrent date: {timezone.now():%Y-%m-%d}."

    if overrides.available_tools is not None:
        tool_names = overrides.available_tools
    elif agent is not None:
        tool_names = agent.available_tools or []
    else:
        tool_names = [tool.name for tool in all_tools("builtin")]
    tools = [tool.spec() for name_ in dict.fromkeys(tool_names) if (tool := get_tool(str(name_)))]

    sub_agents: dict[str, SubAgent] = {}
    if depth < MAX_SUB_AGENT_DEPTH:
        ids = overrides.available_sub_agent_ids
        if ids is None:
            ids = agent.available_sub_agent_ids if agent else []
        for sub in agents_by_ids(user=user, agent_ids=ids or []):
            if agent is None or sub.pk != agent.pk:
                tool_name = f"{SUB_AGENT_PREFIX}{sub.pk}"
                sub_agents[tool_name] = SubAgent(tool_name, sub.name, sub.description, agent=sub)
        for index, config in enumerate(overrides.custom_sub_agents, start=1):
            tool_name = f"{SUB_AGENT_PREFIX}custom_{index}"
            sub_name = str(config.get("name") or f"sub-agent {index}")
            description = str(config.get("description") or "")
            sub_agents[tool_name] = SubAgent(tool_name, sub_name, description, config=config)
    for sub in sub_agents.values():
        tools.append(
            ToolSpec(
                name=sub.tool_name,
                description=f"Delegate a task to the agent '{sub.name}'. {sub.description}".strip(),
                parameters={
                    "type": "object",
                    "properties": {"task": {"type": "string", "description": "What the agent should do."}},
                    "required": ["task"],
                },
            )
        )

    model_overrides = overrides.llm_model_config or ModelOverrides()
    config = model_config_for(
        user=user,
        provider_id=model_overrides.provider_id,
        agent_provider=agent.llm_provider if agent else None,
        model=model_overrides.model,
    )
    if config is not None and (model_overrides.temperature is not None or model_overrides.max_tokens):
        config = replace(
            config,
            temperature=model_overrides.temperature if model_overrides.temperature is not None else config.temperature,
            max_tokens=model_overrides.max_tokens or config.max_tokens,
        )
    knowledge = overrides.available_knowledge_bases
    if knowledge is None:
        knowledge = agent.available_knowledge_bases if agent else []
    loops = overrides.max_loop_count or (agent.max_loop_count if agent else DEFAULT_MAX_LOOP_COUNT)
    deep = overrides.deep_thinking if overrides.deep_thinking is not None else bool(agent and agent.deep_thinking)
    if overrides.force_summary:
        prompt += "\n\nEnd your final answer with a short summary headed 'Summary:'."
    if deep:
        # Works with any model: not every OpenAI-compatible server takes a reasoning-effort knob.
        prompt += "\n\nThink the problem through step by step before you give your final answer."
    return RunPlan(
        name=name,
        system_prompt=prompt,
        model=chat_model(config),
        tools=tools,
        sub_agents=sub_agents,
        knowledge_base_ids=list(knowledge or []),
        max_loop_count=max(1, min(loops, MAX_LOOP_LIMIT)),
        # A provider row says whether it takes images; the environment's model is the operator's choice.
        multimodal=config is None or config.supports_multimodal or config.provider_id is None,
        agent_id=str(agent.pk) if agent else None,
    )


def _custom_overrides(config: dict[str, Any]) -> RunOverrides:
    """An inline sub-agent config (AgentConfigDTO or StreamRequest spelling) as overrides."""
    return RunOverrides.from_request(
        {
            "agent_name": config.get("name"),
            "system_prefix": config.get("systemPrefix") or config.get("system_prefix"),
            "available_tools": config.get("availableTools", config.get("available_tools", [])),
            "available_knowledge_bases": config.get("availableKnowledgeBases", config.get("available_knowledge_bases")),
            "max_loop_count": config.get("maxLoopCount") or config.get("max_loop_count"),
            "available_sub_agent_ids": [],
        }
    )


# ------------------------------------------------------------------------------
# Retrieval
# ------------------------------------------------------------------------------
def _retrieval_available() -> bool:
    try:
        from apps.knowledge.selectors import knowledge_search  # noqa: F401
    except ImportError:
        return False
    return True


def _search(user: Any, query: str, knowledge_base_ids: Sequence[str], thread_id: str | None) -> list[Any]:
    """Chunks from the knowledge app (imported late: it may be absent, and it depends on nothing here)."""
    from apps.knowledge.selectors import knowledge_search

    try:
        return knowledge_search(
            user=user, query=query, knowledge_base_ids=knowledge_base_ids, thread_id=thread_id,
            include_default_library=True, top_k=5,
        )
    except ServiceError as exc:
        logger.info("retrieval skipped: %s", exc.message)
        return []


def _sources(chunks: Sequence[Any]) -> list[Source]:
    sources = []
    for number, chunk in enumerate(chunks, start=1):
        where = f", page {chunk.page}" if getattr(chunk, "page", None) else ""
        where += f", row {chunk.row}" if getattr(chunk, "row", None) is not None else ""
        title = f"{getattr(chunk, 'title', '') or chunk.filename}{where}"
        sources.append(Source(number=number, title=title, content=chunk.content))
    return sources


def _sources_text(sources: Sequence[Source]) -> str:
    body = "\n\n".join(f"[{source.number}] {source.title}\n{source.content}" for source in sources)
    return "\n\nSources from the user's documents. Ground your answer in them and cite them as [n].\n\n" + body


def _citation(chunk: Any) -> dict[str, Any]:
    return {
        "document_id": str(chunk.document_id),
        "filename": chunk.filename,
        "page": chunk.page,
        "row": chunk.row,
        "chunk_id": str(chunk.chunk_id),
        "score": float(chunk.score),
    }


# ------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------
class _Stopped(Exception):
    pass


_DONE = object()
_STOP = object()


async def _watched(
    stream: AsyncIterator[ModelChunk], should_stop: Callable[[], Awaitable[bool]] | None
) -> AsyncIterator[ModelChunk]:
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


def _clean(message: dict[str, Any], *, multimodal: bool) -> dict[str, Any]:
    """The OpenAI fields of a history message; image parts become a note for a text-only model."""
    cleaned = {key: message[key] for key in MESSAGE_KEYS if message.get(key) is not None}
    content = cleaned.get("content")
    if not multimodal and isinstance(content, list):
        images = sum(1 for part in content if isinstance(part, dict) and part.get("type") != "text")
        note = f" [{images} attachment(s) omitted: this model reads text only]" if images else ""
        cleaned["content"] = message_text(cleaned) + note
    return cleaned


def _assistant_with_calls(text: str, calls: Sequence[ToolCall]) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
            for call in calls
        ],
    }


@dataclass
class _RunIds:
    user: Any
    run_id: str | None
    thread_id: str | None
    endpoint: str


async def _loop(
    plan: RunPlan,
    conversation: list[dict[str, Any]],
    ids: _RunIds,
    *,
    sources: Sequence[Source] = (),
    should_stop: Callable[[], Awaitable[bool]] | None = None,
    depth: int = 0,
) -> AsyncIterator[AgentEvent]:
    for step in range(plan.max_loop_count):
        if step > 0 and not await _in_db(credits_available, user=ids.user):
            # The balance ran out on the previous model call: stop before the next one, and say why.
            yield AgentEvent("status", {"step": "insufficient_credits", "status": "stopped", "content": INSUFFICIENT})
            return
        last = step == plan.max_loop_count - 1
        messages = conversation
        if last and step > 0:
            # The last allowed step offers no tools, so the model has to answer. The note joins the
            # system message (many chat templates take only one) and the tool results stay last.
            system = {**conversation[0], "content": conversation[0]["content"] + LAST_STEP_NOTE}
            messages = [system, *conversation[1:]]
        text_parts: list[str] = []
        calls: tuple[ToolCall, ...] = ()
        try:
            stream = plan.model.stream(messages, tools=() if last else plan.tools, sources=sources)
            async for chunk in _watched(stream, should_stop):
                if chunk.kind == "content":
                    text_parts.append(chunk.text)
                    yield AgentEvent("content", {"content": chunk.text})
                elif chunk.kind == "reasoning":
                    yield AgentEvent("reasoning", {"content": chunk.text})
                elif chunk.kind == "tool_calls":
                    calls = chunk.tool_calls
                elif chunk.kind == "usage" and chunk.usage is not None:
                    await usage_record_add(
                        user=ids.user, provider_id=plan.model.provider_id, model=plan.model.model_name,
                        usage=chunk.usage, run_id=ids.run_id, session_id=ids.thread_id, endpoint=ids.endpoint,
                    )
                    yield AgentEvent(
                        "usage",
                        {
                            "model": plan.model.model_name,
                            "input_tokens": chunk.usage.input_tokens,
                            "output_tokens": chunk.usage.output_tokens,
                            "cached_tokens": chunk.usage.cached_tokens,
                            "reasoning_tokens": chunk.usage.reasoning_tokens,
                        },
                    )
        except ProviderError as exc:
            yield AgentEvent("error", {"content": exc.message})
            return
        if not calls:
            return
        if last:
            yield AgentEvent(
                "status",
                {"step": "max_loop", "content": f"Stopped after {plan.max_loop_count} steps (the loop limit)."},
            )
            return
        conversation.append(_assistant_with_calls("".join(text_parts), calls))
        for call in calls:
            arguments = call.parsed_arguments()
            yield AgentEvent("tool_call", {"id": call.id, "tool": call.name, "arguments": arguments})
            result, failed, usage_events = await _call_tool(plan, call.name, arguments, ids, depth=depth)
            # A sub-agent's model calls are the run's cost too: pass their usage on.
            for usage_event in usage_events:
                yield usage_event
            yield AgentEvent("tool_result", {"id": call.id, "tool": call.name, "result": result, "error": failed})
            conversation.append({"role": "tool", "tool_call_id": call.id, "content": result})
        if should_stop is not None and await should_stop():
            return


async def _call_tool(
    plan: RunPlan, name: str, arguments: dict[str, Any], ids: _RunIds, *, depth: int
) -> tuple[str, bool, list[AgentEvent]]:
    """The tool's result, whether it failed, and the usage events of any sub-agent it ran."""
    offered = {spec.name for spec in plan.tools}
    if name not in offered:
        return f"The tool {name} is not available to this agent.", True, []
    sub = plan.sub_agents.get(name)
    if sub is not None:
        return await _run_sub_agent(sub, str(arguments.get("task") or ""), ids, depth=depth + 1)
    context = ToolContext(user=ids.user, run_id=ids.run_id, thread_id=ids.thread_id, agent_id=plan.agent_id)
    try:
        outcome = await tool_execute(user=ids.user, tool_name=name, tool_params=arguments, context=context)
    except ServiceError as exc:
        return exc.message, True, []
    return outcome.result, outcome.error, []


async def _run_sub_agent(
    sub: SubAgent, task: str, ids: _RunIds, *, depth: int
) -> tuple[str, bool, list[AgentEvent]]:
    """Run a sub-agent's loop to its answer (not streamed) and hand that answer back as a tool result."""
    if not task.strip():
        return "The sub-agent needs a task.", True, []
    overrides = _custom_overrides(sub.config) if sub.config is not None else RunOverrides()
    plan = await _in_db(_plan, ids.user, sub.agent, overrides, depth=depth)
    conversation = [{"role": "system", "content": plan.system_prompt}, {"role": "user", "content": task}]
    answer: list[str] = []
    usage: list[AgentEvent] = []
    async for event in _loop(plan, conversation, ids, depth=depth):
        if event.type == "content":
            answer.append(event.data["content"])
        elif event.type == "usage":
            usage.append(event)
        elif event.type == "error":
            return f"The agent {sub.name} failed: {event.data['content']}", True, usage
    return "".join(answer).strip() or f"The agent {sub.name} gave no answer.", False, usage


async def agent_run_stream(
    *,
    user: Any,
    agent: Agent | None,
    messages: list[dict[str, Any]],
    overrides: RunOverrides | None = None,
    should_stop: Callable[[], Awaitable[bool]] | None = None,
    run_id: str | None = None,
    thread_id: str | None = None,
    endpoint: str = "",
) -> AsyncIterator[AgentEvent]:
    """Run ``agent`` (or the default agent) on ``messages`` and yield its events as they happen."""
    overrides = overrides or RunOverrides()
    try:
        plan = await _in_db(_plan, user, agent, overrides)
    except ServiceError as exc:
        yield AgentEvent("error", {"content": exc.message})
        return
    # Callers may hand over model ids (UUIDs); everything downstream takes strings.
    run_id = str(run_id) if run_id else None
    thread_id = str(thread_id) if thread_id else None
    ids = _RunIds(user=user, run_id=run_id, thread_id=thread_id, endpoint=endpoint or "")
    yield AgentEvent("status", {"step": "routing", "content": f"Agent routing to {plan.name}..."})

    question = next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "").strip()
    sources: list[Source] = []
    chunks = None
    if question and _retrieval_available():
        yield AgentEvent("status", {"step": "retrieval", "content": "Agent routing to knowledge retrieval..."})
        chunks = await _in_db(_search, user, question, plan.knowledge_base_ids, thread_id)
    if chunks:
        sources = _sources(chunks)
        yield AgentEvent("citations", {"citations": [_citation(chunk) for chunk in chunks]})

    yield AgentEvent("status", {"step": "answering", "content": "Agent routing to answer generation..."})
    # One system message: many chat templates accept a system message only first.
    system = plan.system_prompt + (_sources_text(sources) if sources else "")
    conversation = [{"role": "system", "content": system}]
    conversation.extend(_clean(m, multimodal=plan.multimodal) for m in messages if isinstance(m, dict))
    try:
        async for event in _loop(plan, conversation, ids, sources=sources, should_stop=should_stop):
            yield event
    except _Stopped:
        return
