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


SANDBOX_TOOLS = [ToolSpec(name, "") for name in ("shell", "write_file", "read_file", "list_files", "start_session",
                                                 "preview_url")]
BUILD = """Write `index.html` with:
```html
<h1>Hello</h1>
<p>Never run `rm -rf ~` from a page.</p>
```
and hello.py:
```python
print(sum(range(10)))
```
then run `python3 hello.py`, start `python3 -m http.server 8000 --bind 127.0.0.1` and show me the preview."""


async def calls_for(message: str, tools=SANDBOX_TOOLS) -> list[tuple[str, dict]]:
    chunks = await stream([{"role": "user", "content": message}], tools=tools)
    found = [c for c in chunks if c.kind == "tool_calls"]
    return [(call.name, json.loads(call.arguments)) for call in found[0].tool_calls] if found else []


async def test_it_builds_runs_serves_and_previews_what_the_message_spells_out():
    assert await calls_for(BUILD) == [
        ("write_file", {"path": "index.html", "content": "<h1>Hello</h1>\n<p>Never run `rm -rf ~` from a page.</p>\n"}),
        ("write_file", {"path": "hello.py", "content": "print(sum(range(10)))\n"}),
        ("shell", {"command": "python3 hello.py"}),
        ("start_session", {"name": "dev-server", "command": "python3 -m http.server 8000 --bind 127.0.0.1", "port": 8000}),
        ("preview_url", {"port": 8000}),
    ]


async def test_it_reads_a_file_and_previews_a_named_port():
    assert await calls_for("Read `site/index.html`") == [("read_file", {"path": "site/index.html"})]
    assert await calls_for("Open a preview on port 3000") == [("preview_url", {"port": 3000})]
    assert await calls_for("Show me the preview") == [("preview_url", {})]


async def test_it_never_guesses_sandbox_arguments_from_words():
    # No file content and no command in backticks: nothing to write or run, so no call with the question as a path.
    assert await calls_for("Write a small static web page for my bakery and run it") == []
    assert await calls_for("Run `ls`", tools=[ToolSpec("write_file", "")]) == []


async def test_it_answers_from_every_result_of_a_step():
    messages = [
        {"role": "user", "content": BUILD},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "write_file", "arguments": "{}"}},
            {"id": "b", "type": "function", "function": {"name": "shell", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "a", "content": "Wrote index.html (40 bytes) in the sandbox."},
        {"role": "tool", "tool_call_id": "b", "content": "$ python3 hello.py\n(exit code 0, 0.02s)\nstdout:\n45"},
    ]
    answer = text(await stream(messages, tools=SANDBOX_TOOLS))
    assert "Wrote index.html" in answer and "45" in answer


def _call(chunks) -> tuple[str, dict] | None:
    calls = [c for c in chunks if c.kind == "tool_calls"]
    return (calls[0].tool_calls[0].name, json.loads(calls[0].tool_calls[0].arguments)) if calls else None


TEXT = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
ECHO = ToolSpec("tools__echo", "[MCP tools] Echo the given text back.", TEXT)
SKILL = ToolSpec("load_skill", "Load a skill's instructions before following it: pass its name.", {
    "type": "object", "properties": {"name": {"type": "string", "enum": ["csv-cleanup", "meeting-notes"]}},
    "required": ["name"]})


async def test_it_calls_the_tool_whose_name_the_question_names():
    question = [{"role": "user", "content": "Please echo this sentence"}]
    assert _call(await stream(question, tools=[*TOOLS, SKILL, ECHO])) == ("tools__echo", {"text": "Please echo this sentence"})


async def test_it_fills_an_enum_with_the_choice_the_question_names():
    question = [{"role": "user", "content": "Use the meeting notes skill"}]
    assert _call(await stream(question, tools=[ECHO, SKILL])) == ("load_skill", {"name": "meeting-notes"})


async def test_it_takes_a_tool_by_two_words_of_its_description_but_not_one():
    assert _call(await stream([{"role": "user", "content": "Send the given text back"}], tools=[ECHO]))[0] == "tools__echo"
    assert _call(await stream([{"role": "user", "content": "Give me the text"}], tools=[ECHO])) is None


async def test_it_gives_a_number_argument_the_questions_number():
    dice = ToolSpec("roll_dice", "Roll dice.", {"type": "object", "properties": {"sides": {"type": "integer"}},
                                                 "required": ["sides"]})
    assert _call(await stream([{"role": "user", "content": "Roll a die with 20 sides"}], tools=[dice])) == (
        "roll_dice", {"sides": 20})
    assert _call(await stream([{"role": "user", "content": "Roll a die"}], tools=[dice])) is None


async def test_it_passes_over_a_better_match_it_cannot_call_for_the_next_one():
    # "weather" names both; the forecast needs a list the question cannot give, so the report is called.
    forecast = ToolSpec("weather_forecast", "Weather forecast for days.", {
        "type": "object", "properties": {"days": {"type": "array"}}, "required": ["days"]})
    report = ToolSpec("weather", "Current weather.", {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    question = [{"role": "user", "content": "Weather forecast for Lisbon"}]
    assert _call(await stream(question, tools=[forecast, report])) == ("weather", {"city": "Weather forecast for Lisbon"})


async def test_it_never_guesses_a_rule_tool_from_words():
    # The calculator is called for arithmetic only, not because the question says "calculator".
    assert _call(await stream([{"role": "user", "content": "Open the calculator"}], tools=TOOLS)) is None
