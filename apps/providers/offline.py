"""The built-in offline model: the answer when no LLM provider is configured.

It is a real default, not a test double. It streams word by word, answers
extractively from retrieved sources with ``[n]`` citations, and speaks the same
tool-calling contract as a real model: when a tool is offered and the question
plainly asks for it (arithmetic, the time, a URL), or a tool's name or
description shares the question's words (an MCP tool, ``load_skill``), it calls
the tool and then answers from the result.
"""
from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from apps.providers.llm import ModelChunk, Source, ToolCall, ToolSpec, Usage, estimate_tokens, message_text

OFFLINE_MODEL_NAME = "codex-offline"

NOT_CONFIGURED = (
    "I am CodexEngine's built-in offline model: no language model provider is configured, "
    "so I can only answer from your knowledge base and run simple tools. "
    "To get full answers, add an OpenAI-compatible provider (in Settings, or POST /api/llm-provider/create), "
    "or set LLM_BASE_URL, LLM_API_KEY and LLM_MODEL on the server."
)

_WORDS = re.compile(r"\s*\S+\s*")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_ARITHMETIC = re.compile(r"[-+(]*\d[\d.,\s]*(?:(?:\*\*|[-+*/%^×÷])\s*[-+(]*\s*\d[\d.,\s]*\)*\s*)+")
# "run `python3 hello.py`", "execute `ls`": a command in backticks after run/execute goes to the shell tool.
_COMMAND = re.compile(r"\b(?:run|execute)\b[^`]{0,80}`([^`\n]+)`", re.I)
_TIME_WORDS = re.compile(r"\b(what time|current time|time is it|what(?:'s| is) the date|today'?s date|what day)\b", re.I)
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it of on or the this to was what when where "
    "which who why with you your about tell me please".split()
)


def _words(text: str) -> list[str]:
    return _WORDS.findall(text)


def _terms(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text.lower()) if word not in _STOPWORDS and len(word) > 1}


def _tool_call_for(question: str, offered: set[str]) -> tuple[str, dict[str, Any]] | None:
    """The tool the question plainly asks for, among those offered."""
    if "shell" in offered and (command := _COMMAND.search(question)):
        return "shell", {"command": command.group(1).strip()}
    if "http_fetch" in offered and (url := _URL.search(question)):
        return "http_fetch", {"url": url.group(0).rstrip(".,;")}
    if "current_time" in offered and _TIME_WORDS.search(question):
        return "current_time", {}
    if "calculator" in offered and (match := _ARITHMETIC.search(question)):
        expression = match.group(0).strip().replace("×", "*").replace("÷", "/").replace("^", "**")
        expression = re.sub(r"(?<=\d),(?=\d{3}\b)", "", expression)
        if re.search(r"\d\s*(\*\*|[-+*/%])\s*[-+(]*\d", expression):
            return "calculator", {"expression": expression}
    return None


#: Tools the rules above pick; they are never guessed from words.
_RULE_TOOLS = frozenset({"http_fetch", "current_time", "calculator"})


def _tool_terms(text: str) -> set[str]:
    return _terms(re.sub(r"[_\-]+", " ", text))


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _fill(parameters: dict[str, Any], question: str) -> dict[str, Any] | None:
    """Arguments for a tool from the question alone: enums by best overlap, strings with the question,
    numbers with the question's first number; ``None`` when a required one cannot be given."""
    properties = parameters.get("properties") or {}
    arguments: dict[str, Any] = {}
    wanted = _terms(question)
    for name in parameters.get("required") or []:
        schema = properties.get(name) or {}
        kind = schema.get("type", "string")
        if schema.get("enum"):
            choices = [str(choice) for choice in schema["enum"]]
            arguments[name] = max(choices, key=lambda choice: len(wanted & _tool_terms(choice)))
        elif kind == "string":
            arguments[name] = question
        elif kind in ("integer", "number") and (number := _NUMBER.search(question)):
            value = float(number.group(0))
            if kind == "integer" and not value.is_integer():
                return None
            arguments[name] = int(value) if kind == "integer" else value
        else:
            return None
    return arguments


def _matching_tool(question: str, tools: Sequence[ToolSpec]) -> tuple[str, dict[str, Any]] | None:
    """The offered tool whose name (or, failing that, description) shares the most words with the question.

    A name word counts double; a tool needs a word of its name, or two of its description. A tool
    whose required arguments the question cannot give is passed over for the next best one.
    """
    wanted = _terms(question)
    ranked: list[tuple[int, int, ToolSpec]] = []
    for position, tool in enumerate(tools):
        if tool.name in _RULE_TOOLS:
            continue
        in_name = len(wanted & _tool_terms(tool.name))
        in_description = len(wanted & _tool_terms(tool.description))
        if not in_name and in_description < 2:
            continue
        # Ties go to the tool offered first.
        ranked.append((-(2 * in_name + in_description), position, tool))
    for *_, tool in sorted(ranked, key=lambda item: item[:2]):
        arguments = _fill(tool.parameters, question)
        if arguments is not None:
            return tool.name, arguments
    return None


