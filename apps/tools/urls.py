"""Tool paths of 002 (tools, skills, MCP) and 003 (MCP servers, per-user MCP settings)."""
from django.urls import path

from apps.tools.api import views

urlpatterns = [
    path("api/tools", views.ToolListApi.as_view(), name="tool-list"),
    path("api/tools/exec", views.ToolExecApi.as_view(), name="tool-exec"),
    path("api/skills", views.SkillsApi.as_view(), name="skills"),
    path("api/skills/agent-available", views.SkillAgentAvailableApi.as_view(), name="skills-agent-available"),
    path("api/skills/upload", views.SkillUploadApi.as_view(), name="skills-upload"),
    path("api/skills/import-url", views.SkillImportUrlApi.as_view(), name="skills-import-url"),
    path("api/skills/content", views.SkillContentApi.as_view(), name="skills-content"),
    path("api/mcp/add", views.MCPAddApi.as_view(), name="mcp-add"),
    path("api/mcp/list", views.MCPListApi.as_view(), name="mcp-list"),
    path("api/mcp/<str:server_name>", views.MCPServerApi.as_view(), name="mcp-server"),
    path("api/mcp/<str:server_name>/refresh", views.MCPRefreshApi.as_view(), name="mcp-refresh"),
    path("api/v1/agent/mcp/servers", views.AdminMCPServersApi.as_view(), name="admin-mcp-servers"),
    path("api/v1/agent/mcp/servers/<str:name>", views.AdminMCPServerApi.as_view(), name="admin-mcp-server"),
    path("api/v1/agent/user-settings/mcp", views.UserMCPSettingsApi.as_view(), name="user-mcp-settings"),
    path("api/v1/agent/user-settings/mcp/codex", views.UserMCPCodexApi.as_view(), name="user-mcp-codex"),
    path("api/v1/agent/user-settings/mcp/claude-code", views.UserMCPClaudeCodeApi.as_view(), name="user-mcp-claude-code"),
    path("api/v1/agent/user-settings/mcp/custom", views.UserMCPCustomApi.as_view(), name="user-mcp-custom"),
    path("api/v1/agent/user-settings/mcp/<str:tool_type>", views.UserMCPSettingApi.as_view(), name="user-mcp-setting"),
    path("api/v1/agent/user-settings/mcp/<str:tool_type>/toggle", views.UserMCPSettingToggleApi.as_view(),
         name="user-mcp-setting-toggle"),
]
