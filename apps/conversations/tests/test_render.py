"""Each API's renderer maps the event types it knows and passes any other type through in its own frame shape."""
from __future__ import annotations

import json

from apps.conversations.api import render

CONTEXT = render.StreamContext(thread_id="th-1", message_id="m-1", agent_name="Helper")
PROGRESS = {"seq": 7, "type": "progress", "data": {"tool": "slow", "content": "half way"}, "ts": 1.5}


def _data(frame: str) -> dict:
    line = next(line for line in frame.splitlines() if line.startswith("data: "))
    return json.loads(line[len("data: "):])


def test_000_passes_an_unknown_type_through_as_a_typed_data_frame():
    [frame] = render.codex(CONTEXT)(PROGRESS)
    assert _data(frame) == {"type": "progress", "tool": "slow", "content": "half way"}


def test_002_passes_an_unknown_type_through_as_an_ndjson_line():
    [line] = render.sage(CONTEXT)(PROGRESS)
    body = json.loads(line)
    assert body["type"] == "progress" and body["metadata"]["content"] == "half way"
    assert body["session_id"] == "th-1" and body["metadata"]["index"] == 6


def test_003_passes_an_unknown_type_through_as_its_own_event():
    [frame] = render.admin(CONTEXT)(PROGRESS)
    assert frame.startswith("event: progress\n")
    assert _data(frame) == {"thread_id": "th-1", "agent": "Helper", "id": "m-1", "role": "assistant",
                            "tool": "slow", "content": "half way"}


def test_004_passes_an_unknown_type_through_as_a_message_with_its_sequence():
    [frame] = render.platform(CONTEXT)(PROGRESS)
    assert _data(frame) == {"type": "progress", "tool": "slow", "content": "half way",
                            "sequence": 7, "message_id": "m-1", "thread_id": "th-1"}


def test_known_types_without_a_frame_stay_out_of_000_and_003():
    usage = {"seq": 2, "type": "usage", "data": {"input_tokens": 3}, "ts": 1.0}
    assert render.codex(CONTEXT)(usage) == []
    assert render.admin(CONTEXT)(usage) == []


def test_openai_sends_only_the_answer_text_and_ends_with_done():
    context = render.CompletionContext(id="chatcmpl-1", model="agent-1", created=10, include_usage=True)
    chunks = render.openai_chunks(context)
    usage = {"seq": 3, "type": "usage", "data": {"input_tokens": 5, "output_tokens": 2, "cached_tokens": 1}, "ts": 1.0}
    content = {"seq": 4, "type": "content", "data": {"content": "Hi"}, "ts": 1.0}
    tool_call = {"seq": 5, "type": "tool_call", "data": {"id": "c1", "tool": "calculator", "arguments": {}}, "ts": 1.0}
    end = {"seq": 6, "type": "end", "data": {"status": "completed"}, "ts": 1.0}

    [role] = chunks(PROGRESS)
    frames = [*chunks(PROGRESS), *chunks(usage), *chunks(content), *chunks(tool_call), *chunks(end)]

    assert _data(role)["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [_data(frame)["choices"][0]["delta"] for frame in frames[:1]] == [{"content": "Hi"}]
    assert _data(frames[1])["choices"][0]["finish_reason"] == "stop"
    assert _data(frames[2])["choices"] == [] and _data(frames[2])["usage"] == {
        "prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7,
        "prompt_tokens_details": {"cached_tokens": 1}, "completion_tokens_details": {"reasoning_tokens": 0}}
    assert frames[3] == "data: [DONE]\n\n" and len(frames) == 4


def test_openai_turns_a_failed_run_into_an_error_frame_then_done():
    chunks = render.openai_chunks(render.CompletionContext(id="chatcmpl-1", model="agent-1", created=10))
    error = {"seq": 1, "type": "error", "data": {"content": "The provider is down."}, "ts": 1.0}
    end = {"seq": 2, "type": "end", "data": {"status": "failed"}, "ts": 1.0}

    frames = [*chunks(error), *chunks(end)]

    assert _data(frames[0]) == {"error": {"message": "The provider is down.", "type": "server_error", "param": None,
                                          "code": "upstream_error"}}
    assert frames[1:] == ["data: [DONE]\n\n"]
