"""001's task routes: each parses, calls one service or selector, and shapes the answer."""
from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.views import TaskApiView
from apps.tasks import selectors, services
from apps.tasks.api import serializers as s

TAGS = ["001 tasks"]


def _valid(serializer_class: type, data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class TaskListApi(TaskApiView):
    """The user's tasks; a new task from its first message."""

    @extend_schema(tags=TAGS, responses={200: s.TaskSerializer(many=True)})
    def get(self, request: Request) -> Response:
        return Response(s.TaskSerializer(selectors.task_list(user=request.user), many=True).data)

    @extend_schema(
        tags=TAGS,
        request=s.TaskCreateSerializer,
        responses={200: s.TaskSerializer},
        description="Instantiate a new task without calling the agent, so documents can be added first.",
    )
    def post(self, request: Request) -> Response:
        data = _valid(s.TaskCreateSerializer, request.data)
        task = services.task_create(owner=request.user, message=data["message"])
        return Response(s.TaskSerializer(task).data)


class TaskDetailApi(TaskApiView):
    """One task; each POST progresses it by one agent step."""

    @extend_schema(tags=TAGS, responses={200: s.TaskSerializer})
    def get(self, request: Request, task_id: str) -> Response:
        return Response(s.TaskSerializer(selectors.task_get(user=request.user, task_id=task_id)).data)

    @extend_schema(
        tags=TAGS,
        operation_id="api_tasks_step_run",
        request=s.TaskStepRunSerializer,
        responses={200: s.TaskStepSerializer},
        description=(
            "Progress the task by one agent step, synchronously. `action.final` says whether the agent "
            "considers the task done; `result.status` AWAITING_INPUT asks for a message or stateData."
        ),
    )
    def post(self, request: Request, task_id: str) -> Response:
        task = selectors.task_get(user=request.user, task_id=task_id)
        data = _valid(s.TaskStepRunSerializer, request.data)
        step = services.task_step_run(task=task, message=data["message"] or "", state_data=data["stateData"])
        return Response(s.TaskStepSerializer(step).data)


class TaskStepListApi(TaskApiView):
    """The steps the agent has taken on a task, in order."""

    @extend_schema(tags=TAGS, responses={200: s.TaskStepSerializer(many=True)})
    def get(self, request: Request, task_id: str) -> Response:
        task = selectors.task_get(user=request.user, task_id=task_id)
        return Response(s.TaskStepSerializer(selectors.task_steps(task=task), many=True).data)


class TaskDocumentUploadApi(TaskApiView):
    """Add a file to the task's workspace; it is ingested in the background."""

    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(tags=TAGS, request={"multipart/form-data": s.TaskDocumentUploadSerializer},
                   responses={200: s.TaskDocumentSerializer})
    def post(self, request: Request, task_id: str) -> Response:
        task = selectors.task_get(user=request.user, task_id=task_id)
        data = _valid(s.TaskDocumentUploadSerializer, request.data)
        document = services.task_document_add(task=task, upload=data["file"])
        return Response(s.TaskDocumentSerializer(selectors.task_document_entry(document)).data)


class TaskDocumentDetailApi(TaskApiView):
    """One document of the task's workspace."""

    @extend_schema(tags=TAGS, responses={200: s.TaskDocumentSerializer})
    def get(self, request: Request, task_id: str, document_id: str) -> Response:
        task = selectors.task_get(user=request.user, task_id=task_id)
        document = selectors.task_document_get(task=task, document_id=document_id)
        return Response(s.TaskDocumentSerializer(selectors.task_document_entry(document)).data)
