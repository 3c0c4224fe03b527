"""One agent step of a 001 task: the prompt from the task and its past steps, one model call, one action.

The step is the runtime's one loop (:func:`apps.agents.runtime.loop.agent_loop`) limited
to one step and one action, with two control actions (ask the user, give the final
answer) that end the step instead of running a tool. This module only builds the
prompt from the stored steps and turns the loop's events into the documented
``action`` and ``result``.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from apps.agents.runtime.loop import LoopLimits, RunIds, agent_loop
from apps.providers.llm import ChatModel, ProviderError, Source, ToolSpec
from apps.tools.toolset import Toolset

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
    tool_instructions: str = "",
) -> list[dict[str, Any]]:
    """The conversation for the next model call: the request, then each step's input, action and result.

    ``steps`` ends with the step being run, whose action is still empty. ``tool_instructions`` are
    the toolset's lines for the prompt (the skills by name and description, refused MCP servers).
    """
    system = SYSTEM_PROMPT + f"\n\nCurrent date: {timezone.now():%Y-%m-%d}."
    if tool_instructions:
        system += "\n\n" + tool_instructions
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


def _tool_result(name: str, data: dict[str, Any]) -> dict[str, Any]:
    output = str(data.get("result", ""))
    details = {"tool": name, "output": output}
    if data.get("error"):
        return _result("FAILURE", details=details, summary=f"{name} failed.", error=output)
    return _result("SUCCESS", details=details, summary=f"{name}: {output[:SUMMARY_LENGTH]}")


async def step_run(
    *,
    user: Any,
    model: ChatModel,
    messages: list[dict[str, Any]],
    toolset: Toolset,
    sources: Sequence[Source],
    session_id: str,
    endpoint: str,
) -> StepOutcome:
    """One step of the agent loop: one model call and its one action (usage is recorded by the loop).

    Raises :class:`~apps.providers.llm.ProviderError` when the model cannot be reached.
    """
    text: list[str] = []
    reasoning: list[str] = []
    call: dict[str, Any] | None = None
    tool_result: dict[str, Any] | None = None
    async for event in agent_loop(
        model=model,
        toolset=toolset,
        conversation=messages,
        ids=RunIds(user=user, thread_id=session_id, endpoint=endpoint),
        limits=LoopLimits(max_steps=1, last_step_answers=False, actions_per_step=1, control_actions=CONTROL_ACTIONS),
        sources=sources,
    ):
        if event.type == "content":
            text.append(event.data["content"])
        elif event.type == "reasoning":
            reasoning.append(event.data["content"])
        elif event.type == "tool_call":
            call = event.data
        elif event.type == "tool_result":
            tool_result = event.data
        elif event.type == "error":
            raise ProviderError(event.data["content"])
    answer_text = "".join(text).strip()
    thought = "".join(reasoning).strip()

    def outcome(action: dict[str, Any], result: dict[str, Any]) -> StepOutcome:
        return StepOutcome(
            action=action, result=result, model=model.model_name,
            final=bool(action["final"]), awaiting_input=result["status"] == "AWAITING_INPUT",
        )

    if call is None:
        if not answer_text:
            return outcome(
                {"name": NO_ACTION, "parameters": {}, "reasoning": thought, "final": False},
                _result("FAILURE", summary="No action.", error="The model returned neither an answer nor an action."),
            )
        # A plain text answer is the model's final answer.
        return outcome(
            {"name": FINAL_ANSWER, "parameters": {"answer": answer_text}, "reasoning": thought, "final": True},
            _result("SUCCESS", details={"answer": answer_text}, summary=answer_text[:SUMMARY_LENGTH], message=answer_text),
        )
    name, arguments = call["tool"], call["arguments"]
    action = {"name": name, "parameters": arguments, "reasoning": answer_text or thought, "final": False, "call_id": call["id"]}
    if name == FINAL_ANSWER:
        answer = str(arguments.get("answer") or answer_text).strip() or "(no answer)"
        return outcome({**action, "final": True},
                       _result("SUCCESS", details={"answer": answer}, summary=answer[:SUMMARY_LENGTH], message=answer))
    if name == ASK_USER:
        question = str(arguments.get("question") or answer_text).strip() or "The agent needs more information."
        return outcome(action, _result("AWAITING_INPUT", details={"question": question},
                                       summary="Waiting for the user's answer.", message=question))
    return outcome(action, _tool_result(name, tool_result or {"result": "The tool returned nothing.", "error": True}))
