"""003's generation (podcast, ppt, prose, enhance-prompt) and TTS routes, and the job routes they hand out.

Podcast and PPT are jobs on Celery: the route waits up to ``STUDIO_WAIT_SECONDS`` and answers with
the file when it is ready in time; otherwise (or at once when the client sends
``Prefer: respond-async``) it answers 202 with the job to poll at ``/api/v1/agent/generation/jobs/{id}``.
"""
from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api.views import AdminApiView
from apps.core.errors import ServiceError
from apps.core.streaming import sse_frame, sse_response
from apps.studio import selectors, services
from apps.studio.api import serializers as s
from apps.studio.models import GenerationJob

AUDIO = OpenApiResponse(description="The audio file (audio/mpeg, or audio/wav when format is wav).")
FILE_OR_JOB = {200: OpenApiResponse(description="The finished file."), 202: s.GenerationJobSerializer}
POLL_SECONDS = 0.25


def _valid(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _file(job: GenerationJob) -> FileResponse:
    extension = job.result_file.name.rsplit(".", 1)[-1]
    response = FileResponse(job.result_file.open("rb"), as_attachment=True, filename=f"{job.kind}.{extension}",
                            content_type=job.result_content_type)
    response["X-Job-Id"] = str(job.pk)
    return response


def _file_or_job(request: Request, job: GenerationJob) -> Any:
    """The file once the job is done within the wait, else 202 and the job."""
    if "respond-async" not in request.headers.get("Prefer", ""):
        deadline = time.monotonic() + settings.STUDIO_WAIT_SECONDS
        while not job.is_finished and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            job.refresh_from_db()
    if job.status == GenerationJob.Status.SUCCEEDED:
        return _file(job)
    if job.status == GenerationJob.Status.FAILED:
        # The job's error is ours (a ServiceError message), safe to show; the job is kept for the admin.
        # 424 when the user's own provider failed (theirs to fix), 502 when ours did.
        return Response({"detail": job.error, "code": "GENERATION_FAILED", "job_id": str(job.pk)},
                        status=job.error_status or 502)
    return Response(s.GenerationJobSerializer(job).data, status=202)


class SpeechSynthesizeApi(AdminApiView):
    """``POST /api/v1/agent/tts/synthesize``: the audio of one text, made inline (it is bounded by TTS_MAX_CHARS)."""

    @extend_schema(tags=["studio"], request=s.SpeechRequest, responses={200: AUDIO})
    def post(self, request: Request) -> Any:
        data = _valid(s.SpeechRequest, request)
        result = services.speech_synthesize(
            user=request.user, text=data["text"], voice=data["voice"], speed=data["speed"],
            audio_format=data["format"], locale=data["locale"],
        )
        response = FileResponse(iter([result.audio]), content_type=result.content_type)
        response["Content-Length"] = str(len(result.audio))
        response["X-TTS-Engine"] = result.engine
        return response


class VoiceListApi(AdminApiView):
    """``GET /api/v1/agent/tts/voices``: the offline engine's voices, one per language."""

    @extend_schema(tags=["studio"], responses=s.VoiceSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(s.VoiceSerializer(selectors.voice_list(), many=True).data)


class PodcastGenerateApi(AdminApiView):
    """``POST /api/v1/agent/generation/podcast``: an MP3 of two hosts discussing the content (a job)."""

    @extend_schema(tags=["studio"], request=s.PodcastRequest, responses=FILE_OR_JOB)
    def post(self, request: Request) -> Any:
        data = _valid(s.PodcastRequest, request)
        return _file_or_job(request, services.podcast_start(user=request.user, content=data["content"]))


class SlidesGenerateApi(AdminApiView):
    """``POST /api/v1/agent/generation/ppt``: a .pptx deck of the content (a job)."""

    @extend_schema(tags=["studio"], request=s.SlidesRequest, responses=FILE_OR_JOB)
    def post(self, request: Request) -> Any:
        data = _valid(s.SlidesRequest, request)
        job = services.slides_start(user=request.user, content=data["content"], locale=data["locale"])
        return _file_or_job(request, job)


class ProseGenerateApi(AdminApiView):
    """``POST /api/v1/agent/generation/prose``: SSE ``message_chunk`` frames of the edited text, then ``done``."""

    @extend_schema(tags=["studio"], request=s.ProseRequest, responses={200: OpenApiResponse(description="SSE")})
    def post(self, request: Request) -> Any:
        data = _valid(s.ProseRequest, request)
        pieces = services.prose_stream(user=request.user, prompt=data["prompt"], option=data["option"],
                                       command=data["command"])

        async def frames() -> Any:
            try:
                async for piece in pieces:
                    yield sse_frame({"role": "assistant", "content": piece}, event="message_chunk")
            except ServiceError as exc:
                yield sse_frame({"detail": exc.message, "code": exc.code.upper()}, event="error")
                return
            yield sse_frame({"role": "assistant", "content": "", "finish_reason": "stop"}, event="done")

        return sse_response(frames())


class PromptEnhanceApi(AdminApiView):
    """``POST /api/v1/agent/generation/enhance-prompt``: ``{"result": improved prompt}``."""

    @extend_schema(tags=["studio"], request=s.EnhancePromptRequest, responses=s.EnhancePromptResponse)
    def post(self, request: Request) -> Response:
        data = _valid(s.EnhancePromptRequest, request)
        result = services.prompt_enhance(user=request.user, prompt=data["prompt"], context=data["context"])
        return Response({"result": result})


class GenerationJobDetailApi(AdminApiView):
    """``GET /api/v1/agent/generation/jobs/{id}``: a job's status and progress."""

    @extend_schema(tags=["studio"], responses=s.GenerationJobSerializer)
    def get(self, request: Request, job_id: str) -> Response:
        return Response(s.GenerationJobSerializer(selectors.job_get(user=request.user, job_id=job_id)).data)


class GenerationJobDownloadApi(AdminApiView):
    """``GET /api/v1/agent/generation/jobs/{id}/download``: the finished file (404 until then)."""

    @extend_schema(tags=["studio"], responses={200: OpenApiResponse(description="The file.")})
    def get(self, request: Request, job_id: str) -> Any:
        job = selectors.job_get(user=request.user, job_id=job_id)
        if job.status != GenerationJob.Status.SUCCEEDED or not job.result_file:
            return Response({"detail": "The job has no file yet.", "code": "NOT_READY"}, status=404)
        return _file(job)


class GenerationJobCancelApi(AdminApiView):
    """``POST /api/v1/agent/generation/jobs/{id}/cancel``: stop a job between two of its steps."""

    @extend_schema(tags=["studio"], request=None, responses=s.GenerationJobSerializer)
    def post(self, request: Request, job_id: str) -> Response:
        job = services.job_cancel(job=selectors.job_get(user=request.user, job_id=job_id))
        return Response(s.GenerationJobSerializer(job).data)
