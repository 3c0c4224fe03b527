"""Conversation routes of all five APIs: parse, call one service or selector, shape the answer.

Streaming routes authenticate and start (or find) the run before the first byte,
so every error still comes out in its API's shape with a real status; the body
then streams from the run's events (see ``relay``).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.authentication import BearerAuthentication, CsrfSessionAuthentication
from apps.agents import selectors as agent_selectors
from apps.agents.runtime import RunOptions
from apps.conversations import selectors, services
from apps.conversations.api import render
from apps.conversations.api import serializers as s
from apps.conversations.api.relay import relay
from apps.conversations.models import AgentRun, Thread
from apps.conversations.streams import active_sessions
from apps.core import throttle
from apps.core.api.pagination import paginate, parse_page
from apps.core.api.views import AdminApiView, CodexApiView, PlatformApiView, SageApiView, StreamingRouteMixin
from apps.core.streaming import sse_comment, sse_frame, sse_response, with_heartbeat
from apps.knowledge import services as knowledge_services

SSE = OpenApiResponse(description="text/event-stream: the run's events in this API's frame format.")
NDJSON = OpenApiResponse(description="text/plain: one JSON object per line; the last is stream_end.")


def _throttle_stream(request: Request) -> None:
    throttle.check(
        "run-stream", str(request.user.pk), settings.RUN_STREAM_THROTTLE, message="Too many streams opened; wait a moment."
    )


def _context(run: AgentRun, *, agent_name: str = "") -> render.StreamContext:
    name = agent_name or (run.agent.name if run.agent_id and run.agent else "") or RunOptions.from_json(run.options).agent_name or ""
    return render.StreamContext(thread_id=run.thread_id, message_id=str(run.response_message_id), agent_name=name)


# ------------------------------------------------------------------------------
# 000 — CodexEngine
# ------------------------------------------------------------------------------
class CodexThreadsApi(CodexApiView):
    @extend_schema(responses=s.CodexThreadList, summary="List threads, pinned first, newest first")
    def get(self, request: Request) -> Response:
        threads = selectors.thread_list(user=request.user)
        return Response({"threads": s.CodexThreadOutput(threads, many=True).data})

    @extend_schema(request=s.CodexThreadInput, responses=s.MessageResult, summary="Save a thread (upsert on its id)")
    def post(self, request: Request) -> Response:
        data = s.CodexThreadInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.thread_upsert(
            owner=request.user,
            thread_id=data.validated_data["id"],
            title=data.validated_data.get("title"),
            pinned=data.validated_data.get("pinned"),
            timestamp=data.validated_data.get("timestamp"),
        )
        return Response({"message": "Thread saved"})


class CodexThreadDeleteApi(CodexApiView):
    @extend_schema(responses=s.MessageResult, summary="Delete a thread and its messages")
    def delete(self, request: Request, thread_id: str) -> Response:
        services.thread_delete(thread=selectors.thread_get(user=request.user, thread_id=thread_id))
        return Response({"message": "Thread deleted"})


class CodexChatStreamApi(StreamingRouteMixin, CodexApiView):
    @extend_schema(request=s.CodexChatInput, responses={200: SSE}, summary="Chat; SSE status/token/sources/done")
    def post(self, request: Request) -> Any:
        data = s.CodexChatInput(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.run_start(
            user=request.user,
            messages=[{"role": "user", "content": data.validated_data["message"]}],
            thread_id=data.validated_data.get("thread_id") or "",
            title=data.validated_data.get("title") or "",
            endpoint="000 /chat/stream",
        )
        return relay(
            run_id=run.pk, status=run.status, render=render.codex(_context(run)), heartbeat=render.codex_heartbeat
        )


class CodexChatHistoryApi(CodexApiView):
    @extend_schema(responses=s.CodexHistory, summary="A thread's messages")
    def get(self, request: Request, thread_id: str) -> Response:
        thread = selectors.thread_get(user=request.user, thread_id=thread_id)
        history = []
        for message in selectors.thread_messages(thread=thread).filter(role__in=["user", "assistant"]):
            item: dict[str, Any] = {"role": message.role, "content": message.content}
            if message.citations:
                item["citations"] = message.citations
            history.append(item)
        return Response({"history": history})


class CodexTemporalUploadApi(CodexApiView):
    """Store a file for one of the user's threads and ingest it before answering."""

    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(tags=["000 documents"], parameters=[s.TemporalThreadQuery], request=s.TemporalUploadInput,
                   responses={200: s.TemporalUploaded})
    def post(self, request: Request) -> Response:
        query = s.TemporalThreadQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = s.TemporalUploadInput(data=request.data)
        data.is_valid(raise_exception=True)
        thread_id = query.validated_data["thread_id"]
        # The thread is ours to vouch for; the knowledge app keeps the file by the thread's id.
        selectors.thread_ensure_not_foreign(user=request.user, thread_id=thread_id)
        document = knowledge_services.document_create_temporal(
            owner=request.user, upload=data.validated_data["file"], thread_id=thread_id
        )
        return Response({"message": f"Successfully uploaded and ingested {document.filename} temporally"})


