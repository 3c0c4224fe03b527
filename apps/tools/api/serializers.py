"""Request and response shapes of 002's tool routes."""
from __future__ import annotations

from rest_framework import serializers


class ToolQuerySerializer(serializers.Serializer):
    type = serializers.CharField(required=False, allow_blank=True, max_length=50)


class ToolSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    type = serializers.CharField()
    parameters = serializers.DictField()


class ToolListSerializer(serializers.Serializer):
    tools = ToolSerializer(many=True)


class ToolExecInputSerializer(serializers.Serializer):
    tool_name = serializers.CharField(max_length=200)
    tool_params = serializers.JSONField(required=False, default=dict)


class ToolExecOutputSerializer(serializers.Serializer):
    tool_name = serializers.CharField()
    result = serializers.CharField(allow_blank=True)


# ------------------------------------------------------------------------------
# Skills (002)
# ------------------------------------------------------------------------------
class SkillQuerySerializer(serializers.Serializer):
    agent_id = serializers.CharField(required=False, allow_blank=True, default="")
    dimension = serializers.ChoiceField(choices=["", "all", "system", "user", "agent"], required=False, default="")


class SkillAgentQuerySerializer(serializers.Serializer):
    agent_id = serializers.CharField()


class SkillNameQuerySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    agent_id = serializers.CharField(required=False, allow_blank=True, default="")


class SkillScopeSerializer(serializers.Serializer):
    is_system = serializers.BooleanField(required=False, default=False)
    is_agent = serializers.BooleanField(required=False, default=False)
    agent_id = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)


class SkillUploadSerializer(SkillScopeSerializer):
    file = serializers.FileField()


class SkillImportSerializer(SkillScopeSerializer):
    url = serializers.URLField(max_length=2000)


class SkillContentSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64)
    content = serializers.CharField(trim_whitespace=False)
    agent_id = serializers.CharField(required=False, allow_blank=True, default="")


class SkillOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    scope = serializers.CharField()
    is_system = serializers.SerializerMethodField()
    is_agent = serializers.SerializerMethodField()
    agent_id = serializers.UUIDField(allow_null=True)
    version = serializers.IntegerField()
    files = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    def get_is_system(self, skill) -> bool:
        return skill.scope == "system"

    def get_is_agent(self, skill) -> bool:
        return skill.scope == "agent"

    def get_files(self, skill) -> list[str]:
        return [file.path for file in skill.files.all()]


class SkillListSerializer(serializers.Serializer):
    skills = SkillOutputSerializer(many=True)


class SkillContentOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    content = serializers.CharField()
    version = serializers.IntegerField()


class SkillSavedSerializer(serializers.Serializer):
    user_id = serializers.CharField()
    name = serializers.CharField()
    version = serializers.IntegerField()


# ------------------------------------------------------------------------------
# MCP servers (002 /api/mcp/*, 003 /api/v1/agent/mcp/servers, 003 user settings)
# ------------------------------------------------------------------------------
class MCPServerRequestSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=48)
    protocol = serializers.ChoiceField(choices=["streamable_http", "sse", "stdio"], required=False, allow_null=True)
    streamable_http_url = serializers.URLField(max_length=2000, required=False, allow_null=True, allow_blank=True)
    sse_url = serializers.URLField(max_length=2000, required=False, allow_null=True, allow_blank=True)
    url = serializers.URLField(max_length=2000, required=False, allow_null=True, allow_blank=True)
    api_key = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=4000)
    command = serializers.ListField(child=serializers.CharField(max_length=1000), required=False, allow_null=True,
                                    max_length=50)
    allow_private = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        protocol = attrs.get("protocol")
        if not protocol:
            protocol = "stdio" if attrs.get("command") else "sse" if attrs.get("sse_url") else "streamable_http"
        url = attrs.get("sse_url") if protocol == "sse" else attrs.get("streamable_http_url")
        attrs["transport"] = protocol
        attrs["url"] = url or attrs.get("url") or ""
        if protocol != "stdio" and not attrs["url"]:
            field = "sse_url" if protocol == "sse" else "streamable_http_url"
            raise serializers.ValidationError({field: ["This protocol needs its URL."]})
        return attrs


class MCPServerOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    server_name = serializers.CharField(source="name")
    protocol = serializers.CharField(source="transport")
    url = serializers.CharField()
    status = serializers.CharField()
    error = serializers.CharField()
    is_active = serializers.BooleanField()
    has_api_key = serializers.SerializerMethodField()
    allow_private = serializers.BooleanField()
    tools = serializers.JSONField()
    refreshed_at = serializers.DateTimeField(allow_null=True)

    def get_has_api_key(self, server) -> bool:
        return bool(server.api_key)


