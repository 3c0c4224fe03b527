"""The documented conversation paths of 000, 002, 003 and 004, and the OpenAI-compatible /v1."""
from django.urls import path

from apps.conversations.api import openai, views

urlpatterns = [
    # 000 — CodexEngine
    path("threads", views.CodexThreadsApi.as_view()),
    path("threads/<str:thread_id>", views.CodexThreadDeleteApi.as_view()),
    path("chat/stream", views.CodexChatStreamApi.as_view()),
    path("chat/<str:thread_id>/history", views.CodexChatHistoryApi.as_view()),
    path("upload/temporal", views.CodexTemporalUploadApi.as_view(), name="codex-upload-temporal"),
    path("chat/<str:thread_id>/temporal", views.CodexThreadTemporalClearApi.as_view(), name="codex-thread-temporal"),
    # 002 — Sage
    path("api/chat", views.SageChatApi.as_view()),
    path("api/stream", views.SageStreamApi.as_view()),
    path("api/web-stream", views.SageWebStreamApi.as_view()),
    path("api/stream/resume/<str:session_id>", views.SageResumeApi.as_view()),
    path("api/stream/active_sessions", views.SageActiveSessionsApi.as_view()),
    path("api/conversations", views.SageConversationsApi.as_view()),
    path("api/conversations/<str:session_id>/messages", views.SageConversationMessagesApi.as_view()),
    path("api/share/conversations/<str:session_id>/messages", views.SageSharedMessagesApi.as_view()),
    path("api/conversations/<str:session_id>/title", views.SageConversationTitleApi.as_view()),
    path("api/conversations/<str:session_id>", views.SageConversationDeleteApi.as_view()),
    path("api/sessions/<str:session_id>/interrupt", views.SageInterruptApi.as_view()),
    path("api/sessions/<str:session_id>/tasks_status", views.SageTasksStatusApi.as_view()),
    # 003 — agents backend
    path("api/v1/agent/chat/stream", views.AdminChatStreamApi.as_view()),
    # 004 — agent platform
    path("api/projects", views.PlatformProjectsApi.as_view()),
    path("api/projects/<str:project_id>", views.PlatformProjectDetailApi.as_view()),
    path("api/threads", views.PlatformThreadsApi.as_view()),
    path("api/thread/<str:thread_id>/agent/start", views.PlatformRunStartApi.as_view()),
    path("api/thread/<str:thread_id>/agent-runs", views.PlatformThreadRunsApi.as_view()),
    path("api/agent-run/<str:agent_run_id>/stream", views.PlatformRunStreamApi.as_view()),
    path("api/agent-run/<str:agent_run_id>/stop", views.PlatformRunStopApi.as_view()),
    path("api/agent-run/<str:agent_run_id>/status", views.PlatformRunStatusApi.as_view()),
    path("api/agent-run/<str:agent_run_id>", views.PlatformRunDetailApi.as_view()),
    path("api/agent/initiate", views.PlatformInitiateApi.as_view()),
    # OpenAI-compatible (docs/openai-api.md)
    path("v1/models", openai.ModelListApi.as_view()),
    path("v1/models/<path:model>", openai.ModelDetailApi.as_view()),
    path("v1/chat/completions", openai.chat_completions),
]
