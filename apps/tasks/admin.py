"""Tasks with their steps, read-only where the agent wrote them; deleting a task deletes its documents.

Scheduled agent tasks with their history; edits go through the schedules service so beat follows.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.errors import Invalid
from apps.tasks import schedules, services
from apps.tasks.models import ScheduledAgentTask, ScheduledTaskExecution, Task, TaskStep


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


class ScheduledTaskExecutionInline(admin.TabularInline):
    model = ScheduledTaskExecution
    fields = ["created_at", "trigger", "outcome", "run", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ScheduledAgentTaskForm(forms.ModelForm):
    class Meta:
        model = ScheduledAgentTask
        fields = "__all__"

    def clean(self) -> dict:
        data = super().clean()
        try:
            schedules.check_timing(cron=" ".join((data.get("cron") or "").split()),
                                   interval_seconds=data.get("interval_seconds"), tz_name=data.get("timezone") or "")
        except Invalid as exc:
            raise ValidationError({field: messages for field, messages in (exc.field_errors or {}).items()}) from None
        return data


@admin.register(ScheduledAgentTask)
class ScheduledAgentTaskAdmin(admin.ModelAdmin):
    form = ScheduledAgentTaskForm
    list_display = ["name", "owner", "agent", "cron", "interval_seconds", "timezone", "enabled", "last_run_at",
                    "next_run_at"]
    list_filter = ["enabled"]
    search_fields = ["id", "name", "prompt", "owner__username", "owner__email"]
    raw_id_fields = ["owner", "agent"]
    readonly_fields = ["id", "periodic_task", "last_run_at", "next_run_at", "created_at", "updated_at"]
    inlines = [ScheduledTaskExecutionInline]
    actions = ["run_now"]

    def save_model(self, request: HttpRequest, obj: ScheduledAgentTask, form, change: bool) -> None:
        fields = {name: getattr(obj, name) for name in
                  ["name", "prompt", "agent", "cron", "interval_seconds", "timezone", "enabled"]}
        if change:
            schedules.schedule_update(schedule=obj, changes=fields)
        else:
            created = schedules.schedule_create(owner=obj.owner, name=fields["name"], prompt=fields["prompt"],
                                                agent=fields["agent"], cron=fields["cron"],
                                                interval_seconds=fields["interval_seconds"],
                                                tz_name=fields["timezone"], enabled=fields["enabled"])
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: ScheduledAgentTask) -> None:
        schedules.schedule_delete(schedule=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ScheduledAgentTask]) -> None:
        for schedule in queryset:
            schedules.schedule_delete(schedule=schedule)

    @admin.action(description="Run the selected schedules now")
    def run_now(self, request: HttpRequest, queryset: QuerySet[ScheduledAgentTask]) -> None:
        for schedule in queryset:
            schedules.schedule_fire(schedule_id=str(schedule.pk), trigger=ScheduledTaskExecution.Trigger.MANUAL)
