"""Tasks with their steps, read-only where the agent wrote them; deleting a task deletes its documents."""
from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.tasks import services
from apps.tasks.models import Task, TaskStep


class TaskStepInline(admin.TabularInline):
    model = TaskStep
    fields = ["index", "input", "action", "result", "model", "created"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "status", "created", "completed"]
    list_filter = ["status"]
    search_fields = ["id", "title", "request", "owner__username", "owner__email"]
    raw_id_fields = ["owner"]
    readonly_fields = ["id", "created", "completed"]
    inlines = [TaskStepInline]

    def delete_model(self, request: HttpRequest, obj: Task) -> None:
        services.task_delete(task=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        for task in queryset:
            services.task_delete(task=task)
