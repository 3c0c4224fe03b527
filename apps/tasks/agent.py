"""One agent step of a 001 task: the prompt from the task and its past steps, one model call, one action.

The agent runtime (:mod:`apps.agents.runtime`) loops until the model answers; a task
step must stop after a single action, so this module speaks to the model directly,
through the providers app's :class:`~apps.providers.llm.ChatModel` contract, and runs
tools through the tools app's service.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from apps.core.errors import ServiceError
from apps.providers.llm import ChatModel, Source, ToolCall, ToolSpec
from apps.providers.services import usage_record_add
from apps.tools.registry import ToolContext
from apps.tools.services import tool_execute

ASK_USER = "ask_user"
FINAL_ANSWER = "final_answer"
#: The action of a model that returned neither text nor a tool call.
NO_ACTION = "no_action"
#: Tool output is kept whole in the step, but only this much goes back into the prompt.
MAX_TOOL_OUTPUT_IN_PROMPT = 8000
SUMMARY_LENGTH = 200

CONTROL_ACTIONS = (
    ToolSpec(
        name=ASK_USER,
        description=(
            "Ask the user a question when you need information or a decision only they can give. "
            "The task pauses until they answer."
        ),
        parameters={
            "type": "object",
            "properties": {"question": {"type": "string", "description": "The question for the user."}},
            "required": ["question"],
        },
    ),
    ToolSpec(
        name=FINAL_ANSWER,
        description="Finish the task with your final answer to the user's request.",
        parameters={
            "type": "object",
            "properties": {"answer": {"type": "string", "description": "The complete final answer."}},
            "required": ["answer"],
        },
    ),
)

SYSTEM_PROMPT = (
    "You are CodexEngine's task agent. You work on the user's task one step at a time: "
    "each time you are called, take exactly one action. Call one of the tools to make progress, "
    f"call {ASK_USER} when you need something from the user, or call {FINAL_ANSWER} "
    "(or simply answer in text) when the task is done. Earlier steps and their results are in the "
    "conversation; do not repeat a step that already succeeded."
)


@dataclass(frozen=True)
class PastStep:
    """What the prompt needs of a stored step."""

    input: str
    state_data: dict[str, Any] | None
    action: dict[str, Any]
    result: dict[str, Any]


@dataclass(frozen=True)
class StepOutcome:
    """The documented ``action`` and ``result`` of a step, and what the task becomes."""

    action: dict[str, Any]
    result: dict[str, Any]
    model: str
    final: bool
    awaiting_input: bool


@dataclass
class _Reply:
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    calls: tuple[ToolCall, ...] = ()


def _user_turn(text: str, state_data: dict[str, Any] | None) -> str:
    parts = [text] if text else []
    if state_data:
        parts.append("State data: " + json.dumps(state_data, ensure_ascii=False))
    return "\n\n".join(parts)


def _tool_output(result: dict[str, Any]) -> str:
    details = result.get("details") or {}
    output = details.get("output") if isinstance(details, dict) else None
    text = result.get("error") or output or result.get("message") or result.get("summary") or ""
    return str(text)[:MAX_TOOL_OUTPUT_IN_PROMPT]


def build_messages(
    *,
    request: str,
    context: dict[str, Any],
    document_names: Sequence[str],
    sources: Sequence[Source],
    steps: Sequence[PastStep],
) -> list[dict[str, Any]]:
    """The conversation for the next model call: the request, then each step's input, action and result.

    ``steps`` ends with the step being run, whose action is still empty.
    """
    system = SYSTEM_PROMPT + f"\n\nCurrent date: {timezone.now():%Y-%m-%d}."
    if context:
        system += "\n\nTask context:\n" + json.dumps(context, ensure_ascii=False, indent=1)
    if document_names:
        system += "\n\nDocuments in the task's workspace: " + ", ".join(document_names) + "."
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    if sources:
        body = "\n\n".join(f"[{source.number}] {source.title}\n{source.content}" for source in sources)
        messages.append(
            {"role": "system", "content": "Passages from the task's documents; cite them as [n].\n\n" + body}
        )
    messages.append({"role": "user", "content": request})
    pending_question: str | None = None
    for step in steps:
        turn = _user_turn(step.input, step.state_data)
        if pending_question is not None:
            # The model asked through a tool call, so the answer must come back as that call's result.
            messages.append({"role": "tool", "tool_call_id": pending_question, "content": turn or "(no answer)"})
            pending_question = None
        elif turn:
            messages.append({"role": "user", "content": turn})
        name = step.action.get("name")
        call_id = step.action.get("call_id")
        if not name or name == NO_ACTION:
            continue
        if not call_id:
            messages.append({"role": "assistant", "content": step.result.get("message") or ""})
            continue
        arguments = json.dumps(step.action.get("parameters") or {}, ensure_ascii=False)
        messages.append(
            {
                "role": "assistant",
                "content": step.action.get("reasoning") or None,
                "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}],
            }
        )
        if name == ASK_USER:
            pending_question = call_id
        else:
            messages.append({"role": "tool", "tool_call_id": call_id, "content": _tool_output(step.result)})
    return messages


def _result(status: str, *, details: Any = None, summary: str = "", error: str | None = None, message: str | None = None) -> dict[str, Any]:
    return {"status": status, "details": details or {}, "summary": summary, "error": error, "message": message}


async def _run_tool(*, user: Any, call: ToolCall, arguments: dict[str, Any], offered: set[str]) -> dict[str, Any]:
    if call.name not in offered:
        return _result("FAILURE", details={"tool": call.name}, summary=f"{call.name} is not available.",
                       error=f"The tool {call.name} is not available to the task agent.")
    try:
        outcome = await tool_execute(user=user, tool_name=call.name, tool_params=arguments, context=ToolContext(user=user))
    except ServiceError as exc:
        # Bad parameters from the model are a failed step the model can correct, not a client error.
        return _result("FAILURE", details={"tool": call.name}, summary=f"{call.name} was called wrongly.", error=exc.message)
    details = {"tool": call.name, "output": outcome.result}
    if outcome.error:
        return _result("FAILURE", details=details, summary=f"{call.name} failed.", error=outcome.result)
    return _result("SUCCESS", details=details, summary=f"{call.name}: {outcome.result[:SUMMARY_LENGTH]}")


async def step_run(
    *,
    user: Any,
    model: ChatModel,
    messages: list[dict[str, Any]],
    tools: Sequence[ToolSpec],
    sources: Sequence[Source],
    session_id: str,
    endpoint: str,
) -> StepOutcome:
    """Call the model once, take its one action, and record the call's token usage.

    Raises :class:`~apps.providers.llm.ProviderError` when the model cannot be reached.
    """
    offered = [*tools, *CONTROL_ACTIONS]
    reply = _Reply()
    async for chunk in model.stream(messages, tools=offered, sources=sources):
        if chunk.kind == "content":
            reply.text.append(chunk.text)
        elif chunk.kind == "reasoning":
            reply.reasoning.append(chunk.text)
        elif chunk.kind == "tool_calls":
            reply.calls = chunk.tool_calls
        elif chunk.kind == "usage" and chunk.usage is not None:
            await usage_record_add(
                user=user, provider_id=model.provider_id, model=model.model_name, usage=chunk.usage,
                session_id=session_id, endpoint=endpoint,
            )
    text = "".join(reply.text).strip()
    reasoning = "".join(reply.reasoning).strip()

    def outcome(action: dict[str, Any], result: dict[str, Any]) -> StepOutcome:
        return StepOutcome(
            action=action, result=result, model=model.model_name,
            final=bool(action["final"]), awaiting_input=result["status"] == "AWAITING_INPUT",
        )

    if not reply.calls:
        if not text:
            return outcome(
                {"name": NO_ACTION, "parameters": {}, "reasoning": reasoning, "final": False},
                _result("FAILURE", summary="No action.", error="The model returned neither an answer nor an action."),
            )
        # A plain text answer is the model's final answer.
        return outcome(
            {"name": FINAL_ANSWER, "parameters": {"answer": text}, "reasoning": reasoning, "final": True},
            _result("SUCCESS", details={"answer": text}, summary=text[:SUMMARY_LENGTH], message=text),
        )
    # One action per step: further calls of the same reply are not run, and the prompt never shows them.
    call = reply.calls[0]
    arguments = call.parsed_arguments()
    action = {"name": call.name, "parameters": arguments, "reasoning": text or reasoning, "final": False, "call_id": call.id}
    if call.name == FINAL_ANSWER:
        answer = str(arguments.get("answer") or text).strip() or "(no answer)"
        return outcome({**action, "final": True},
                       _result("SUCCESS", details={"answer": answer}, summary=answer[:SUMMARY_LENGTH], message=answer))
    if call.name == ASK_USER:
        question = str(arguments.get("question") or text).strip() or "The agent needs more information."
        return outcome(action, _result("AWAITING_INPUT", details={"question": question},
                                       summary="Waiting for the user's answer.", message=question))
    result = await _run_tool(user=user, call=call, arguments=arguments, offered={tool.name for tool in tools})
    return outcome(action, result)

