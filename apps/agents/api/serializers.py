"""Request and response shapes of the agent routes (002 AgentConfigDTO, camelCase as documented)."""
from __future__ import annotations

from rest_framework import serializers

from apps.agents.models import MAX_LOOP_LIMIT, Agent
from apps.providers.api.serializers import AvailableModelSerializer


class AgentConfigDTOSerializer(serializers.Serializer):
    """002's AgentConfigDTO; model field names stay snake_case, the documented names live here."""

    id = serializers.UUIDField(read_only=True)
    user_id = serializers.UUIDField(source="owner_id", read_only=True)
    name = serializers.CharField(max_length=200)
    systemPrefix = serializers.CharField(source="system_prefix", required=False, allow_blank=True)
    systemContext = serializers.DictField(source="system_context", required=False)
    availableWorkflows = serializers.DictField(source="available_workflows", required=False)
    availableTools = serializers.ListField(
        source="available_tools", child=serializers.CharField(max_length=200), required=False, max_length=200
    )
    availableSubAgentIds = serializers.ListField(
        source="available_sub_agent_ids", child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    availableSkills = serializers.ListField(
        source="available_skills", child=serializers.CharField(max_length=200), required=False, max_length=200
    )
    availableKnowledgeBases = serializers.ListField(
        source="available_knowledge_bases", child=serializers.CharField(max_length=100), required=False, max_length=200
    )
    memoryType = serializers.ChoiceField(source="memory_type", choices=Agent.MemoryType.choices, required=False)
    maxLoopCount = serializers.IntegerField(source="max_loop_count", min_value=1, max_value=MAX_LOOP_LIMIT,
                                            required=False)
    deepThinking = serializers.BooleanField(source="deep_thinking", required=False)
    llm_provider_id = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    enableMultimodal = serializers.BooleanField(source="enable_multimodal", required=False)
    multiAgent = serializers.BooleanField(source="multi_agent", required=False)
    agentMode = serializers.CharField(source="agent_mode", max_length=50, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    is_owner = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def get_is_owner(self, agent: Agent) -> bool:
        user = self.context.get("user")
        return bool(user and agent.owner_id == user.pk)

    def to_representation(self, agent: Agent) -> dict:
        data = super().to_representation(agent)
        data["llm_provider_id"] = str(agent.llm_provider_id) if agent.llm_provider_id else None
        return data


class AgentIdSerializer(serializers.Serializer):
    agent_id = serializers.UUIDField()


class DefaultPromptQuerySerializer(serializers.Serializer):
    language = serializers.CharField(required=False, default="en", max_length=20)


class ContentSerializer(serializers.Serializer):
    content = serializers.CharField()


class AutoGenerateInputSerializer(serializers.Serializer):
    agent_description = serializers.CharField(max_length=5000)
    available_tools = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)


class AutoGenerateOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    systemPrefix = serializers.CharField()
    availableTools = serializers.ListField(child=serializers.CharField())
    availableSubAgentIds = serializers.ListField(child=serializers.CharField())
    availableSkills = serializers.ListField(child=serializers.CharField())
    availableKnowledgeBases = serializers.ListField(child=serializers.CharField())
    memoryType = serializers.CharField()
    maxLoopCount = serializers.IntegerField()
    deepThinking = serializers.BooleanField()
    enableMultimodal = serializers.BooleanField()
    multiAgent = serializers.BooleanField()
    agentMode = serializers.CharField()
    generated_by = serializers.ChoiceField(choices=["model", "offline"])


class OptimizeInputSerializer(serializers.Serializer):
    original_prompt = serializers.CharField(max_length=20000)
    optimization_goal = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class OptimizeOutputSerializer(serializers.Serializer):
    optimized_prompt = serializers.CharField()
    original_prompt = serializers.CharField()
    optimization_goal = serializers.CharField(allow_blank=True)
    generated_by = serializers.ChoiceField(choices=["model", "offline"])


class GrantInputSerializer(serializers.Serializer):
    user_ids = serializers.ListField(child=serializers.CharField(max_length=64), max_length=1000, allow_empty=True)


class GrantedUserSerializer(serializers.Serializer):
    """Usernames only: a grant list must not be a way to read other people's emails."""

    user_id = serializers.UUIDField(source="user.pk")
    username = serializers.CharField(source="user.username")
    granted_at = serializers.DateTimeField(source="created_at")


class GrantListSerializer(serializers.Serializer):
    agent_id = serializers.UUIDField()
    users = GrantedUserSerializer(many=True)
    user_ids = serializers.ListField(child=serializers.UUIDField())


class WorkspaceQuerySerializer(serializers.Serializer):
    session_id = serializers.CharField(required=False, allow_blank=True, max_length=128)


class WorkspaceFileQuerySerializer(WorkspaceQuerySerializer):
    file_path = serializers.CharField(max_length=1000)


class WorkspaceFileSerializer(serializers.Serializer):
    path = serializers.CharField()
    name = serializers.CharField()
    size = serializers.IntegerField()
    modified = serializers.DateTimeField(allow_null=True)


class WorkspaceListSerializer(serializers.Serializer):
    agent_id = serializers.UUIDField()
    session_id = serializers.CharField(allow_null=True)
    files = WorkspaceFileSerializer(many=True)


class WorkspaceDeleteSerializer(serializers.Serializer):
    file_path = serializers.CharField()
    deleted = serializers.BooleanField()


class ToolSummarySerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    type = serializers.CharField()


class DefaultAgentSerializer(serializers.Serializer):
    name = serializers.CharField()
    system_prompt = serializers.CharField()
    max_loop_count = serializers.IntegerField()
    deep_thinking = serializers.BooleanField()
    tools = serializers.ListField(child=serializers.CharField())
    model = serializers.CharField()


class AgentConfigurationSerializer(serializers.Serializer):
    models = AvailableModelSerializer(many=True)
    tools = ToolSummarySerializer(many=True)
    default_agent = DefaultAgentSerializer()
    offline = serializers.BooleanField(help_text="True when no provider is configured and the offline model answers.")