class CodexThreadTemporalClearApi(CodexApiView):
    """Delete every temporal file of one of the user's threads."""

    @extend_schema(tags=["000 documents"], responses={200: s.TemporalCleared})
    def delete(self, request: Request, thread_id: str) -> Response:
        selectors.thread_ensure_not_foreign(user=request.user, thread_id=thread_id)
        files, chunks = knowledge_services.thread_temporal_clear(owner=request.user, thread_id=thread_id)
        return Response(
            {
                "message": f"Cleared temporal chunks for session {thread_id}",
                "storage_files_deleted": files,
                "db_chunks_deleted": chunks,
            }
        )


# ------------------------------------------------------------------------------
# 002 — Sage
# ------------------------------------------------------------------------------
class SageView(SageApiView):
    authentication_classes = [BearerAuthentication, CsrfSessionAuthentication]


class _SageChatBase(StreamingRouteMixin, SageView):
    input_serializer: type[s.ChatRequest] = s.ChatRequest
    endpoint = ""
    stop_on_disconnect = True

    def post(self, request: Request) -> Any:
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        body = dict(data.validated_data)
        messages = body.pop("messages")
        agent = agent_selectors.agent_get(user=request.user, agent_id=body["agent_id"]) if body.get("agent_id") else None
        options = RunOptions.from_request({key: value for key, value in body.items() if value is not None})
        run = services.run_start(
            user=request.user,
            messages=[dict(message) for message in messages],
            thread_id=body.get("session_id") or "",
            agent=agent,
            options=options,
            endpoint=self.endpoint,
        )
        return relay(
            run_id=run.pk,
            status=run.status,
            render=render.sage(_context(run, agent_name=body.get("agent_name") or "")),
            heartbeat=render.sage_heartbeat,
            ndjson=True,
            stop_on_disconnect=self.stop_on_disconnect,
        )


class SageChatApi(_SageChatBase):
    endpoint = "002 /api/chat"

    @extend_schema(request=s.ChatRequest, responses={200: NDJSON}, summary="Chat with an agent (NDJSON)")
    def post(self, request: Request) -> Any:
        return super().post(request)


class SageStreamApi(_SageChatBase):
    input_serializer = s.StreamRequest
    endpoint = "002 /api/stream"

    @extend_schema(request=s.StreamRequest, responses={200: NDJSON}, summary="Chat with overrides (NDJSON)")
    def post(self, request: Request) -> Any:
        return super().post(request)


class SageWebStreamApi(_SageChatBase):
    input_serializer = s.StreamRequest
    endpoint = "002 /api/web-stream"
    stop_on_disconnect = False

    @extend_schema(request=s.StreamRequest, responses={200: NDJSON}, summary="Chat that outlives its client (NDJSON)")
    def post(self, request: Request) -> Any:
        return super().post(request)


