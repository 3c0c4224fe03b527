"""Request and response shapes of every conversation route, in each API's own field names."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from apps.conversations.models import AgentRun, Message, Project, Thread


def _epoch(value: Any) -> float | None:
    return value.timestamp() if value else None


# ------------------------------------------------------------------------------
# 000 — CodexEngine
# ------------------------------------------------------------------------------
class CodexThreadInput(serializers.Serializer):
    id = serializers.CharField(max_length=128)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    timestamp = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=32503680000)
    pinned = serializers.BooleanField(required=False)


class CodexThreadOutput(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    timestamp = serializers.SerializerMethodField()
    pinned = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_timestamp(self, thread: Thread) -> float:
        return thread.created_at.timestamp()


class CodexThreadList(serializers.Serializer):
    threads = CodexThreadOutput(many=True)


class CodexChatInput(serializers.Serializer):
    message = serializers.CharField(allow_blank=False, trim_whitespace=False)
    thread_id = serializers.CharField(max_length=128, required=False, allow_blank=True)
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)


class CodexHistoryItem(serializers.Serializer):
    role = serializers.CharField()
    content = serializers.CharField()
    citations = serializers.ListField(child=serializers.DictField(), required=False)


class CodexHistory(serializers.Serializer):
    history = CodexHistoryItem(many=True)


class MessageResult(serializers.Serializer):
    message = serializers.CharField()


class SseFrames(serializers.Serializer):
    """A text/event-stream or NDJSON body; documented for the schema only."""

    type = serializers.CharField()
    content = serializers.CharField(required=False)


# ------------------------------------------------------------------------------
# 002 — Sage
# ------------------------------------------------------------------------------
class SageMessageInput(serializers.Serializer):
    message_id = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    role = serializers.ChoiceField(choices=["user", "assistant", "system", "tool"], default="user")
    content = serializers.JSONField()

    def validate_content(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and all(isinstance(part, dict) for part in value):
            return value
        raise serializers.ValidationError("Content is a string or a list of content parts.")


class ChatRequest(serializers.Serializer):
    # Emptiness is checked by the service so that it answers 400 with the documented message.
    messages = SageMessageInput(many=True, allow_empty=True)
    session_id = serializers.CharField(max_length=128, required=False, allow_blank=True, allow_null=True)
    user_id = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    system_context = serializers.DictField(required=False, allow_null=True)
    agent_id = serializers.CharField(required=True, allow_blank=False, max_length=64)


class StreamRequest(ChatRequest):
    agent_id = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=64)
    agent_name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    deep_thinking = serializers.BooleanField(required=False, allow_null=True)
    max_loop_count = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=50)
    multi_agent = serializers.BooleanField(required=False, allow_null=True)
    agent_mode = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    more_suggest = serializers.BooleanField(required=False, allow_null=True)
    available_workflows = serializers.DictField(required=False, allow_null=True)
    llm_model_config = serializers.DictField(required=False, allow_null=True)
    system_prefix = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    available_tools = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    available_skills = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    available_knowledge_bases = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    available_sub_agent_ids = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    force_summary = serializers.BooleanField(required=False, allow_null=True)
    memory_type = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    custom_sub_agents = serializers.ListField(required=False, allow_null=True)
    context_budget_config = serializers.DictField(required=False, allow_null=True)
    extra_mcp_config = serializers.DictField(required=False, allow_null=True)


class ResumeQuery(serializers.Serializer):
    last_index = serializers.IntegerField(min_value=0, default=0)


class ConversationQuery(serializers.Serializer):
    search = serializers.CharField(required=False, allow_blank=True, default="")
    agent_id = serializers.CharField(required=False, allow_blank=True, default="")
    sort_by = serializers.ChoiceField(
        choices=["updated_at", "created_at", "title", "-updated_at", "-created_at", "update_time", "create_time"],
        required=False,
        default="updated_at",
    )
    user_id = serializers.CharField(required=False, allow_blank=True, default="")


class ConversationItem(serializers.Serializer):
    session_id = serializers.CharField(source="id")
    title = serializers.CharField()
    agent_id = serializers.UUIDField(allow_null=True)
    agent_name = serializers.SerializerMethodField()
    message_count = serializers.IntegerField()
    is_shared = serializers.BooleanField()
    pinned = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_agent_name(self, thread: Thread) -> str:
        return thread.agent.name if thread.agent else ""


class ConversationPage(serializers.Serializer):
    list = ConversationItem(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()


class SageMessageOutput(serializers.Serializer):
    message_id = serializers.UUIDField(source="id")
    role = serializers.CharField()
    content = serializers.SerializerMethodField()
    reasoning_content = serializers.CharField(source="reasoning")
    tool_calls = serializers.JSONField()
    tool_call_id = serializers.CharField()
    citations = serializers.JSONField()
    metadata = serializers.JSONField()
    session_id = serializers.CharField(source="thread_id")
    timestamp = serializers.SerializerMethodField()

    def get_content(self, message: Message) -> Any:
        return message.parts or message.content

    def get_timestamp(self, message: Message) -> float:
        return message.created_at.timestamp()


class ConversationMessages(serializers.Serializer):
    session_id = serializers.CharField()
    title = serializers.CharField()
    messages = SageMessageOutput(many=True)
    next_stream_index = serializers.IntegerField()


class TitleInput(serializers.Serializer):
    title = serializers.CharField(max_length=300, allow_blank=False)


class TitleResult(serializers.Serializer):
    session_id = serializers.CharField()
    title = serializers.CharField()


class SessionResult(serializers.Serializer):
    session_id = serializers.CharField()


class InterruptInput(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class InterruptResult(serializers.Serializer):
    session_id = serializers.CharField()
    interrupted = serializers.BooleanField()
    message = serializers.CharField()


class TaskStatus(serializers.Serializer):
    session_id = serializers.CharField()
    status = serializers.CharField()
    is_running = serializers.BooleanField()
    run_id = serializers.UUIDField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    next_stream_index = serializers.IntegerField()
    usage = serializers.DictField()


# ------------------------------------------------------------------------------
# 003 — agents backend
# ------------------------------------------------------------------------------
class AdminChatInput(serializers.Serializer):
    messages = SageMessageInput(many=True, allow_empty=True)
    thread_id = serializers.CharField(max_length=128, required=False, allow_blank=True, allow_null=True)
    agent_name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    resources = serializers.ListField(required=False, allow_null=True)
    mcp_settings = serializers.DictField(required=False, allow_null=True)
    enable_web_search = serializers.BooleanField(required=False, default=False)
    enable_deep_thinking = serializers.BooleanField(required=False, default=False)
    locale = serializers.CharField(required=False, allow_blank=True, max_length=20)


# ------------------------------------------------------------------------------
# 004 — agent platform
# ------------------------------------------------------------------------------
class ProjectInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class ProjectOutput(serializers.ModelSerializer):
    project_id = serializers.UUIDField(source="id")

    class Meta:
        model = Project
        fields = ["project_id", "id", "name", "description", "created_at", "updated_at"]


class ProjectList(serializers.Serializer):
    projects = ProjectOutput(many=True)


class ThreadQuery(serializers.Serializer):
    project_id = serializers.UUIDField(required=False, allow_null=True)


class ThreadInput(serializers.Serializer):
    project_id = serializers.UUIDField(required=False, allow_null=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class ThreadOutput(serializers.ModelSerializer):
    thread_id = serializers.CharField(source="id")
    name = serializers.CharField(source="title")

    class Meta:
        model = Thread
        fields = ["thread_id", "project_id", "name", "agent_id", "is_shared", "created_at", "updated_at"]


class ThreadList(serializers.Serializer):
    threads = ThreadOutput(many=True)


class RunStartInput(serializers.Serializer):
    prompt = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    message = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    model_name = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=200)
    agent_id = serializers.UUIDField(required=False, allow_null=True)
    enable_thinking = serializers.BooleanField(required=False, default=False)
    stream = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["text"] = attrs.get("prompt") or attrs.get("message") or ""
        return attrs


class InitiateInput(RunStartInput):
    project_name = serializers.CharField(required=False, allow_blank=True, max_length=200)
    project_id = serializers.UUIDField(required=False, allow_null=True)


class RunStarted(serializers.Serializer):
    agent_run_id = serializers.UUIDField()
    status = serializers.CharField()


class Initiated(RunStarted):
    thread_id = serializers.CharField()
    project_id = serializers.UUIDField()


class StreamQuery(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, required=False)


class RunOutput(serializers.ModelSerializer):
    agent_run_id = serializers.UUIDField(source="id")
    completed_at = serializers.DateTimeField(source="finished_at")

    class Meta:
        model = AgentRun
        fields = [
            "agent_run_id", "id", "thread_id", "agent_id", "status", "endpoint", "error", "usage",
            "event_count", "stop_requested", "created_at", "started_at", "completed_at",
        ]


class RunStatusOutput(serializers.ModelSerializer):
    agent_run_id = serializers.UUIDField(source="id")
    completed_at = serializers.DateTimeField(source="finished_at")

    class Meta:
        model = AgentRun
        fields = ["agent_run_id", "status", "error", "started_at", "completed_at"]


class RunList(serializers.Serializer):
    agent_runs = RunOutput(many=True)


class RunStopped(serializers.Serializer):
    agent_run_id = serializers.UUIDField()
    status = serializers.CharField()
    message = serializers.CharField()


# ------------------------------------------------------------------------------
# 000 — a thread's temporal files (kept by the knowledge app)
# ------------------------------------------------------------------------------
class TemporalThreadQuery(serializers.Serializer):
    thread_id = serializers.CharField(max_length=200)


class TemporalUploadInput(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)


class TemporalUploaded(serializers.Serializer):
    message = serializers.CharField()


class TemporalCleared(serializers.Serializer):
    message = serializers.CharField()
    storage_files_deleted = serializers.IntegerField()
    db_chunks_deleted = serializers.IntegerField()
