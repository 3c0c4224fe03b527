"""OpenTelemetry traces, on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set; all instrumentation lives here.

Spans: one per HTTP request (:class:`TracingMiddleware`), one per Celery task (signals), and
the agent runtime's ``agent.run`` / ``agent.step`` / ``agent.model_call`` (with token counts) /
``agent.tool_call`` and ``retrieval.search`` through :func:`start_span`. With tracing off the
OpenTelemetry API hands out non-recording spans, so the calls cost next to nothing.

Spans of the agent loop are started with an explicit parent and never made "current": the
loop is an async generator, and a context attached before a ``yield`` may be detached in
another context after it.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from opentelemetry import context as otel_context
from opentelemetry import trace

logger = logging.getLogger(__name__)

_tracer = trace.get_tracer("codexengine")
_celery_spans: dict[str, tuple[Any, Any]] = {}
_configured = False


def setup() -> bool:
    """Install the SDK's tracer provider with the OTLP/HTTP exporter; once per process."""
    global _configured
    if _configured or not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return _configured
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.OTEL_SERVICE_NAME}))
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT.rstrip("/")
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    trace.set_tracer_provider(provider)
    _connect_celery()
    _configured = True
    logger.info("tracing: exporting spans to %s", endpoint)
    return True


def start_span(name: str, *, parent: Any = None, **attributes: Any) -> Any:
    """A started span (end it yourself); ``parent`` is another span from here, or None for the current one."""
    ctx = trace.set_span_in_context(parent) if parent is not None else None
    clean = {key: value for key, value in attributes.items() if value is not None}
    return _tracer.start_span(name, context=ctx, attributes=clean)


def end_span(span: Any) -> None:
    """End a span once (ending twice only warns, but a loop's early exits would)."""
    if span is not None and span.is_recording():
        span.end()


def mark_error(span: Any, message: str) -> None:
    span.set_status(trace.Status(trace.StatusCode.ERROR, message))


def record_tokens(span: Any, usage: Any) -> None:
    span.set_attributes({
        "llm.usage.input_tokens": usage.input_tokens, "llm.usage.output_tokens": usage.output_tokens,
        "llm.usage.cached_tokens": usage.cached_tokens, "llm.usage.reasoning_tokens": usage.reasoning_tokens,
    })


# ------------------------------------------------------------------------------
# HTTP
# ------------------------------------------------------------------------------
class TracingMiddleware:
    """A server span per request, named after the matched route once the view is known."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def _start(self, request: Any) -> tuple[Any, Any]:
        span = _tracer.start_span(f"HTTP {request.method}", kind=trace.SpanKind.SERVER, attributes={
            "http.request.method": request.method, "url.path": request.path,
        })
        return span, otel_context.attach(trace.set_span_in_context(span))

    def _end(self, request: Any, response: Any, span: Any, token: Any) -> None:
        route = getattr(getattr(request, "resolver_match", None), "route", None)
        if route:
            span.update_name(f"HTTP {request.method} /{route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code >= 500:
            span.set_status(trace.Status(trace.StatusCode.ERROR))
        span.end()
        otel_context.detach(token)

    def __call__(self, request: Any) -> Any:
        if iscoroutinefunction(self):
            return self.__acall__(request)
        span, token = self._start(request)
        response = self.get_response(request)
        self._end(request, response, span, token)
        return response

    async def __acall__(self, request: Any) -> Any:
        span, token = self._start(request)
        response = await self.get_response(request)
        self._end(request, response, span, token)
        return response


# ------------------------------------------------------------------------------
# Celery
# ------------------------------------------------------------------------------
def _task_started(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    span = _tracer.start_span(f"celery {getattr(task, 'name', 'task')}", kind=trace.SpanKind.CONSUMER,
                              attributes={"celery.task_id": task_id or ""})
    _celery_spans[task_id or ""] = (span, otel_context.attach(trace.set_span_in_context(span)))


def _task_finished(task_id: str | None = None, state: str | None = None, **_: Any) -> None:
    started = _celery_spans.pop(task_id or "", None)
    if started is None:
        return
    span, token = started
    span.set_attribute("celery.state", state or "")
    if state == "FAILURE":
        span.set_status(trace.Status(trace.StatusCode.ERROR))
    span.end()
    otel_context.detach(token)


def _connect_celery() -> None:
    from celery import signals

    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_task_finished, weak=False)
