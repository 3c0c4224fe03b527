"""Request and answer shapes of 003's generation and TTS routes."""
from __future__ import annotations

from rest_framework import serializers

from apps.studio.engines.writing import PROSE_OPTIONS
from apps.studio.models import GenerationJob


class SpeechRequest(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)
    voice = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    speed = serializers.FloatField(required=False, default=1.0)
    format = serializers.ChoiceField(choices=["mp3", "wav"], required=False, default="mp3")
    locale = serializers.CharField(required=False, allow_blank=True, default="", max_length=35)


class PodcastRequest(serializers.Serializer):
    content = serializers.CharField(max_length=200_000)


class SlidesRequest(serializers.Serializer):
    content = serializers.CharField(max_length=200_000)
    locale = serializers.CharField(required=False, default="en-US", max_length=35)


class ProseRequest(serializers.Serializer):
    prompt = serializers.CharField(max_length=100_000)
    option = serializers.ChoiceField(choices=list(PROSE_OPTIONS))
    command = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)


class EnhancePromptRequest(serializers.Serializer):
    prompt = serializers.CharField(max_length=20_000)
    context = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    report_style = serializers.CharField(required=False, allow_blank=True, default="", max_length=50)


class EnhancePromptResponse(serializers.Serializer):
    result = serializers.CharField()


class GenerationJobSerializer(serializers.ModelSerializer):
    job_id = serializers.UUIDField(source="id")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = GenerationJob
        fields = ["job_id", "kind", "status", "progress", "progress_note", "engine", "error", "result_text",
                  "created_at", "started_at", "finished_at", "download_url"]

    def get_download_url(self, job: GenerationJob) -> str | None:
        if job.status != GenerationJob.Status.SUCCEEDED or not job.result_file:
            return None
        return f"/api/v1/agent/generation/jobs/{job.pk}/download"


class VoiceSerializer(serializers.Serializer):
    id = serializers.CharField()
    language = serializers.CharField()
    name = serializers.CharField()
    gender = serializers.CharField()
