"""003's generation and TTS paths, and the job paths the long generations hand out."""
from django.urls import path

from apps.studio.api import views

urlpatterns = [
    path("api/v1/agent/tts/synthesize", views.SpeechSynthesizeApi.as_view(), name="tts-synthesize"),
    path("api/v1/agent/tts/voices", views.VoiceListApi.as_view(), name="tts-voices"),
    path("api/v1/agent/generation/podcast", views.PodcastGenerateApi.as_view(), name="generation-podcast"),
    path("api/v1/agent/generation/ppt", views.SlidesGenerateApi.as_view(), name="generation-ppt"),
    path("api/v1/agent/generation/prose", views.ProseGenerateApi.as_view(), name="generation-prose"),
    path("api/v1/agent/generation/enhance-prompt", views.PromptEnhanceApi.as_view(), name="generation-enhance-prompt"),
    path("api/v1/agent/generation/jobs/<str:job_id>", views.GenerationJobDetailApi.as_view(), name="generation-job"),
    path("api/v1/agent/generation/jobs/<str:job_id>/download", views.GenerationJobDownloadApi.as_view(),
         name="generation-job-download"),
    path("api/v1/agent/generation/jobs/<str:job_id>/cancel", views.GenerationJobCancelApi.as_view(),
         name="generation-job-cancel"),
]