_FIELD_LINE = re.compile(r"^[^:\n]{1,60}:\s")


def _passages(content: str) -> list[str]:
    """The quotable units of a source: its sentences, or the whole record for a ``field: value`` row.

    A CSV row is one fact spread over its fields; quoting a single field would lose
    what the row is about (its name), so a record is quoted whole.
    """
    lines = [line.strip() for line in content.splitlines() if line.strip()]
    if len(lines) > 1 and all(_FIELD_LINE.match(line) for line in lines):
        return ["; ".join(lines)]
    return re.split(r"(?<=[.!?])\s+|\n+", content)


def _extractive_answer(question: str, sources: Sequence[Source]) -> str:
    """The sentences of the sources that share the most terms with the question, each cited."""
    wanted = _terms(question)
    scored: list[tuple[float, int, int, str]] = []
    for source in sources:
        for position, sentence in enumerate(_passages(source.content)):
            sentence = sentence.strip()
            if len(sentence) < 3:
                continue
            overlap = len(wanted & _terms(sentence))
            # Earlier sources rank higher when overlap ties: retrieval already ordered them.
            scored.append((overlap, -source.number, -position, f"{sentence} [{source.number}]"))
    scored.sort(reverse=True)
    best = [item for item in scored if item[0] > 0][:3] or scored[:2]
    if not best:
        return NOT_CONFIGURED
    lines = " ".join(text for *_, text in best)
    cited = ", ".join(f"[{source.number}] {source.title}" for source in sources)
    return (
        f"From your documents: {lines}\n\nSources: {cited}\n\n"
        "(Answered by the built-in offline model, which quotes your documents; "
        "configure an LLM provider for written answers.)"
    )


def _answer_from_tool(messages: list[dict[str, Any]]) -> str:
    """An answer built from the tool results that end the conversation."""
    trailing: list[dict[str, Any]] = []
    for message in reversed(messages):
        if message.get("role") != "tool":
            break
        trailing.append(message)
    trailing.reverse()
    name_by_id = {
        call.get("id"): (call.get("function") or {}).get("name", "the tool")
        for message in messages
        for call in message.get("tool_calls") or ()
    }
    parts = []
    for message in trailing:
        result = message_text(message).strip()
        name = name_by_id.get(message.get("tool_call_id"), "the tool")
        if name == "calculator":
            parts.append(f"The result is {result}.")
        elif name == "current_time":
            parts.append(f"The current time is {result}.")
        else:
            parts.append(f"Here is what {name} returned:\n\n{result[:2000]}")
    return "\n\n".join(parts) or "The tool returned nothing."


class OfflineModel:
    """A :class:`~apps.providers.llm.ChatModel` that needs no network and no weights."""

    model_name = OFFLINE_MODEL_NAME
    provider_id = None

    def _reply(
        self, messages: list[dict[str, Any]], tools: Sequence[ToolSpec], sources: Sequence[Source]
    ) -> tuple[str, ToolCall | None]:
        if messages and messages[-1].get("role") == "tool":
            return _answer_from_tool(messages), None
        question = next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
        wanted = _tool_call_for(question, {tool.name for tool in tools}) or _matching_tool(question, tools)
        if wanted:
            name, arguments = wanted
            return "", ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=name, arguments=json.dumps(arguments))
        if sources:
            return _extractive_answer(question, sources), None
        return NOT_CONFIGURED, None

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: Sequence[ToolSpec] = (),
        sources: Sequence[Source] = (),
    ) -> AsyncIterator[ModelChunk]:
        text, call = self._reply(messages, tools, sources)
        for word in _words(text):
            yield ModelChunk("content", text=word)
        if call is not None:
            yield ModelChunk("tool_calls", tool_calls=(call,))
        prompt = "".join(message_text(message) for message in messages)
        output = text or (call.arguments if call else "")
        yield ModelChunk("usage", usage=Usage(input_tokens=estimate_tokens(prompt), output_tokens=estimate_tokens(output)))

    async def complete(self, messages: list[dict[str, Any]], *, max_tokens: int | None = None) -> str:
        text, _ = self._reply(messages, (), ())
        return text
