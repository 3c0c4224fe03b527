"""The built-in offline model: a product feature that needs no network."""
from __future__ import annotations

import json

from apps.providers.llm import Source, ToolSpec
from apps.providers.offline import OfflineModel

TOOLS = [ToolSpec("calculator", ""), ToolSpec("current_time", ""), ToolSpec("http_fetch", "")]


async def stream(messages, **kwargs) -> list:
    return [chunk async for chunk in OfflineModel().stream(messages, **kwargs)]


def text(chunks) -> str:
    return "".join(chunk.text for chunk in chunks if chunk.kind == "content")


async def test_it_says_plainly_that_it_is_the_offline_model():
    chunks = await stream([{"role": "user", "content": "Tell me a story"}])
    answer = text(chunks)
    assert "built-in offline model" in answer and "LLM_BASE_URL" in answer
    assert len([c for c in chunks if c.kind == "content"]) > 10  # word-sized chunks
    assert chunks[-1].kind == "usage" and chunks[-1].usage.output_tokens > 0


async def test_it_answers_extractively_with_citations():
    sources = [
        Source(1, "handbook.pdf, page 3", "Employees get 25 days of paid leave per year. Leave requests go to HR."),
        Source(2, "faq.md", "The office opens at 9am. Parking is free."),
    ]
    answer = text(await stream([{"role": "user", "content": "How many days of paid leave do employees get?"}],
                               sources=sources))
    assert "Employees get 25 days of paid leave per year. [1]" in answer
    assert "[1] handbook.pdf, page 3" in answer
    assert "offline model" in answer


async def test_it_calls_the_calculator_for_arithmetic():
    chunks = await stream([{"role": "user", "content": "what is 1,250 * 4 + 3?"}], tools=TOOLS)
    calls = [c for c in chunks if c.kind == "tool_calls"][0].tool_calls
    assert calls[0].name == "calculator"
    assert json.loads(calls[0].arguments) == {"expression": "1250 * 4 + 3"}


async def test_it_calls_current_time_and_http_fetch():
    time_call = [c for c in await stream([{"role": "user", "content": "What time is it?"}], tools=TOOLS)
                 if c.kind == "tool_calls"][0].tool_calls[0]
    assert time_call.name == "current_time"
    fetch_call = [c for c in await stream([{"role": "user", "content": "Summarise https://example.com/a."}],
                                          tools=TOOLS) if c.kind == "tool_calls"][0].tool_calls[0]
    assert (fetch_call.name, json.loads(fetch_call.arguments)) == ("http_fetch", {"url": "https://example.com/a"})


async def test_it_calls_no_tool_that_was_not_offered():
    chunks = await stream([{"role": "user", "content": "What is 2 + 2?"}], tools=[])
    assert not [c for c in chunks if c.kind == "tool_calls"]


async def test_it_answers_from_a_tool_result():
    messages = [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": None,
         "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "calculator", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "4"},
    ]
    assert text(await stream(messages, tools=TOOLS)) == "The result is 4."
