"""The built-in offline model: the answer when no LLM provider is configured.

It is a real default, not a test double. It streams word by word, answers
extractively from retrieved sources with ``[n]`` citations, and speaks the same
tool-calling contract as a real model: when a tool is offered and the question
plainly asks for it (arithmetic, the time, a URL), or a tool's name or
description shares the question's words (an MCP tool, ``load_skill``), it calls
the tool and then answers from the result.

With the sandbox tools it builds and runs things from what the message spells out:
each fenced code block after a file name (```` `index.html` ```` or ``index.html``) is a
``write_file``; a command in backticks after *run*/*execute* is a ``shell`` call, after
*start*/*launch*/*serve* a ``start_session``; *preview* asks for ``preview_url``. All of
them go out in one step, in the order the message names them.
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
# A fenced block (```html ... ```), an inline `span`, and the verb that says what a span is for.
_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.S)
_INLINE = re.compile(r"`([^`\n]+)`")
_VERB = re.compile(r"\b(run|execute|start|launch|serve|write|create|save|put|make|read|show|open|cat)\b", re.I)
_SHELL_VERBS = {"run", "execute"}
_SESSION_VERBS = {"start", "launch", "serve"}
_READ_VERBS = {"read", "show", "open", "cat"}
_FILE_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z0-9]{1,10})(?![\w/-])")
_PORT = re.compile(r"\bport\s+(\d{2,5})\b", re.I)
_SANDBOX_TOOLS = frozenset({"shell", "write_file", "read_file", "start_session", "preview_url"})
_TIME_WORDS = re.compile(r"\b(what time|current time|time is it|what(?:'s| is) the date|today'?s date|what day)\b", re.I)
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it of on or the this to was what when where "
    "which who why with you your about tell me please".split()
)


def _words(text: str) -> list[str]:
    return _WORDS.findall(text)


def _terms(text: str) -> set[str]:
    return {word for word in re.findall(r"[a-z0-9]+", text.lower()) if word not in _STOPWORDS and len(word) > 1}


def _last_verb(text: str) -> str:
    verbs = _VERB.findall(text)
    return verbs[-1].lower() if verbs else ""


def _port_of(command: str) -> int | None:
    numbers = [int(number) for number in re.findall(r"(?<![\w.])(\d{2,5})(?!\.?\w)", command)]
    return next((number for number in reversed(numbers) if 0 < number < 65536), None)


def _sandbox_calls(question: str, offered: set[str]) -> list[tuple[str, dict[str, Any]]]:
    """The sandbox tool calls a message spells out, in its order (see the module's docstring)."""
    calls: list[tuple[int, str, dict[str, Any]]] = []
    if "write_file" in offered:
        start = 0
        for fence in _FENCE.finditer(question):
            before = question[start:fence.start()]
            named = [span for span in _INLINE.findall(before) if _FILE_PATH.fullmatch(span.strip())]
            paths = named or _FILE_PATH.findall(_INLINE.sub(" ", before))
            if paths:
                calls.append((fence.start(), "write_file", {"path": paths[-1].strip(), "content": fence.group(1)}))
            start = fence.end()
    # Commands are looked for outside the files' contents, so a page that says "run `x`" runs nothing.
    prose = _FENCE.sub(lambda fence: " " * len(fence.group(0)), question)
    previous_end = 0
    sessions = 0
    for span in _INLINE.finditer(prose):
        verb = _last_verb(prose[previous_end:span.start()])
        previous_end = span.end()
        command = span.group(1).strip()
        if verb in _SHELL_VERBS and "shell" in offered:
            calls.append((span.start(), "shell", {"command": command}))
        elif verb in _SESSION_VERBS and "start_session" in offered:
            sessions += 1
            arguments: dict[str, Any] = {"name": "dev-server" if sessions == 1 else f"dev-server-{sessions}",
                                         "command": command}
            if (port := _port_of(command)) is not None:
                arguments["port"] = port
            calls.append((span.start(), "start_session", arguments))
        elif verb in _READ_VERBS and "read_file" in offered and _FILE_PATH.fullmatch(command):
            calls.append((span.start(), "read_file", {"path": command}))
    ordered = [(name, arguments) for _, name, arguments in sorted(calls, key=lambda call: call[0])]
    if "preview_url" in offered and re.search(r"\bpreview", prose, re.I):
        port = next((arguments["port"] for name, arguments in ordered if name == "start_session" and "port" in arguments),
                    None)
        if port is None and (mentioned := _PORT.search(prose)):
            port = int(mentioned.group(1))
        ordered.append(("preview_url", {"port": port} if port and 0 < port < 65536 else {}))
    return ordered


def _tool_call_for(question: str, offered: set[str]) -> tuple[str, dict[str, Any]] | None:
    """The tool the question plainly asks for, among those offered."""
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


#: Tools the rules above pick; they are never guessed from words (a path or a command is not a question).
_RULE_TOOLS = frozenset({"http_fetch", "current_time", "calculator"}) | _SANDBOX_TOOLS


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
    ) -> tuple[str, tuple[ToolCall, ...]]:
        if messages and messages[-1].get("role") == "tool":
            return _answer_from_tool(messages), ()
        question = next((message_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
        offered = {tool.name for tool in tools}
        wanted = _sandbox_calls(question, offered)
        if not wanted and (single := _tool_call_for(question, offered) or _matching_tool(question, tools)):
            wanted = [single]
        if wanted:
            return "", tuple(
                ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", name=name, arguments=json.dumps(arguments))
                for name, arguments in wanted
            )
        if sources:
            return _extractive_answer(question, sources), ()
        return NOT_CONFIGURED, ()

    async def stream(
        self,
        messages: list[dict[str, Any]],
        *,
        tools: Sequence[ToolSpec] = (),
        sources: Sequence[Source] = (),
    ) -> AsyncIterator[ModelChunk]:
        text, calls = self._reply(messages, tools, sources)
        for word in _words(text):
            yield ModelChunk("content", text=word)
        if calls:
            yield ModelChunk("tool_calls", tool_calls=calls)
        prompt = "".join(message_text(message) for message in messages)
        output = text or "".join(call.arguments for call in calls)
        yield ModelChunk("usage", usage=Usage(input_tokens=estimate_tokens(prompt), output_tokens=estimate_tokens(output)))

    async def complete(self, messages: list[dict[str, Any]], *, max_tokens: int | None = None) -> str:
        text, _ = self._reply(messages, (), ())
        return text
