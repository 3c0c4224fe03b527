"""Sandboxes in the Django admin: status and limits, per-user limits, commands and deployments."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.sandboxes import services
from apps.sandboxes.models import Deployment, Sandbox, SandboxCommand, SandboxLimit, SandboxSession


@admin.action(description="Stop the selected sandboxes (files kept)")
def stop_sandboxes(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Sandbox]) -> None:
    stopped = 0
    for sandbox in queryset.filter(status__in=Sandbox.ALIVE):
        services.sandbox_stop(sandbox=sandbox, status=Sandbox.Status.STOPPED, keep_files=True)
        stopped += 1
    modeladmin.message_user(request, f"Stopped {stopped} sandbox(es).", messages.SUCCESS)


class SessionInline(admin.TabularInline):
    model = SandboxSession
    extra = 0
    fields = ["name", "command", "status", "exit_code", "port", "started_at", "ended_at"]
    readonly_fields = fields


@admin.register(Sandbox)
class SandboxAdmin(admin.ModelAdmin):
    list_display = ["public_id", "owner", "project", "template", "backend", "status", "created_at", "last_used_at"]
    list_filter = ["status", "template", "backend"]
    search_fields = ["public_id", "owner__username", "owner__email"]
    raw_id_fields = ["owner", "project"]
    readonly_fields = ["public_id", "backend", "status", "error", "created_at", "last_used_at", "exposed_ports"]
    inlines = [SessionInline]
    actions = [stop_sandboxes]


@admin.register(SandboxLimit)
class SandboxLimitAdmin(admin.ModelAdmin):
    list_display = ["user", "max_alive", "disk_bytes", "cpu_seconds_per_hour"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]


@admin.register(SandboxCommand)
class SandboxCommandAdmin(admin.ModelAdmin):
    list_display = ["sandbox", "owner", "short_command", "exit_code", "duration_seconds", "cpu_seconds", "killed_reason", "created_at"]
    list_filter = ["killed_reason"]
    search_fields = ["sandbox__public_id", "owner__username", "command"]
    raw_id_fields = ["sandbox", "owner"]

    @admin.display(description="command")
    def short_command(self, obj: SandboxCommand) -> str:
        return obj.command[:80]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SandboxCommand | None = None) -> bool:
        return False


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ["site_slug", "version", "project", "owner", "provider", "status", "url", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["site_slug", "project__name", "owner__username"]
    raw_id_fields = ["project", "owner", "sandbox"]
    readonly_fields = ["log", "commit", "created_at", "updated_at"]
