"""Every write of the tasks app: creating a task, running one agent step, adding workspace documents."""
from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from apps.billing.services import credits_require
from apps.core.errors import BadGateway, Conflict, Invalid, PayloadTooLarge
from apps.core.locks import advisory_lock, uuid_lock_key
from apps.knowledge import selectors as knowledge_selectors
from apps.knowledge import services as knowledge_services
from apps.knowledge.models import Document
from apps.providers.llm import ProviderError, Source
from apps.providers.selectors import chat_model, model_config_for
from apps.tasks import agent
from apps.tasks.models import MAX_TASK_STEPS, Task, TaskStep
from apps.tasks.selectors import task_document_entry, task_documents
from apps.tools.selectors import toolset_resolve
from apps.tools.toolset import Toolset, ToolsetRequest

logger = logging.getLogger(__name__)

TITLE_LENGTH = 80
DESCRIPTION_LENGTH = 500
#: Passages of the task's documents offered to the model at each step.
SOURCES_PER_STEP = 5
ENDPOINT = "001 /api/tasks/{task_id}"


class ModelUnavailable(BadGateway):
    """The language model could not be reached or failed; the step is not recorded and may be retried."""


def _check_length(message: str) -> None:
    limit = settings.CHAT_MAX_MESSAGE_CHARS
    if len(message) > limit:
        raise PayloadTooLarge(f"A message may hold at most {limit} characters.")


def _title(message: str) -> str:
    first_line = next((line.strip() for line in message.splitlines() if line.strip()), "")
    if len(first_line) <= TITLE_LENGTH:
        return first_line
    return first_line[: TITLE_LENGTH - 1].rstrip() + "…"


def _description(message: str) -> str:
    text = " ".join(message.split())
    return text if len(text) <= DESCRIPTION_LENGTH else text[: DESCRIPTION_LENGTH - 1].rstrip() + "…"


def task_create(*, owner: Any, message: str) -> Task:
    """A new task from its first message; the agent is not called until the first step."""
    message = (message or "").strip()
    if not message:
        raise Invalid("The message cannot be empty.", field_errors={"message": ["The message cannot be empty."]})
    _check_length(message)
    task = Task(owner=owner, request=message, title=_title(message), description=_description(message))
    task.full_clean()
    task.save()
    return task


def _sources(task: Task, query: str) -> tuple[list[Source], set[str]]:
    """Passages of the task's ingested documents that match ``query``, and the ids of their documents."""
    documents = task_documents(task=task).filter(status=Document.Status.INGESTED)
    # Embedding the query loads a model: only worth it when there is something to search.
    if not query or not documents.exists():
        return [], set()
    chunks = knowledge_selectors.search_chunks(user=task.owner, query=query, documents=documents, top_k=SOURCES_PER_STEP)
    sources = [
        Source(number=number, title=chunk.title or chunk.filename, content=chunk.content)
        for number, chunk in enumerate(chunks, start=1)
    ]
    return sources, {chunk.document_id for chunk in chunks}


def _snapshot(documents: list[Document], cited: set[str]) -> list[dict[str, Any]]:
    entries = []
    for document in documents:
        entry = task_document_entry(document)
        entry["metadata"]["cited"] = str(document.pk) in cited
        entries.append(entry)
    return entries


def _past(step: TaskStep) -> agent.PastStep:
    return agent.PastStep(input=step.input, state_data=step.state_data, action=step.action, result=step.result)


async def _step_and_close(*, toolset: Toolset, **kwargs: Any) -> agent.StepOutcome:
    try:
        return await agent.step_run(toolset=toolset, **kwargs)
    finally:
        await toolset.aclose()


def task_step_run(*, task: Task, message: str = "", state_data: dict[str, Any] | None = None) -> TaskStep:
    """Progress ``task`` by exactly one agent step: one model call, one action, its result.

    ``message`` adds an instruction or answers a question the agent asked; ``state_data``
    answers it with structured data and is merged into the task's context. A completed
    task answers 409, and so does a task whose previous step is still running.
    """
    message = (message or "").strip()
    _check_length(message)
    if state_data is not None and not isinstance(state_data, dict):
        raise Invalid("stateData must be an object.", field_errors={"stateData": ["Must be an object."]})
    credits_require(user=task.owner)
    # One step of a task at a time, across servers: a session advisory lock, held through the
    # model call without an open transaction; a concurrent POST is told so at once.
    with advisory_lock(uuid_lock_key(task.pk)) as acquired:
        if not acquired:
            raise Conflict("A step of this task is already running.")
        return _step_locked(task=Task.objects.get(pk=task.pk), message=message, state_data=state_data)


def _step_locked(*, task: Task, message: str, state_data: dict[str, Any] | None) -> TaskStep:
    if task.is_completed:
        raise Conflict("The task is completed.")
    steps = list(task.steps.order_by("index"))
    if len(steps) >= MAX_TASK_STEPS:
        raise Conflict(f"The task reached its limit of {MAX_TASK_STEPS} steps.")
    if state_data:
        task.context = {**task.context, **state_data}
    documents = list(task_documents(task=task))
    sources, cited = _sources(task, message or task.request)
    current = agent.PastStep(input=message, state_data=state_data, action={}, result={})
    toolset = toolset_resolve(request=ToolsetRequest(user=task.owner))
    messages = agent.build_messages(
        request=task.request,
        context=task.context,
        document_names=[document.filename for document in documents],
        sources=sources,
        steps=[*(_past(step) for step in steps), current],
        tool_instructions=toolset.instructions,
    )
    model = chat_model(model_config_for(user=task.owner))
    try:
        outcome = async_to_sync(_step_and_close)(
            user=task.owner, model=model, messages=messages, toolset=toolset, sources=sources,
            session_id=str(task.pk), endpoint=ENDPOINT,
        )
    except ProviderError as exc:
        raise ModelUnavailable(exc.message) from exc
    with transaction.atomic():
        step = TaskStep.objects.create(
            task=task,
            index=len(steps),
            input=message,
            state_data=state_data,
            action=outcome.action,
            result=outcome.result,
            documents=_snapshot(documents, cited),
            model=outcome.model[:200],
        )
        if outcome.final:
            task.status = Task.Status.COMPLETED
            task.completed = timezone.now()
        elif outcome.awaiting_input:
            task.status = Task.Status.AWAITING_INPUT
        else:
            task.status = Task.Status.OPEN
        task.save(update_fields=["status", "completed", "context"])
    return step


def task_document_add(*, task: Task, upload: UploadedFile) -> Document:
    """Store ``upload`` in the task's workspace and queue its ingestion (a file of the same name is replaced)."""
    if task.is_completed:
        raise Conflict("The task is completed.")
    return knowledge_services.document_create(owner=task.owner, upload=upload, task_id=str(task.pk))


@transaction.atomic
def task_delete(*, task: Task) -> None:
    """Delete the task, its steps and its workspace documents (the knowledge app keeps those by task id only)."""
    for document in task_documents(task=task):
        knowledge_services.document_delete(document=document)
    task.delete()
