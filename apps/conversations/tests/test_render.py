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
