"""003's ``/api/v1/task/schedulers`` routes: the owner's scheduled agent tasks."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from apps.agents import selectors as agents
from apps.agents.models import Agent
from apps.core.api.pagination import paginate, parse_page
from apps.core.api.views import AdminApiView
from apps.core.errors import Invalid, NotFound
from apps.tasks import schedules
from apps.tasks.models import ScheduledAgentTask, ScheduledTaskExecution

TAGS = ["003 task schedulers"]


class ExecutionSerializer(serializers.ModelSerializer):
    run_id = serializers.UUIDField(allow_null=True)
    run_status = serializers.CharField(source="run.status", default=None)
    thread_id = serializers.CharField(source="run.thread_id", default=None)

    class Meta:
        model = ScheduledTaskExecution
        fields = ["id", "trigger", "outcome", "run_id", "run_status", "thread_id", "note", "created_at"]


class SchedulerSerializer(serializers.ModelSerializer):
    agent_id = serializers.UUIDField(allow_null=True)
    history = serializers.SerializerMethodField()

    class Meta:
        model = ScheduledAgentTask
        fields = ["id", "name", "agent_id", "prompt", "cron", "interval_seconds", "timezone", "enabled",
                  "last_run_at", "next_run_at", "created_at", "updated_at", "history"]

    def get_history(self, schedule: ScheduledAgentTask) -> list[dict[str, Any]]:
        return ExecutionSerializer(schedules.execution_list(schedule=schedule), many=True).data


class SchedulerWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    prompt = serializers.CharField(max_length=100_000)
    agent_id = serializers.CharField(required=False, allow_null=True, allow_blank=True, default=None)
    cron = serializers.CharField(required=False, allow_blank=True, default="", max_length=120)
    interval_seconds = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)
    timezone = serializers.CharField(required=False, default="UTC", max_length=64)
    enabled = serializers.BooleanField(required=False, default=True)


class SchedulerListResponse(serializers.Serializer):
    items = SchedulerSerializer(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    per_page = serializers.IntegerField()


def _agent(user: Any, agent_id: str | None) -> Agent | None:
    if not agent_id:
        return None
    try:
        return agents.agent_get(user=user, agent_id=agent_id)
    except NotFound:
        raise Invalid("Agent not found.", field_errors={"agent_id": ["No agent of yours has this id."]}) from None


class SchedulerListApi(AdminApiView):
    @extend_schema(tags=TAGS, responses=SchedulerListResponse, summary="List the user's scheduled tasks")
    def get(self, request: Request) -> Response:
        page, per_page = parse_page(request.query_params, size_name="per_page")
        result = paginate(schedules.schedule_list(user=request.user), page=page, page_size=per_page)
        return Response({"items": SchedulerSerializer(result.items, many=True).data, "total": result.total,
                         "page": page, "per_page": per_page})

    @extend_schema(tags=TAGS, request=SchedulerWriteSerializer, responses={201: SchedulerSerializer},
                   summary="Schedule an agent prompt (cron in its time zone, or an interval)")
    def post(self, request: Request) -> Response:
        serializer = SchedulerWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        schedule = schedules.schedule_create(
            owner=request.user, name=data["name"], prompt=data["prompt"], agent=_agent(request.user, data["agent_id"]),
            cron=data["cron"], interval_seconds=data["interval_seconds"], tz_name=data["timezone"],
            enabled=data["enabled"],
        )
        return Response(SchedulerSerializer(schedule).data, status=201)


class SchedulerDetailApi(AdminApiView):
    @extend_schema(tags=TAGS, request=SchedulerWriteSerializer, responses=SchedulerSerializer,
                   summary="Update a scheduled task (fields left out are kept)")
    def put(self, request: Request, schedule_id: str) -> Response:
        schedule = schedules.schedule_get(user=request.user, schedule_id=schedule_id)
        serializer = SchedulerWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {key: value for key, value in serializer.validated_data.items() if key in request.data}
        if "agent_id" in changes:
            changes["agent"] = _agent(request.user, changes.pop("agent_id"))
        schedule = schedules.schedule_update(schedule=schedule, changes=changes)
        return Response(SchedulerSerializer(schedule).data)

    @extend_schema(tags=TAGS, responses={204: None}, summary="Delete a scheduled task")
    def delete(self, request: Request, schedule_id: str) -> Response:
        schedules.schedule_delete(schedule=schedules.schedule_get(user=request.user, schedule_id=schedule_id))
        return Response(status=204)


class SchedulerRunApi(AdminApiView):
    @extend_schema(tags=TAGS, request=None, responses=ExecutionSerializer,
                   summary="Run a scheduled task now (skipped, with a note, while its last run is in progress)")
    def post(self, request: Request, schedule_id: str) -> Response:
        schedule = schedules.schedule_get(user=request.user, schedule_id=schedule_id)
        execution = schedules.schedule_fire(schedule_id=str(schedule.pk), trigger=ScheduledTaskExecution.Trigger.MANUAL)
        return Response(ExecutionSerializer(execution).data)
