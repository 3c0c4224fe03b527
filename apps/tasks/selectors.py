"""Reads of tasks, always scoped to the user asking: another user's task is 404."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet

from apps.core.errors import NotFound
from apps.knowledge import selectors as knowledge_selectors
from apps.knowledge.models import Document
from apps.tasks.models import Task, TaskStep


def _as_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def task_list(*, user: Any) -> QuerySet[Task]:
    return Task.objects.filter(owner=user)


def task_titles(user: Any, session_ids: Sequence[str]) -> dict[str, str]:
    """The titles of those ids that are ``user``'s tasks (the core session registry's reader for tasks)."""
    pks = [pk for pk in (_as_uuid(value) for value in session_ids) if pk is not None]
    return {str(pk): title for pk, title in task_list(user=user).filter(pk__in=pks).values_list("pk", "title")}


def task_get(*, user: Any, task_id: object) -> Task:
    pk = _as_uuid(task_id)
    task = task_list(user=user).filter(pk=pk).first() if pk else None
    if task is None:
        raise NotFound("Task not found.")
    return task


def task_steps(*, task: Task) -> QuerySet[TaskStep]:
    return task.steps.order_by("index")


def task_documents(*, task: Task) -> QuerySet[Document]:
    """The task's workspace: the knowledge documents scoped to it (the knowledge app keeps them by task id)."""
    return knowledge_selectors.task_api_documents(user=task.owner).filter(task_id=str(task.pk)).order_by("created_at")


def task_document_get(*, task: Task, document_id: object) -> Document:
    """A workspace document by its id or by the filename it was uploaded under (the upload answers both)."""
    documents = task_documents(task=task)
    document_uuid = _as_uuid(document_id)
    document = documents.filter(pk=document_uuid).first() if document_uuid is not None else None
    if document is None:
        document = documents.filter(filename=str(document_id)).order_by("-created_at").first()
    if document is None:
        raise NotFound("Document not found.")
    return document


def task_document_entry(document: Document) -> dict[str, Any]:
    """A workspace document as 001 shows it: ``{taskId, filename, metadata}``."""
    return {
        "taskId": document.task_id,
        "filename": document.filename,
        "metadata": {
            "id": str(document.pk),
            "title": document.title,
            "description": document.description,
            "contentType": document.content_type,
            "size": document.size,
            "status": document.status,
            "progress": document.progress,
            "chunks": document.chunk_count,
        },
    }
