"""Agent paths of 002 (``/api/agent/*``) and 003 (``/api/v1/agent/config``).

Agent ids are UUIDs in the path, so ``/api/agent/initiate`` (004, conversations) stays free.
"""
from django.urls import path

from apps.agents.api import views

urlpatterns = [
    path("api/agent/list", views.AgentListApi.as_view(), name="agent-list"),
    path("api/agent/template/default_system_prompt", views.AgentDefaultSystemPromptApi.as_view(),
         name="agent-default-system-prompt"),
    path("api/agent/create", views.AgentCreateApi.as_view(), name="agent-create"),
    path("api/agent/auto-generate", views.AgentAutoGenerateApi.as_view(), name="agent-auto-generate"),
    path("api/agent/system-prompt/optimize", views.AgentPromptOptimizeApi.as_view(), name="agent-prompt-optimize"),
    path("api/agent/<uuid:agent_id>/auth", views.AgentAuthApi.as_view(), name="agent-auth"),
    path("api/agent/<uuid:agent_id>/file_workspace", views.AgentWorkspaceListApi.as_view(), name="agent-workspace"),
    path("api/agent/<uuid:agent_id>/file_workspace/download", views.AgentWorkspaceDownloadApi.as_view(),
         name="agent-workspace-download"),
    path("api/agent/<uuid:agent_id>/file_workspace/delete", views.AgentWorkspaceDeleteApi.as_view(),
         name="agent-workspace-delete"),
    path("api/agent/<uuid:agent_id>", views.AgentDetailApi.as_view(), name="agent-detail"),
    path("api/v1/agent/config", views.AgentConfigurationApi.as_view(), name="agent-config"),
]
