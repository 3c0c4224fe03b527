"""001's task shapes: TaskDTO, the step JSON and the task document, in the document's field names."""
from __future__ import annotations

from rest_framework import serializers

from apps.tasks.models import Task


class TaskCreateSerializer(serializers.Serializer):
    message = serializers.CharField(allow_blank=True, trim_whitespace=True)


class TaskStepRunSerializer(serializers.Serializer):
    message = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="")
    stateData = serializers.JSONField(required=False, allow_null=True, default=None)  # noqa: N815 - the documented field

    def validate_stateData(self, value: object) -> object:  # noqa: N802 - DRF names it after the field
        if value is not None and not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value


class TaskSerializer(serializers.ModelSerializer):
    """TaskDTO."""

    id = serializers.CharField()

    class Meta:
        model = Task
        fields = ["created", "completed", "id", "title", "description", "request", "context"]


class TaskDocumentSerializer(serializers.Serializer):
    taskId = serializers.CharField()  # noqa: N815
    filename = serializers.CharField()
    metadata = serializers.DictField()


class StepActionSerializer(serializers.Serializer):
    name = serializers.CharField()
    parameters = serializers.DictField()
    reasoning = serializers.CharField(allow_blank=True)
    final = serializers.BooleanField()


class StepResultSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["SUCCESS", "FAILURE", "AWAITING_INPUT", "IN_PROGRESS"])
    details = serializers.JSONField()
    summary = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_null=True)
    message = serializers.CharField(allow_null=True)


class TaskStepSerializer(serializers.Serializer):
    """The step JSON: ``{input, action, result, documents}``."""

    input = serializers.CharField(allow_blank=True)
    action = StepActionSerializer()
    result = StepResultSerializer()
    documents = TaskDocumentSerializer(many=True)


class TaskDocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True)
