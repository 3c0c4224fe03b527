"""The OpenAI-compatible API over our agents: ``/v1/models`` and ``/v1/chat/completions``.

A model is an agent the caller may use; its id is the agent's id (the agent's name is
accepted too when exactly one visible agent has it). A completion is an ordinary run
on a new thread: it executes in the worker with the agent's tools and knowledge, and
its events come back through the same relay as every other stream route. See
docs/openai-api.md.
"""
from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_key_authentication import ApiKeyAuthentication
from apps.accounts.authentication import BearerAuthentication
from apps.agents import selectors as agent_selectors
from apps.agents.models import Agent
from apps.agents.runtime import ModelOptions, RunOptions
from apps.conversations import services
from apps.conversations.api import render
from apps.conversations.api.relay import events_to_end, relay
from apps.conversations.models import AgentRun
from apps.core.api.views import OpenAIApiView

ENDPOINT = "openai /v1/chat/completions"
CONTENT_PARTS = ("text", "image_url")


# ------------------------------------------------------------------------------
# Serializers
# ------------------------------------------------------------------------------
class ModelOutput(serializers.Serializer):
    id = serializers.CharField()
    object = serializers.CharField(default="model")
    created = serializers.IntegerField()
    owned_by = serializers.CharField()


def _model(agent: Agent) -> dict[str, Any]:
    return {"id": str(agent.pk), "object": "model", "created": int(agent.created_at.timestamp()),
            "owned_by": agent.owner.username}


class ModelList(serializers.Serializer):
    object = serializers.CharField(default="list")
    data = ModelOutput(many=True)


class MessageInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=["system", "developer", "user", "assistant"])
    content = serializers.JSONField(allow_null=True, required=False)
    name = serializers.CharField(required=False, max_length=200)

    def validate_content(self, content: Any) -> Any:
        if content is None or isinstance(content, str):
            return content
        if isinstance(content, list) and all(
            isinstance(part, dict) and part.get("type") in CONTENT_PARTS for part in content
        ):
            return content
        raise serializers.ValidationError("Must be a string or a list of text and image_url parts.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("content") is None and attrs["role"] != "assistant":
            raise serializers.ValidationError({"content": ["Only an assistant message may have no content."]})
        return attrs


class StreamOptionsInput(serializers.Serializer):
    include_usage = serializers.BooleanField(default=False)


class ChatCompletionInput(serializers.Serializer):
    model = serializers.CharField(max_length=200)
    messages = MessageInput(many=True, allow_empty=False)
    stream = serializers.BooleanField(default=False)
    stream_options = StreamOptionsInput(required=False, allow_null=True)
    temperature = serializers.FloatField(min_value=0, max_value=2, required=False, allow_null=True)
    max_tokens = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    max_completion_tokens = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    user = serializers.CharField(max_length=256, required=False, allow_blank=True)
    n = serializers.IntegerField(min_value=1, max_value=1, required=False, allow_null=True)
    tools = serializers.ListField(required=False, allow_null=True, max_length=0, error_messages={
        "max_length": "The agent runs its own tools; client-side tools are not supported."})

    def validate_messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not any(message["role"] == "user" for message in messages):
            raise serializers.ValidationError("The messages need at least one user message.")
        return messages

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("stream_options") and not attrs.get("stream"):
            raise serializers.ValidationError({"stream_options": ["Only allowed when stream is true."]})
        return attrs


def _history(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # "developer" is OpenAI's newer name for a system message.
    return [
        {"role": "system" if message["role"] == "developer" else message["role"], "content": message.get("content")}
        for message in messages
    ]


def _prompt_title(messages: list[dict[str, Any]]) -> str:
    last = next(message for message in reversed(messages) if message["role"] == "user")
    content = last.get("content")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if part.get("type") == "text")
    return str(content or "")


def _options(data: dict[str, Any]) -> RunOptions:
    sampling = ModelOptions(
        temperature=data.get("temperature"), max_tokens=data.get("max_completion_tokens") or data.get("max_tokens")
    )
    return RunOptions(model=sampling if sampling != ModelOptions() else None, end_user=data.get("user") or None)


# ------------------------------------------------------------------------------
# Views
# ------------------------------------------------------------------------------
class OpenAIView(OpenAIApiView):
    authentication_classes = [ApiKeyAuthentication, BearerAuthentication]


class ModelListApi(OpenAIView):
    @extend_schema(operation_id="v1_models_list", responses=ModelList, summary="The agents the caller may run, as OpenAI models")
    def get(self, request: Request) -> Response:
        agents = agent_selectors.agent_list(user=request.user).order_by("created_at", "pk")
        return Response({"object": "list", "data": [_model(agent) for agent in agents]})


class ModelDetailApi(OpenAIView):
    @extend_schema(operation_id="v1_models_retrieve", responses=ModelOutput, summary="One agent as an OpenAI model")
    def get(self, request: Request, model: str) -> Response:
        return Response(_model(agent_selectors.agent_for_model(user=request.user, model=model)))


class PendingCompletion(Response):
    """A started run whose answer is sent whole: :func:`chat_completions` awaits it, then renders it."""

    def __init__(self, *, run: AgentRun, context: render.CompletionContext) -> None:
        super().__init__()
        self.run_id, self.run_status, self.context = str(run.pk), run.status, context


class ChatCompletionsApi(OpenAIView):
    @extend_schema(
        request=ChatCompletionInput,
        responses={200: OpenApiResponse(description="chat.completion, or text/event-stream of chat.completion.chunk")},
        summary="Run an agent on OpenAI chat messages",
    )
    def post(self, request: Request) -> Any:
        data = ChatCompletionInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        agent = agent_selectors.agent_for_model(user=request.user, model=body["model"])
        run = services.run_start(
            user=request.user,
            messages=_history(body["messages"]),
            agent=agent,
            title=_prompt_title(body["messages"]),
            options=_options(body),
            endpoint=ENDPOINT,
        )
        context = render.CompletionContext(
            id=f"chatcmpl-{run.pk.hex}",
            model=str(agent.pk),
            created=int(run.created_at.timestamp()),
            include_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        )
        if not body["stream"]:
            response: Response | Any = PendingCompletion(run=run, context=context)
        else:
            response = relay(
                run_id=run.pk, status=run.status, render=render.openai_chunks(context),
                heartbeat=render.codex_heartbeat, stop_on_disconnect=True,
            )
        response["X-Codex-Run-Id"] = str(run.pk)
        response["X-Codex-Thread-Id"] = run.thread_id
        return response


_chat_completions_api = ChatCompletionsApi.as_view()


@csrf_exempt  # as DRF's view inside it is: a bearer token or key, never a cookie, signs these requests
async def chat_completions(request: HttpRequest) -> HttpResponseBase:
    """``POST /v1/chat/completions``: DRF parses, authenticates and starts the run on a thread;
    a non-streamed answer is then awaited here, on the event loop, so a request that waits
    for a long run holds no thread (Django runs sync views on one shared thread)."""
    response = await sync_to_async(_chat_completions_api)(request)
    if isinstance(response, PendingCompletion):
        events = await events_to_end(run_id=response.run_id, status=response.run_status)
        response.status_code, response.data = render.openai_completion(response.context, events)
    return response


# The schema generator documents the DRF view behind the wrapper.
chat_completions.cls = _chat_completions_api.cls  # type: ignore[attr-defined]
chat_completions.initkwargs = _chat_completions_api.initkwargs  # type: ignore[attr-defined]
