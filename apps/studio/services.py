"""Every write of the studio: speech, podcasts and slide decks as generation jobs.

A podcast or a deck is a :class:`GenerationJob` executed by a Celery task on the default
queue (:func:`job_execute`); it writes its progress as it goes and stops between steps
when cancelled. Speech of one request is short enough to make inline.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.core.errors import Invalid, ServiceError
from apps.core.jobs import enqueue
from apps.studio import selectors
from apps.studio.engines import audio, slides, speech, writing
from apps.studio.models import GenerationJob

logger = logging.getLogger(__name__)

PODCAST_PAUSE_SECONDS = 0.4
#: espeak-ng variants that make the two hosts sound like two people.
HOST_VARIANTS = {"host_a": "m3", "host_b": "f2"}
#: The speech endpoint's voices for the two hosts (OpenAI's names).
HOST_ENDPOINT_VOICES = {"host_a": "onyx", "host_b": "nova"}
CONTENT_TYPES = {"mp3": "audio/mpeg", "wav": "audio/wav"}
PPTX_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


class JobCancelled(Exception):
    pass


@dataclass(frozen=True)
class Speech:
    audio: bytes
    content_type: str
    engine: str
    seconds: float | None


# ------------------------------------------------------------------------------
# Speech
# ------------------------------------------------------------------------------
def speech_synthesize(
    *, user: Any, text: str, voice: str = "", speed: float = 1.0, audio_format: str = "mp3", locale: str = ""
) -> Speech:
    """Speak ``text`` with the configured speech endpoint, else espeak-ng; kept as a finished job."""
    text = speech.check_text(text)
    speed = speech.check_speed(speed)
    if audio_format not in CONTENT_TYPES:
        raise Invalid("Unknown audio format.", field_errors={"format": ["Choose mp3 or wav."]})
    endpoint = speech.configured_endpoint()
    started = timezone.now()
    if endpoint is not None:
        data = speech.endpoint_synthesize(endpoint, text, voice=_endpoint_voice(voice), speed=speed,
                                          response_format=audio_format)
        result = Speech(data, CONTENT_TYPES[audio_format], f"endpoint:{endpoint.model}", None)
    else:
        espeak_voice = speech.resolve_voice(voice, locale=locale)
        pcm = speech.espeak_synthesize(text, voice=espeak_voice, speed=speed)
        data = audio.to_mp3(pcm) if audio_format == "mp3" else audio.to_wav(pcm)
        result = Speech(data, CONTENT_TYPES[audio_format], f"espeak-ng:{espeak_voice}", pcm.seconds)
    job = GenerationJob(
        owner=user, kind=GenerationJob.Kind.SPEECH, status=GenerationJob.Status.SUCCEEDED, progress=1.0,
        input={"text": text, "voice": voice, "speed": speed, "format": audio_format},
        engine=result.engine, result_content_type=result.content_type, started_at=started, finished_at=timezone.now(),
    )
    job.result_file.save(f"speech-{job.pk}.{audio_format}", ContentFile(data), save=False)
    job.save()
    return result


def _endpoint_voice(voice: str) -> str:
    # espeak-style language voices mean nothing to a speech endpoint: its default voice speaks instead.
    if not voice or speech.voice_for_language(voice.partition("+")[0]) is not None:
        return ""
    return voice


# ------------------------------------------------------------------------------
# Jobs
# ------------------------------------------------------------------------------
@transaction.atomic
def job_start(*, user: Any, kind: str, payload: dict[str, Any]) -> GenerationJob:
    from apps.studio.tasks import execute_job  # the task module imports this one

    job = GenerationJob.objects.create(owner=user, kind=kind, input=payload)
    enqueue(execute_job, job_id=str(job.pk))
    return job


def podcast_start(*, user: Any, content: str) -> GenerationJob:
    content = _required(content, "content")
    return job_start(user=user, kind=GenerationJob.Kind.PODCAST, payload={"content": content})


def slides_start(*, user: Any, content: str, locale: str = "en-US") -> GenerationJob:
    content = _required(content, "content")
    return job_start(user=user, kind=GenerationJob.Kind.SLIDES, payload={"content": content, "locale": locale})


def job_cancel(*, job: GenerationJob) -> GenerationJob:
    """Ask a job to stop; a queued one stops at once, a running one between two steps."""
    GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.QUEUED).update(
        status=GenerationJob.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    GenerationJob.objects.filter(pk=job.pk, status=GenerationJob.Status.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def _claim(job_id: str) -> GenerationJob | None:
    claimed = GenerationJob.objects.filter(pk=job_id, status=GenerationJob.Status.QUEUED).update(
        status=GenerationJob.Status.RUNNING, started_at=timezone.now()
    )
    return GenerationJob.objects.select_related("owner").get(pk=job_id) if claimed else None


def job_execute(*, job_id: str) -> None:
    """Run a queued job to its end; a redelivered or cancelled job does nothing."""
    job = _claim(job_id)
    if job is None:
        return
    try:
        if job.kind == GenerationJob.Kind.PODCAST:
            data, content_type, extension = _podcast(job), CONTENT_TYPES["mp3"], "mp3"
        else:
            data, content_type, extension = _slides(job), PPTX_TYPE, "pptx"
    except JobCancelled:
        _finish(job, status=GenerationJob.Status.CANCELLED, error="Cancelled by its owner.")
        return
    except ServiceError as exc:
        job.error_status = exc.status if 400 <= exc.status < 500 else None
        _finish(job, status=GenerationJob.Status.FAILED, error=exc.message)
        return
    except Exception:
        logger.exception("generation job %s failed", job.pk)
        _finish(job, status=GenerationJob.Status.FAILED, error="The generation failed unexpectedly.")
        return
    job.result_file.save(f"{job.kind}-{job.pk}.{extension}", ContentFile(data), save=False)
    job.result_content_type = content_type
    job.progress = 1.0
    _finish(job, status=GenerationJob.Status.SUCCEEDED)


def _finish(job: GenerationJob, *, status: str, error: str = "") -> None:
    job.status = status
    job.error = error
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "error_status", "finished_at", "progress", "progress_note",
                            "result_file", "result_content_type", "engine", "result_text"])


def _step(job: GenerationJob, *, progress: float, note: str) -> None:
    """Record progress and honour a cancellation asked for from any process."""
    job.progress = min(1.0, max(0.0, progress))
    job.progress_note = note[:300]
    GenerationJob.objects.filter(pk=job.pk).update(progress=job.progress, progress_note=job.progress_note)
    if GenerationJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
        raise JobCancelled


def _podcast(job: GenerationJob) -> bytes:
    content = job.input["content"]
    model = selectors.writer_model(user=job.owner)
    _step(job, progress=0.0, note="Writing the script")
    if model is None:
        script = writing.offline_script(content)
        job.engine = "offline writer"
    else:
        script = async_to_sync(writing.ask_structured)(model, writing.PODCAST_PROMPT, content, writing.parse_script)
        job.engine = f"model:{model.model_name}"
    job.result_text = "\n".join(f"{line.speaker}: {line.text}" for line in script)
    endpoint = speech.configured_endpoint()
    language_voice = speech.resolve_voice("", locale=job.input.get("locale", ""))
    parts = []
    for number, line in enumerate(script, start=1):
        _step(job, progress=0.1 + 0.85 * (number - 1) / len(script), note=f"Speaking line {number} of {len(script)}")
        if endpoint is not None:
            wav = speech.endpoint_synthesize(endpoint, line.text, voice=HOST_ENDPOINT_VOICES[line.speaker],
                                             response_format="wav")
            parts.append(audio.pcm_from_wav(wav))
        else:
            voice = f"{language_voice}+{HOST_VARIANTS[line.speaker]}"
            parts.append(speech.espeak_synthesize(line.text, voice=voice))
    job.engine += " + " + (f"endpoint:{endpoint.model}" if endpoint else "espeak-ng")
    _step(job, progress=0.97, note="Encoding the MP3")
    return audio.to_mp3(audio.join(parts, pause_seconds=PODCAST_PAUSE_SECONDS))


def _slides(job: GenerationJob) -> bytes:
    content, locale = job.input["content"], job.input.get("locale", "en-US")
    model = selectors.writer_model(user=job.owner)
    _step(job, progress=0.0, note="Writing the outline")
    if model is None:
        outline = writing.offline_outline(content)
        job.engine = "offline writer"
    else:
        prompt = writing.OUTLINE_PROMPT.replace("{locale}", locale)
        outline = async_to_sync(writing.ask_structured)(model, prompt, content, writing.parse_outline)
        job.engine = f"model:{model.model_name}"
    job.result_text = "\n".join([outline.title, *(f"- {slide.title}" for slide in outline.slides)])
    _step(job, progress=0.6, note=f"Building {len(outline.slides) + 1} slides")
    return slides.build_deck(outline)


# ------------------------------------------------------------------------------
# Prose and prompts
# ------------------------------------------------------------------------------
def prose_stream(*, user: Any, prompt: str, option: str, command: str = "") -> AsyncIterator[str]:
    """The edited text as it is written: by the user's model, else by the offline editor in one piece."""
    prompt = _required(prompt, "prompt")
    if option not in writing.PROSE_OPTIONS:
        raise Invalid("Unknown prose option.", field_errors={"option": [f"Choose one of {', '.join(writing.PROSE_OPTIONS)}."]})
    if option == "zap" and not command.strip():
        raise Invalid("The zap option needs a command.", field_errors={"command": ["This field may not be blank."]})
    model = selectors.writer_model(user=user)
    if model is not None:
        message = f"Command: {command}\n\nText:\n{prompt}" if option == "zap" else prompt
        return writing.stream_text(model, writing.PROSE_PROMPTS[option], message)

    async def offline() -> AsyncIterator[str]:
        yield writing.offline_prose(prompt, option=option, command=command)

    return offline()


def prompt_enhance(*, user: Any, prompt: str, context: str = "") -> str:
    prompt = _required(prompt, "prompt")
    model = selectors.writer_model(user=user)
    if model is None:
        return writing.offline_enhanced_prompt(prompt, context=context)
    message = f"{prompt}\n\nContext:\n{context}" if context.strip() else prompt
    return async_to_sync(writing.ask)(model, writing.ENHANCE_PROMPT, message).strip()


def _required(value: str, field: str) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"{field} may not be blank.", field_errors={field: ["This field may not be blank."]})
    return value
