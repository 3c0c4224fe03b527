"""Issue 4's acceptance: a new user uploads a PDF and a CSV, waits for them to be ingested and
asks on every API's chat route (and the OpenAI-compatible /v1); with no provider configured, the built-in offline model answers
from the right page and row, with citations, in the stream and in the stored history.
"""
from __future__ import annotations

import time

import openai
import pytest

from apps.agents.tests.factories import AgentFactory
from apps.conversations.tests.conftest import ndjson_lines, sse_events
from apps.knowledge.tests.conftest import corpus_file
from conftest import bearer_for

pytestmark = pytest.mark.django_db(transaction=True)

PDF_QUESTION = "How much does it cost to replace a lost key fob?"
CSV_QUESTION = "Which tea is smoked over pinewood fires?"


def _upload_and_wait(http, names: list[str], timeout: float = 180) -> None:
    for name in names:
        upload = corpus_file(name)
        response = http.post("/upload", files={"file": (name, upload.read(), upload.content_type)})
        assert response.status_code == 202, response.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        documents = {d["filename"]: d for d in http.get("/documents").json()["documents"]}
        if all(documents.get(name, {}).get("status") == "Ingested" for name in names):
            assert all(documents[name]["chunks_count"] > 0 for name in names)
            return
        assert not any(str(d["status"]).startswith("Failed") for d in documents.values()), documents
        time.sleep(0.5)
    raise AssertionError(f"not ingested in time: {documents}")


def _cited(citations: list[dict], filename: str, key: str) -> dict:
    cited = [c for c in citations if c["filename"] == filename]
    assert cited, citations
    assert isinstance(cited[0][key], int) and cited[0][key] >= 1
    return cited[0]


def test_a_new_user_gets_cited_answers_from_a_pdf_and_a_csv_on_every_chat_route(alice, daphne_server):
    with daphne_server.client(alice) as http:
        _upload_and_wait(http, ["handbook.pdf", "teas.csv"])

        # 000: status frames per step, tokens, sources, done; citations kept in the history.
        with http.stream("POST", "/chat/stream", json={"message": PDF_QUESTION, "thread_id": "rag-000"}) as response:
            frames = [frame["data"] for frame in sse_events(response.iter_lines())]
        steps = [frame["content"] for frame in frames if frame["type"] == "status"]
        assert len(steps) >= 3, steps
        sources = next(frame["sources"] for frame in frames if frame["type"] == "sources")
        _cited(sources, "handbook.pdf", "page")
        answer = "".join(frame["content"] for frame in frames if frame["type"] == "token")
        assert "15 dollars" in answer and frames[-1]["type"] == "done"
        history = http.get("/chat/rag-000/history").json()["history"]
        _cited(history[-1]["citations"], "handbook.pdf", "page")

        # 002: NDJSON lines, one of them the citations.
        with http.stream("POST", "/api/stream", json={"messages": [{"role": "user", "content": CSV_QUESTION}],
                                                      "session_id": "rag-002"}) as response:
            lines = ndjson_lines(response.iter_lines())
        citations = next(line["metadata"]["citations"] for line in lines if line["type"] == "citations")
        _cited(citations, "teas.csv", "row")
        assert "Lapsang" in "".join(line["content"] for line in lines if line["type"] == "normal")

        # 003: typed SSE events.
        with http.stream("POST", "/api/v1/agent/chat/stream",
                         json={"messages": [{"role": "user", "content": CSV_QUESTION}], "thread_id": "rag-003"}) as response:
            frames = sse_events(response.iter_lines())
        chunks = [frame["data"] for frame in frames if frame["event"] == "message_chunk"]
        _cited(next(chunk["citations"] for chunk in chunks if "citations" in chunk), "teas.csv", "row")
        assert "Lapsang" in "".join(chunk["content"] for chunk in chunks)

        # 004: a run on a thread, streamed with rising sequence numbers.
        run = http.post("/api/agent/initiate", json={"prompt": PDF_QUESTION}).json()
        with http.stream("GET", f"/api/agent-run/{run['agent_run_id']}/stream") as response:
            frames = [frame["data"] for frame in sse_events(response.iter_lines())]
        _cited(next(frame["citations"] for frame in frames if frame["type"] == "citations"), "handbook.pdf", "page")
        assert "15 dollars" in "".join(frame["content"] for frame in frames if frame["type"] == "content")
        assert frames[-1]["status"] == "completed"

    # The OpenAI-compatible /v1, through the official SDK, with an agent of alice's.
    agent = AgentFactory(owner=alice, available_tools=[])
    client = openai.OpenAI(base_url=f"{daphne_server.url}/v1", api_key=bearer_for(alice), max_retries=0)
    completion = client.chat.completions.create(model=str(agent.pk), messages=[{"role": "user", "content": PDF_QUESTION}])
    assert "15 dollars" in completion.choices[0].message.content
    streamed = client.chat.completions.create(
        model=str(agent.pk), messages=[{"role": "user", "content": CSV_QUESTION}], stream=True
    )
    assert "Lapsang" in "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
