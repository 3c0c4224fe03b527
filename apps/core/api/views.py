"""Base views for the five APIs. A view picks its API by its base class; nothing else differs."""
from __future__ import annotations

from typing import Any

from rest_framework import generics, viewsets
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api import styles


class StyledMixin:
    """Renders errors, and for Sage the success envelope, in the view's API style."""

    api_style: styles.ApiStyle = styles.CODEX
    #: SSE GET endpoints accept ``?token=`` because EventSource cannot send headers.
    allow_query_token: bool = False

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        style = self.api_style
        if (
            style.wraps_success
            and isinstance(response, Response)
            and not getattr(response, "is_error", False)
            and response.status_code < 400
            and not getattr(response, "raw", False)
        ):
            response.data = style.success_body(response.data, status=response.status_code)
        return super().finalize_response(request, response, *args, **kwargs)


class CodexApiView(StyledMixin, APIView):
    api_style = styles.CODEX


class TaskApiView(StyledMixin, APIView):
    api_style = styles.TASK


class SageApiView(StyledMixin, APIView):
    api_style = styles.SAGE


class AdminApiView(StyledMixin, APIView):
    api_style = styles.ADMIN


class PlatformApiView(StyledMixin, APIView):
    api_style = styles.PLATFORM


class AnyAcceptNegotiation(DefaultContentNegotiation):
    """JSON whatever ``Accept`` says (``text/event-stream`` included), as OpenAI's API answers."""

    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: str | None = None) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type


class StreamingRouteMixin:
    """For a view whose success body is SSE or NDJSON: whatever ``Accept`` a streaming client sends.

    DRF negotiated against the JSON renderer before the view ran, so EventSource's
    ``Accept: text/event-stream`` (or ``application/x-ndjson``) got a 406, although the view
    answers exactly that stream. Errors before the first byte stay JSON, with their real status.
    """

    content_negotiation_class = AnyAcceptNegotiation


class OpenAIApiView(StyledMixin, APIView):
    api_style = styles.OPENAI
    renderer_classes = [JSONRenderer]
    content_negotiation_class = AnyAcceptNegotiation


class AdminViewSet(StyledMixin, viewsets.GenericViewSet):
    api_style = styles.ADMIN


class AdminListView(StyledMixin, generics.GenericAPIView):
    api_style = styles.ADMIN


def raw(response: Response) -> Response:
    """Mark a Sage response that the document says is not wrapped (OAuth2 payloads)."""
    response.raw = True
    return response
