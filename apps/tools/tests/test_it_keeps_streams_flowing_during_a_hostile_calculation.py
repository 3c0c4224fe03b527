"""A hostile calculation in ``POST /api/tools/exec`` cannot stall the streams its daphne serves."""
from __future__ import annotations

import threading
import time

import pytest

from apps.conversations.tests.conftest import daphne_server, ndjson_lines, server_env  # noqa: F401
from apps.providers.testing import Reply

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_answers_a_hostile_expression_with_a_tool_error_while_another_stream_flows(alice, daphne_server, fake_llm):  # noqa: F811
    fake_llm.make_provider(owner=alice)
    fake_llm.script(Reply(text=" ".join(f"word{i}" for i in range(200)), delay=0.03))
    arrivals: list[float] = []
    started = threading.Event()

    def read_stream() -> None:
        with daphne_server.client(alice) as http, http.stream(
            "POST", "/api/web-stream", json={"messages": [{"role": "user", "content": "go"}], "session_id": "calc"}
        ) as response:
            for line in response.iter_lines():
                if line.strip():
                    arrivals.append(time.monotonic())
                    started.set()

    reader = threading.Thread(target=read_stream)
    reader.start()
    assert started.wait(60)
    time.sleep(0.3)
    with daphne_server.client(alice) as http:
        before = time.monotonic()
        response = http.post("/api/tools/exec", json={"tool_name": "calculator",
                                                      "tool_params": {"expression": "round(1, -10**7)"}})
        elapsed = time.monotonic() - before
    reader.join(60)
    assert response.status_code == 400 and response.json()["code"] == 400
    assert "round()" in response.json()["message"]
    assert elapsed < 5
    # Tokens come every 30 ms; an 8-second stall of the event loop would show as one long gap.
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert len(arrivals) > 100 and max(gaps) < 4
