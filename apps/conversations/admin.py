"""Projects, threads with their messages, runs (stoppable) and their events (read-only)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.conversations import services
from apps.conversations.models import AgentRun, Message, Project, RunEvent, Thread


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at", "updated_at"]
    search_fields = ["name", "owner__username", "owner__email"]
    raw_id_fields = ["owner"]


class MessageInline(admin.TabularInline):
    model = Message
    fields = ["role", "content", "tool_call_id", "created_at"]
    readonly_fields = ["created_at"]
    extra = 0
    show_change_link = True


@admin.register(Thread)
class ThreadAdmin(admin.ModelAdmin):
    list_display = ["id", "title", "owner", "project", "agent", "pinned", "is_shared", "updated_at"]
    list_filter = ["pinned", "is_shared"]
    search_fields = ["id", "title", "owner__username", "owner__email"]
    raw_id_fields = ["owner", "project", "agent"]
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["id", "thread", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["thread__id", "content"]
    raw_id_fields = ["thread", "run"]


@admin.register(AgentRun)
class AgentRunAdmin(admin.ModelAdmin):
    list_display = ["id", "thread", "user", "agent", "status", "endpoint", "created_at", "started_at", "finished_at"]
    list_filter = ["status", "endpoint"]
    search_fields = ["id", "thread__id", "user__username", "error"]
    raw_id_fields = ["thread", "user", "agent"]
    readonly_fields = ["response_message_id", "event_count", "usage", "error", "created_at", "started_at", "finished_at"]
    actions = ["stop_runs"]

    @admin.action(description="Stop the selected runs")
    def stop_runs(self, request: HttpRequest, queryset: QuerySet[AgentRun]) -> None:
        active = [run for run in queryset if not run.is_finished]
        for run in active:
            services.run_request_stop(run=run)
        self.message_user(request, f"Asked {len(active)} run(s) to stop.", messages.SUCCESS)


@admin.register(RunEvent)
class RunEventAdmin(admin.ModelAdmin):
    list_display = ["run", "sequence", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["run__id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RunEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RunEvent | None = None) -> bool:
        return False
