"""Reads of the studio, scoped to who is asking."""
from __future__ import annotations

import uuid
from typing import Any

from apps.core.errors import NotFound
from apps.providers import selectors as providers
from apps.providers.llm import ChatModel
from apps.studio.engines import speech
from apps.studio.models import GenerationJob


def job_get(*, user: Any, job_id: Any) -> GenerationJob:
    """The user's job; another user's job or a malformed id is 404."""
    try:
        pk = uuid.UUID(str(job_id))
    except ValueError:
        raise NotFound("Generation job not found.") from None
    job = GenerationJob.objects.filter(owner=user, pk=pk).first()
    if job is None:
        raise NotFound("Generation job not found.")
    return job


def writer_model(*, user: Any) -> ChatModel | None:
    """The model that writes for this user, or None for the offline writer."""
    config = providers.model_config_for(user=user)
    return providers.chat_model(config) if config is not None else None


def voice_list() -> list[dict[str, str]]:
    return [{"id": v.id, "language": v.language, "name": v.name, "gender": v.gender} for v in speech.voices()]