class SageResumeApi(StreamingRouteMixin, SageView):
    @extend_schema(parameters=[s.ResumeQuery], responses={200: NDJSON}, summary="Replay lines from last_index, then follow")
    def get(self, request: Request, session_id: str) -> Any:
        query = s.ResumeQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        run = selectors.run_latest_for_thread(user=request.user, thread_id=session_id)
        _throttle_stream(request)
        return relay(
            run_id=run.pk,
            status=run.status,
            render=render.sage(_context(run)),
            heartbeat=render.sage_heartbeat,
            ndjson=True,
            after=query.validated_data["last_index"],
        )


class SageActiveSessionsApi(StreamingRouteMixin, SageView):
    @extend_schema(responses={200: SSE}, summary="SSE: the user's running sessions, a snapshot then updates")
    def get(self, request: Request) -> Any:
        _throttle_stream(request)

        async def frames(user: Any = request.user) -> Any:
            async for message in active_sessions(user=user):
                yield sse_frame(message)

        return sse_response(with_heartbeat(frames(), lambda: sse_comment("ping")))


class SageConversationsApi(SageView):
    @extend_schema(
        parameters=[s.ConversationQuery, OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses=s.ConversationPage,
        summary="The user's conversations, paginated",
    )
    def get(self, request: Request) -> Response:
        page, page_size = parse_page(request.query_params)
        query = s.ConversationQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        threads = selectors.conversation_search(
            user=request.user,
            search=query.validated_data["search"],
            agent_id=query.validated_data["agent_id"],
            sort_by=query.validated_data["sort_by"],
            owner_id=query.validated_data["user_id"],
        )
        result = paginate(threads, page=page, page_size=page_size)
        return Response(
            {
                "list": s.ConversationItem(result.items, many=True).data,
                "total": result.total,
                "page": result.page,
                "page_size": result.page_size,
            }
        )


def _messages_payload(thread: Thread) -> dict[str, Any]:
    return {
        "session_id": thread.id,
        "title": thread.title,
        "messages": s.SageMessageOutput(selectors.thread_messages(thread=thread), many=True).data,
        "next_stream_index": selectors.thread_next_stream_index(thread=thread),
    }


class SageConversationMessagesApi(SageView):
    @extend_schema(responses=s.ConversationMessages, summary="A conversation's messages")
    def get(self, request: Request, session_id: str) -> Response:
        return Response(_messages_payload(selectors.thread_get(user=request.user, thread_id=session_id)))


class SageSharedMessagesApi(SageView):
    permission_classes = [AllowAny]

    @extend_schema(responses=s.ConversationMessages, summary="A shared conversation's messages (public)")
    def get(self, request: Request, session_id: str) -> Response:
        return Response(_messages_payload(selectors.thread_get_shared(thread_id=session_id)))


class SageConversationTitleApi(SageView):
    @extend_schema(request=s.TitleInput, responses=s.TitleResult, summary="Rename a conversation")
    def post(self, request: Request, session_id: str) -> Response:
        data = s.TitleInput(data=request.data)
        data.is_valid(raise_exception=True)
        thread = services.thread_rename(
            thread=selectors.thread_get(user=request.user, thread_id=session_id), title=data.validated_data["title"]
        )
        return Response({"session_id": thread.id, "title": thread.title})


class SageConversationDeleteApi(SageView):
    @extend_schema(responses=s.SessionResult, summary="Delete a conversation")
    def delete(self, request: Request, session_id: str) -> Response:
        services.thread_delete(thread=selectors.thread_get(user=request.user, thread_id=session_id))
        return Response({"session_id": session_id})


class SageInterruptApi(SageView):
    @extend_schema(request=s.InterruptInput, responses=s.InterruptResult, summary="Stop a running session")
    def post(self, request: Request, session_id: str) -> Response:
        data = s.InterruptInput(data=request.data)
        data.is_valid(raise_exception=True)
        runs = services.thread_interrupt(thread=selectors.thread_get(user=request.user, thread_id=session_id))
        message = data.validated_data.get("message") or ("Interrupt requested." if runs else "Nothing is running.")
        return Response({"session_id": session_id, "interrupted": bool(runs), "message": message})


class SageTasksStatusApi(SageView):
    @extend_schema(request=None, responses=s.TaskStatus, summary="The session's run progress")
    def post(self, request: Request, session_id: str) -> Response:
        thread = selectors.thread_get(user=request.user, thread_id=session_id)
        run = thread.runs.order_by("-created_at").first()
        return Response(
            {
                "session_id": thread.id,
                "status": run.status if run else "idle",
                "is_running": bool(run and not run.is_finished),
                "run_id": str(run.pk) if run else None,
                "started_at": run.started_at if run else None,
                "finished_at": run.finished_at if run else None,
                "next_stream_index": selectors.thread_next_stream_index(thread=thread),
                "usage": run.usage if run else {},
            }
        )


# ------------------------------------------------------------------------------
# 003 — agents backend
# ------------------------------------------------------------------------------
class AdminChatStreamApi(StreamingRouteMixin, AdminApiView):
    @extend_schema(request=s.AdminChatInput, responses={200: SSE}, summary="Chat; SSE event: <type> frames")
    def post(self, request: Request) -> Any:
        data = s.AdminChatInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        thread_id = body.get("thread_id") or ""
        run = services.run_start(
            user=request.user,
            messages=[dict(message) for message in body["messages"]],
            thread_id="" if thread_id == "__default__" else thread_id,
            options=RunOptions.from_request(body),
            endpoint="003 /api/v1/agent/chat/stream",
        )
        return relay(
            run_id=run.pk,
            status=run.status,
            render=render.admin(_context(run, agent_name=body.get("agent_name") or "")),
            heartbeat=render.codex_heartbeat,
        )


# ------------------------------------------------------------------------------
# 004 — agent platform
# ------------------------------------------------------------------------------
class PlatformProjectsApi(PlatformApiView):
    @extend_schema(responses=s.ProjectList, summary="The user's projects")
    def get(self, request: Request) -> Response:
        return Response({"projects": s.ProjectOutput(selectors.project_list(user=request.user), many=True).data})

    @extend_schema(request=s.ProjectInput, responses={201: s.ProjectOutput}, summary="Create a project")
    def post(self, request: Request) -> Response:
        data = s.ProjectInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_create(owner=request.user, **data.validated_data)
        return Response(s.ProjectOutput(project).data, status=status.HTTP_201_CREATED)


class PlatformProjectDetailApi(PlatformApiView):
    @extend_schema(responses=s.ProjectOutput, summary="A project")
    def get(self, request: Request, project_id: str) -> Response:
        return Response(s.ProjectOutput(selectors.project_get(user=request.user, project_id=project_id)).data)


class PlatformThreadsApi(PlatformApiView):
    @extend_schema(parameters=[s.ThreadQuery], responses=s.ThreadList, summary="Threads, optionally of one project")
    def get(self, request: Request) -> Response:
        query = s.ThreadQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        threads = selectors.thread_list(user=request.user, project_id=query.validated_data.get("project_id"))
        return Response({"threads": s.ThreadOutput(threads, many=True).data})

    @extend_schema(request=s.ThreadInput, responses={201: s.ThreadOutput}, summary="Create a thread")
    def post(self, request: Request) -> Response:
        data = s.ThreadInput(data=request.data)
        data.is_valid(raise_exception=True)
        project_id = data.validated_data.get("project_id")
        project = selectors.project_get(user=request.user, project_id=project_id) if project_id else None
        thread = services.thread_create(owner=request.user, project=project, title=data.validated_data["name"])
        return Response(s.ThreadOutput(thread).data, status=status.HTTP_201_CREATED)


def _platform_agent(request: Request, agent_id: Any) -> Any:
    return agent_selectors.agent_get(user=request.user, agent_id=agent_id) if agent_id else None


def _platform_options(data: dict[str, Any]) -> RunOptions:
    return RunOptions.from_request({"enable_thinking": data.get("enable_thinking", False), "model_name": data.get("model_name")})


class PlatformRunStartApi(PlatformApiView):
    @extend_schema(request=s.RunStartInput, responses=s.RunStarted, summary="Start an agent run on a thread")
    def post(self, request: Request, thread_id: str) -> Response:
        data = s.RunStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.run_start(
            user=request.user,
            thread=selectors.thread_get(user=request.user, thread_id=thread_id),
            messages=[{"role": "user", "content": data.validated_data["text"]}],
            agent=_platform_agent(request, data.validated_data.get("agent_id")),
            options=_platform_options(data.validated_data),
            endpoint="004 /api/thread/agent/start",
        )
        return Response({"agent_run_id": str(run.pk), "status": "running"})


class PlatformInitiateApi(PlatformApiView):
    @extend_schema(request=s.InitiateInput, responses=s.Initiated, summary="Create project + thread + run in one call")
    def post(self, request: Request) -> Response:
        data = s.InitiateInput(data=request.data)
        data.is_valid(raise_exception=True)
        body = data.validated_data
        run = services.run_initiate(
            user=request.user,
            text=body["text"],
            project=selectors.project_get(user=request.user, project_id=body["project_id"]) if body.get("project_id") else None,
            project_name=body.get("project_name") or "",
            agent=_platform_agent(request, body.get("agent_id")),
            options=_platform_options(body),
        )
        return Response(
            {"thread_id": run.thread_id, "project_id": str(run.thread.project_id), "agent_run_id": str(run.pk), "status": "running"}
        )


class PlatformRunStreamApi(StreamingRouteMixin, PlatformApiView):
    allow_query_token = True

    @extend_schema(
        parameters=[s.StreamQuery, OpenApiParameter("token", str), OpenApiParameter("Last-Event-ID", str, location="header")],
        responses={200: SSE},
        summary="SSE of a run's events (event: message, rising sequence); resumable",
    )
    def get(self, request: Request, agent_run_id: str) -> Any:
        query = s.StreamQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        run = selectors.run_get(user=request.user, run_id=agent_run_id)
        _throttle_stream(request)
        after = query.validated_data.get("after")
        if after is None:
            last_event_id = request.headers.get("Last-Event-ID", "").strip()
            after = int(last_event_id) if last_event_id.isdigit() else 0
        return relay(
            run_id=run.pk,
            status=run.status,
            render=render.platform(_context(run)),
            heartbeat=render.platform_heartbeat,
            after=after,
        )


class PlatformRunStopApi(PlatformApiView):
    @extend_schema(request=None, responses=s.RunStopped, summary="Stop an active run")
    def post(self, request: Request, agent_run_id: str) -> Response:
        run = services.run_request_stop(run=selectors.run_get(user=request.user, run_id=agent_run_id))
        message = "The run has already finished." if run.is_finished else "Stop requested."
        return Response({"agent_run_id": str(run.pk), "status": run.status, "message": message})


class PlatformRunDetailApi(PlatformApiView):
    @extend_schema(responses=s.RunOutput, summary="An agent run")
    def get(self, request: Request, agent_run_id: str) -> Response:
        return Response(s.RunOutput(selectors.run_get(user=request.user, run_id=agent_run_id)).data)


class PlatformRunStatusApi(PlatformApiView):
    @extend_schema(responses=s.RunStatusOutput, summary="An agent run's status")
    def get(self, request: Request, agent_run_id: str) -> Response:
        return Response(s.RunStatusOutput(selectors.run_get(user=request.user, run_id=agent_run_id)).data)


class PlatformThreadRunsApi(PlatformApiView):
    @extend_schema(responses=s.RunList, summary="A thread's runs, newest first")
    def get(self, request: Request, thread_id: str) -> Response:
        runs = selectors.run_list_for_thread(user=request.user, thread_id=thread_id)
        return Response({"agent_runs": s.RunOutput(runs, many=True).data})
