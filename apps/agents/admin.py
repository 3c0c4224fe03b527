"""Admin for agents and who they are shared with."""
from __future__ import annotations

from django.contrib import admin

from apps.agents.models import Agent, AgentGrant


class AgentGrantInline(admin.TabularInline):
    model = AgentGrant
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "llm_provider", "max_loop_count", "deep_thinking", "updated_at"]
    list_filter = ["memory_type", "deep_thinking", "multi_agent", "agent_mode"]
    search_fields = ["name", "description", "owner__username"]
    raw_id_fields = ["owner", "llm_provider"]
    inlines = [AgentGrantInline]


@admin.register(AgentGrant)
class AgentGrantAdmin(admin.ModelAdmin):
    list_display = ["agent", "user", "created_at"]
    search_fields = ["agent__name", "user__username"]
    raw_id_fields = ["agent", "user"]