class MCPServerStatusSerializer(serializers.Serializer):
    server_name = serializers.CharField(source="name")
    status = serializers.CharField()
    error = serializers.CharField()
    tools_count = serializers.SerializerMethodField()

    def get_tools_count(self, server) -> int:
        return len(server.tools or [])


class CodexSettingSerializer(serializers.Serializer):
    apikey = serializers.CharField(max_length=4000)
    model = serializers.CharField(max_length=200, required=False, default="gpt-4o")
    model_reasoning_effort = serializers.ChoiceField(choices=["minimal", "low", "medium", "high"], required=False,
                                                     default="medium")
    search = serializers.BooleanField(required=False, default=False)


class ClaudeCodeSettingSerializer(serializers.Serializer):
    authorization_code = serializers.RegexField(r"^[^#\s]+#[^#\s]+$", max_length=4000,
                                                error_messages={"invalid": "Expected 'code#verifier'."})


class UserMCPSettingSerializer(serializers.Serializer):
    tool_type = serializers.CharField(source="name")
    source = serializers.CharField()
    is_active = serializers.BooleanField()
    status = serializers.CharField()
    error = serializers.CharField()
    url = serializers.CharField()
    config = serializers.JSONField()
    has_api_key = serializers.SerializerMethodField()
    tools = serializers.JSONField()
    updated_at = serializers.DateTimeField()

    def get_has_api_key(self, server) -> bool:
        return bool(server.api_key)


# ------------------------------------------------------------------------------
# Toolkits and toolkit profiles (004 /api/composio/*, /api/composio-secure/*)
# ------------------------------------------------------------------------------
class ToolkitListQuerySerializer(serializers.Serializer):
    category = serializers.SlugField(required=False, allow_blank=True, default="", max_length=64)
    search = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    cursor = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    limit = serializers.IntegerField(required=False, default=50, min_value=1, max_value=100)


class ToolkitToolsQuerySerializer(serializers.Serializer):
    toolkit_slug = serializers.SlugField(max_length=64)
    limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=200)


class ProfileListQuerySerializer(serializers.Serializer):
    toolkit_slug = serializers.SlugField(required=False, allow_blank=True, default="", max_length=64)


class ProfileNameQuerySerializer(serializers.Serializer):
    toolkit_slug = serializers.SlugField(max_length=64)
    profile_name = serializers.CharField(max_length=100)


class ConnectionListQuerySerializer(serializers.Serializer):
    app_name = serializers.SlugField(required=False, allow_blank=True, default="", max_length=64)


def _field_values() -> serializers.DictField:
    return serializers.DictField(child=serializers.JSONField(), required=False, allow_empty=True)


def _tool_names(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=200), max_length=500, **kwargs)


class ProfileCreateSerializer(serializers.Serializer):
    toolkit_slug = serializers.SlugField(max_length=64)
    profile_name = serializers.CharField(max_length=100)
    display_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    mcp_server_name = serializers.CharField(max_length=48, required=False, allow_blank=True, default="")
    #: Accepted for clients of the hosted API; a self-hosted profile has no OAuth redirect.
    redirect_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, allow_null=True)
    initiation_params = _field_values()
    use_custom_auth = serializers.BooleanField(required=False, default=False)
    custom_auth_config = _field_values()
    is_default = serializers.BooleanField(required=False, default=False)
    is_default_for_dashboard = serializers.BooleanField(required=False, default=False)
    enabled_tools = _tool_names(required=False, allow_null=True, default=None)
    allow_private = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs):
        # The toolkit's fields may come as initiation_params, or as custom_auth_config with use_custom_auth.
        custom = attrs.pop("custom_auth_config", {}) if attrs.pop("use_custom_auth") else {}
        attrs.pop("custom_auth_config", None)
        attrs["values"] = {**attrs.pop("initiation_params", {}), **custom}
        attrs["server_name"] = attrs.pop("mcp_server_name")
        attrs.pop("redirect_url", None)
        return attrs


class ProfileUpdateSerializer(serializers.Serializer):
    profile_name = serializers.CharField(max_length=100, required=False)
    display_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)
    is_default = serializers.BooleanField(required=False)
    is_default_for_dashboard = serializers.BooleanField(required=False)
    enabled_tools = _tool_names(required=False)
    initiation_params = _field_values()
    allow_private = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if "initiation_params" in attrs:
            attrs["values"] = attrs.pop("initiation_params")
        return attrs


class ProfileToolsSerializer(serializers.Serializer):
    enabled_tools = _tool_names()


class BulkDeleteSerializer(serializers.Serializer):
    profile_ids = serializers.ListField(child=serializers.UUIDField(), allow_empty=False, max_length=500)


class ToggleActiveQuerySerializer(serializers.Serializer):
    is_active = serializers.BooleanField(required=False, allow_null=True, default=None)
