"""Request bodies and answer shapes of the sandbox routes (003 and 004)."""
from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from rest_framework import serializers

from apps.sandboxes.backends import ExecResult
from apps.sandboxes.files import Entry
from apps.sandboxes.models import Deployment, Sandbox, SandboxSession

ENCODINGS = ("utf-8", "base64")


class TemplateInput(serializers.Serializer):
    template_id = serializers.CharField(required=False, allow_blank=True, max_length=100)


class SandboxIdInput(serializers.Serializer):
    sandbox_id = serializers.CharField(max_length=64)


class CommandInput(serializers.Serializer):
    command = serializers.CharField(max_length=100_000, trim_whitespace=False)
    timeout = serializers.FloatField(required=False, min_value=0.1, max_value=86400)
    cwd = serializers.CharField(required=False, allow_blank=True, max_length=1024)


class RunCommandInput(SandboxIdInput, CommandInput):
    pass


class ExecuteInput(CommandInput):
    session_name = serializers.CharField(required=False, allow_blank=True, max_length=64)
    background = serializers.BooleanField(required=False, default=False)
    port = serializers.IntegerField(required=False, min_value=1, max_value=65535)


class TimeoutInput(serializers.Serializer):
    timeout = serializers.IntegerField(min_value=1, max_value=7 * 86400)


class PortInput(serializers.Serializer):
    port = serializers.IntegerField(min_value=1, max_value=65535)


class PathInput(serializers.Serializer):
    path = serializers.CharField(max_length=1024)


class WriteFileInput(SandboxIdInput, PathInput):
    content = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=settings.SANDBOX_MAX_UPLOAD_BYTES * 2)
    encoding = serializers.ChoiceField(choices=ENCODINGS, default="utf-8")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["encoding"] == "base64":
            try:
                attrs["data"] = base64.b64decode(attrs["content"], validate=True)
            except (binascii.Error, ValueError) as exc:
                raise serializers.ValidationError({"content": ["Not valid base64."]}) from exc
        else:
            attrs["data"] = attrs["content"].encode()
        return attrs


class ReadFileInput(SandboxIdInput, PathInput):
    encoding = serializers.ChoiceField(choices=ENCODINGS, required=False)


class UploadFileInput(SandboxIdInput):
    file = serializers.FileField()
    path = serializers.CharField(required=False, allow_blank=True, max_length=1024)


class UploadFromUrlInput(SandboxIdInput, PathInput):
    url = serializers.URLField(max_length=2000)


class PresignedInput(SandboxIdInput, PathInput):
    presigned_url = serializers.URLField(max_length=4000, required=False)
    url = serializers.URLField(max_length=4000, required=False)
    content_type = serializers.CharField(required=False, allow_blank=True, max_length=200)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["presigned_url"] = attrs.get("presigned_url") or attrs.get("url")
        if not attrs["presigned_url"]:
            raise serializers.ValidationError({"presigned_url": ["This field is required."]})
        return attrs


class SlideInput(serializers.Serializer):
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    content = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, max_length=2 * 1024 * 1024)
    html = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False, max_length=2 * 1024 * 1024)
    position = serializers.IntegerField(required=False, min_value=0, max_value=10_000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "html" in attrs and "content" not in attrs:
            attrs["content"] = attrs.pop("html")
        attrs.pop("html", None)
        return attrs


class SlideCreateInput(SlideInput):
    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if not attrs.get("content"):
            raise serializers.ValidationError({"content": ["The slide's HTML is required (content or html)."]})
        return attrs


class PathQuery(serializers.Serializer):
    path = serializers.CharField(required=False, allow_blank=True, max_length=1024, default="")


class RequiredPathQuery(serializers.Serializer):
    path = serializers.CharField(max_length=1024)


class PreviewQuery(serializers.Serializer):
    port = serializers.IntegerField(required=False, min_value=1, max_value=65535)


class StreamQuery(serializers.Serializer):
    session = serializers.CharField(required=False, max_length=64, default="dev-server")
    index = serializers.IntegerField(required=False, min_value=0)


class DeployInput(serializers.Serializer):
    sandbox_id = serializers.CharField(required=False, allow_blank=True, max_length=64)


# -- answers ------------------------------------------------------------------------------------------
def sandbox_out(sandbox: Sandbox) -> dict[str, Any]:
    return {
        "sandbox_id": sandbox.public_id,
        "status": sandbox.status,
        "template_id": sandbox.template,
        "project_id": str(sandbox.project_id) if sandbox.project_id else None,
        "created_at": sandbox.created_at.isoformat(),
        "last_used_at": sandbox.last_used_at.isoformat(),
        "expires_at": sandbox.expires_at.isoformat() if sandbox.expires_at else None,
    }


def exec_out(result: ExecResult) -> dict[str, Any]:
    return {
        "stdout": result.stdout,
        "stderr": result.stderr,
        "exit_code": result.exit_code,
        "duration": round(result.duration, 3),
        "timed_out": result.timed_out,
        "killed_reason": result.killed_reason or None,
        "truncated": result.truncated,
    }


def entry_out(entry: Entry) -> dict[str, Any]:
    return {
        "name": entry.name, "path": entry.path, "type": entry.type, "is_dir": entry.type == "directory",
        "size": entry.size, "modified_at": datetime.fromtimestamp(entry.modified, UTC).isoformat(),
    }


def session_out(session: SandboxSession) -> dict[str, Any]:
    return {
        "session_name": session.name,
        "status": session.status,
        "running": session.status == SandboxSession.Status.RUNNING,
        "command": session.command,
        "exit_code": session.exit_code,
        "port": session.port,
        "started_at": session.started_at.isoformat(),
        "ended_at": session.ended_at.isoformat() if session.ended_at else None,
    }


def deployment_out(deployment: Deployment, url: str, logs: list[str]) -> dict[str, Any]:
    return {
        "deployment_id": str(deployment.pk),
        "project_id": str(deployment.project_id),
        "provider": deployment.provider,
        "status": deployment.status,
        "version": deployment.version,
        "url": url,
        "commit": deployment.commit or None,
        "created_at": deployment.created_at.isoformat(),
        "updated_at": deployment.updated_at.isoformat(),
        "logs": logs,
    }
