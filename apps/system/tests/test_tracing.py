"""Tracing: spans of HTTP requests, agent runs (step, model call with tokens, tool call) and the OTLP export."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from apps.conversations import services as conversations
from apps.conversations.models import AgentRun
from apps.system import tracing


@pytest.fixture
def spans(monkeypatch):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_tracer", provider.get_tracer("test"))
    return exporter


def test_the_middleware_names_a_span_after_the_route(spans):
    def view(request):
        request.resolver_match = type("Match", (), {"route": "api/health"})()
        return HttpResponse(status=200)

    tracing.TracingMiddleware(view)(RequestFactory().get("/api/health"))
    (span,) = spans.get_finished_spans()
    assert span.name == "HTTP GET /api/health"
    assert span.attributes["http.response.status_code"] == 200 and span.attributes["http.route"] == "api/health"


@pytest.mark.django_db(transaction=True)
def test_an_agent_run_has_spans_per_step_model_call_and_tool_call(spans, alice, settings):
    settings.LLM_BASE_URL = settings.LLM_MODEL = ""
    settings.REDIS_AVAILABLE = False  # the run executes on the in-process worker of one-process mode
    run = conversations.run_start(user=alice, messages=[{"role": "user", "content": "What is 12*7?"}], endpoint="test")
    deadline = time.monotonic() + 60
    while not AgentRun.objects.get(pk=run.pk).is_finished:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    finished = {span.name: span for span in spans.get_finished_spans()}
    names = [span.name for span in spans.get_finished_spans()]
    assert {"agent.run", "agent.step", "agent.model_call", "agent.tool_call"} <= set(names), names
    assert names.count("agent.step") == 2 and names.count("agent.model_call") == 2
    run_span = finished["agent.run"]
    assert run_span.attributes["run_id"] == str(run.pk)
    model_call = finished["agent.model_call"]
    assert model_call.attributes["llm.usage.input_tokens"] > 0 and model_call.attributes["model"]
    assert finished["agent.tool_call"].attributes["tool"] == "calculator"
    step_ids = {span.context.span_id for span in spans.get_finished_spans() if span.name == "agent.step"}
    assert finished["agent.tool_call"].parent.span_id in step_ids
    assert all(span.parent.span_id == run_span.context.span_id
               for span in spans.get_finished_spans() if span.name == "agent.step")


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, int]] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, len(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_spans_are_exported_over_otlp_when_the_endpoint_is_set():
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "import django; django.setup()\n"
        "from opentelemetry import trace\n"
        "from apps.system import tracing\n"
        "assert tracing.setup()\n"
        "tracing.end_span(tracing.start_span('probe', run_id='r1'))\n"
        "trace.get_tracer_provider().force_flush()\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "codex.settings", "CODEX_TESTING": "1",
           "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}"}
    try:
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120, capture_output=True)
    finally:
        server.shutdown()
    assert _Collector.received and _Collector.received[0][0] == "/v1/traces" and _Collector.received[0][1] > 0


def test_a_celery_task_gets_a_span(spans):
    task = type("Task", (), {"name": "studio.execute_job"})()
    tracing._task_started(task_id="t1", task=task)
    tracing._task_finished(task_id="t1", state="SUCCESS")
    (span,) = spans.get_finished_spans()
    assert span.name == "celery studio.execute_job" and span.attributes["celery.state"] == "SUCCESS"
