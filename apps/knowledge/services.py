"""Every write of the knowledge app: knowledge bases, uploads, ingestion, deletion."""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q, Sum

from apps.core.errors import Conflict, Forbidden, Invalid, PayloadTooLarge, UnsupportedMediaType
from apps.core.jobs import enqueue
from apps.core.locks import advisory_lock, uuid_lock_key
from apps.knowledge import embedding
from apps.knowledge.chunking import chunk_sections
from apps.knowledge.models import Chunk, Document, IngestTask, KnowledgeBase
from apps.knowledge.parsing import (
    SUPPORTED_TYPES,
    ParseError,
    check_docx_archive,
    clean_filename,
    extension_of,
    parse,
)

logger = logging.getLogger(__name__)

#: Status, progress and errors are kept short enough for any list view.
MAX_ERROR_LENGTH = 500


class IngestBusy(Exception):
    """Another worker holds this document's ingestion lock; try again later."""


#: Errors a later attempt may not meet; the Celery task retries on these.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OperationalError, embedding.TransientEmbeddingError, IngestBusy)


# ------------------------------------------------------------------------------
# Knowledge bases
# ------------------------------------------------------------------------------
def _save_validated(instance: KnowledgeBase) -> KnowledgeBase:
    try:
        instance.full_clean()
    except ValidationError as exc:
        if any("already have" in message for message in exc.messages):
            raise Conflict("You already have a knowledge base with this name.") from exc
        raise
    instance.save()
    return instance


@transaction.atomic
def knowledge_base_create(
    *,
    owner,
    name: str,
    type: str = "rag",
    intro: str = "",
    language: str = "en",
    chunk_size: int = 1000,
    chunk_overlap: int = 200,
    embedding_base_url: str = "",
    embedding_api_key: str = "",
    embedding_model: str = "",
) -> KnowledgeBase:
    if embedding_base_url and not (owner.is_staff or owner.is_superuser):
        # The server calls this URL; letting any user choose it would let them probe the internal network.
        raise Forbidden("Only staff can point a knowledge base at an embeddings endpoint.")
    knowledge_base = KnowledgeBase(
        owner=owner,
        name=name.strip(),
        type=type or "rag",
        intro=intro,
        language=language,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        embedding_base_url=embedding_base_url,
        embedding_api_key=embedding_api_key,
    )
    if embedding_model:
        knowledge_base.embedding_model = embedding_model
    return _save_validated(knowledge_base)


@transaction.atomic
def knowledge_base_update(*, knowledge_base: KnowledgeBase, **changes: object) -> KnowledgeBase:
    """Change the given fields; chunking or embedding changes apply to documents ingested from now on."""
    allowed = {"name", "type", "intro", "language", "chunk_size", "chunk_overlap"}
    for field, value in changes.items():
        if field not in allowed:
            raise Invalid(f"{field} cannot be changed.")
        if value is not None:
            setattr(knowledge_base, field, value.strip() if field == "name" and isinstance(value, str) else value)
    return _save_validated(knowledge_base)


def knowledge_base_delete(*, knowledge_base: KnowledgeBase) -> None:
    knowledge_base_clear(knowledge_base=knowledge_base)
    knowledge_base.delete()


def knowledge_base_clear(*, knowledge_base: KnowledgeBase) -> int:
    """Delete every document of the knowledge base (and its chunks and files); the count deleted."""
    count = 0
    for document in list(knowledge_base.documents.all()):
        document_delete(document=document)
        count += 1
    return count


def knowledge_base_reingest_all(*, knowledge_base: KnowledgeBase) -> int:
    return documents_enqueue(documents=list(knowledge_base.documents.all()))


# ------------------------------------------------------------------------------
# Uploads
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ValidatedUpload:
    filename: str
    content_type: str
    data: bytes
    checksum: str


def storage_quota_check(*, owner, adding: int) -> None:
    """413 when ``adding`` bytes would take ``owner`` past ``STORAGE_QUOTA_BYTES``.

    Call inside a transaction: the owner's row is locked, so two concurrent uploads cannot
    both pass the check with the same remaining space.
    """
    quota = settings.STORAGE_QUOTA_BYTES
    if not quota:
        return
    type(owner).objects.select_for_update().filter(pk=owner.pk).first()
    used = Document.objects.filter(owner=owner).aggregate(total=Sum("size"))["total"] or 0
    if used + adding > quota:
        raise PayloadTooLarge(
            f"Storage quota exceeded: {used} of {quota} bytes are used and this file needs {adding} more. "
            "Delete documents you no longer need, or ask an administrator for more space.",
            code="storage_quota_exceeded",
        )


def inline_ingest_check(*, size: int) -> None:
    """Parsing and embedding run in the request only for files up to ``KNOWLEDGE_INLINE_INGEST_MAX_BYTES``."""
    limit = settings.KNOWLEDGE_INLINE_INGEST_MAX_BYTES
    if size > limit:
        raise PayloadTooLarge(
            f"Files over {limit} bytes are not ingested inside a request; upload it to your library "
            "(POST /upload) or a knowledge base, where it is ingested in the background.",
            code="too_large_for_inline_ingestion",
        )


def upload_validate(*, upload: UploadedFile) -> ValidatedUpload:
    """Name, size, type and archive checks, before anything is stored."""
    filename = clean_filename(upload.name or "")
    if not filename:
        raise Invalid("The file needs a name.", field_errors={"file": ["The file needs a name."]})
    if upload.size is not None and upload.size > settings.KNOWLEDGE_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"The file is larger than {settings.KNOWLEDGE_MAX_UPLOAD_BYTES} bytes.")
    extension = extension_of(filename)
    if extension not in SUPPORTED_TYPES:
        supported = ", ".join(sorted(SUPPORTED_TYPES))
        raise UnsupportedMediaType(f"Unsupported file type {extension or '(none)'}; supported: {supported}.")
    if not upload.size:
        raise Invalid("The file is empty.", field_errors={"file": ["The file is empty."]})
    upload.seek(0)
    data = upload.read()
    if extension == ".docx":
        try:
            check_docx_archive(data)
        except ParseError as exc:
            raise Invalid(str(exc), field_errors={"file": [str(exc)]}) from exc
    return ValidatedUpload(
        filename=filename,
        content_type=SUPPORTED_TYPES[extension],
        data=data,
        checksum=hashlib.sha256(data).hexdigest(),
    )


def _same_scope(
    *, owner, knowledge_base: KnowledgeBase | None, thread_id: str, task_id: str, filename: str
) -> Document | None:
    documents = Document.objects.filter(filename=filename)
    if knowledge_base is not None:
        return documents.filter(knowledge_base=knowledge_base).first()
    return documents.filter(owner=owner, knowledge_base__isnull=True, thread_id=thread_id, task_id=task_id).first()


def document_create(
    *,
    owner,
    upload: UploadedFile,
    knowledge_base: KnowledgeBase | None = None,
    thread_id: str = "",
    task_id: str = "",
    title: str = "",
    description: str = "",
    ingest_task: IngestTask | None = None,
    replace: bool = True,
    queue: bool = True,
) -> Document:
    """Store an upload as a document in its scope and (by default) queue its ingestion.

    A file of the same name in the same scope is replaced when ``replace``, else 409.
    Nothing is left behind when any step fails: the stored file is removed again.
    """
    validated = upload_validate(upload=upload)
    path = default_storage.save(
        f"knowledge/{owner.pk}/{uuid.uuid4().hex}/{validated.filename}", ContentFile(validated.data)
    )
    try:
        with transaction.atomic():
            storage_quota_check(owner=owner, adding=len(validated.data))
            existing = _same_scope(
                owner=owner,
                knowledge_base=knowledge_base,
                thread_id=thread_id,
                task_id=task_id,
                filename=validated.filename,
            )
            if existing is not None:
                if not replace:
                    raise Conflict(f"{validated.filename} already exists here.")
                document_delete(document=existing)
            document = Document.objects.create(
                owner=owner,
                knowledge_base=knowledge_base,
                thread_id=thread_id,
                task_id=task_id,
                ingest_task=ingest_task,
                file=path,
                filename=validated.filename,
                title=title or validated.filename,
                description=description,
                content_type=validated.content_type,
                size=len(validated.data),
                checksum=validated.checksum,
            )
            if queue:
                enqueue_ingestion(document=document)
    except IntegrityError as exc:
        default_storage.delete(path)
        # Two uploads of one name raced; the loser is told, the winner keeps its file.
        raise Conflict(f"{validated.filename} was uploaded at the same time by another request.") from exc
    except BaseException:
        default_storage.delete(path)
        raise
    return document


def document_create_temporal(*, owner, upload: UploadedFile, thread_id: str) -> Document:
    """000's ``/upload/temporal``: stored for one thread and ingested before the request answers.

    A file that cannot be ingested is removed again and its reason answered as 400. Whether
    ``thread_id`` is the owner's to use is the conversations app's to check, before it asks.
    """
    if upload.size is not None:
        inline_ingest_check(size=upload.size)
    document = document_create(owner=owner, upload=upload, thread_id=thread_id, queue=False)
    try:
        result = document_ingest(document_id=document.pk)
    except IngestBusy as exc:
        raise Conflict("The file is being ingested by another request.") from exc
    if result is None:
        raise Conflict("The file was deleted while it was being ingested.")
    if result.status == Document.Status.FAILED:
        document_delete(document=result)
        raise Invalid(f"The file could not be ingested: {result.error}", field_errors={"file": [result.error]})
    return result


def document_upload_batch(
    *, owner, knowledge_base: KnowledgeBase, uploads: Sequence[UploadedFile], replace: bool
) -> IngestTask:
    """002's ``add_by_files``: one batch, one document and one ingestion per file; all or nothing."""
    if not uploads:
        raise Invalid("Send at least one file.", field_errors={"files": ["Send at least one file."]})
    for upload in uploads:
        upload_validate(upload=upload)
    with transaction.atomic():
        task = IngestTask.objects.create(owner=owner, knowledge_base=knowledge_base)
        documents = [
            document_create(
                owner=owner, upload=upload, knowledge_base=knowledge_base, ingest_task=task, replace=replace, queue=False
            )
            for upload in uploads
        ]
        enqueue_ingestion_batch(documents=documents)
    return task


def ingest_task_redo(*, task: IngestTask) -> int:
    """Re-queue the batch's documents that failed or never finished."""
    return documents_enqueue(documents=list(task.documents.exclude(status=Document.Status.INGESTED)))


# ------------------------------------------------------------------------------
# Ingestion
# ------------------------------------------------------------------------------
def enqueue_ingestion(*, document: Document) -> None:
    enqueue("knowledge.ingest_document", document_id=str(document.pk))


def enqueue_ingestion_batch(*, documents: Sequence[Document]) -> None:
    """One message for several documents: one worker ingests them in turn, overlapping parse and embed."""
    if len(documents) == 1:
        enqueue_ingestion(document=documents[0])
    elif documents:
        enqueue("knowledge.ingest_documents", document_ids=[str(document.pk) for document in documents])


@transaction.atomic
def documents_enqueue(*, documents: Sequence[Document]) -> int:
    """Mark the documents queued and ingest them in the background as one batch."""
    Document.objects.filter(pk__in=[document.pk for document in documents]).update(
        status=Document.Status.QUEUED, progress=0.0, error=""
    )
    enqueue_ingestion_batch(documents=documents)
    return len(documents)


@transaction.atomic
def document_enqueue(*, document: Document) -> Document:
    """Mark the document queued and ingest it in the background (its chunks stay until replaced)."""
    Document.objects.filter(pk=document.pk).update(status=Document.Status.QUEUED, progress=0.0, error="")
    document.refresh_from_db()
    enqueue_ingestion(document=document)
    return document


def _ingestion_lock(document_id: uuid.UUID | str) -> AbstractContextManager[bool]:
    """A PostgreSQL session advisory lock: it dies with a killed worker's connection, never goes stale."""
    return advisory_lock(uuid_lock_key(document_id))


def _fail(document_id: uuid.UUID | str, reason: str) -> None:
    with transaction.atomic():
        Chunk.objects.filter(document_id=document_id).delete()
        Document.objects.filter(pk=document_id).update(
            status=Document.Status.FAILED, progress=0.0, chunk_count=0, error=reason[:MAX_ERROR_LENGTH]
        )


def document_fail(*, document_id: uuid.UUID | str, reason: str) -> None:
    """Record that ingestion gave up (retries exhausted, time limit, a worker that keeps dying)."""
    _fail(document_id, reason)


def _deliveries_key(document_id: uuid.UUID | str) -> str:
    return f"ingest-deliveries:{document_id}"


def ingest_delivery_begin(*, document_id: uuid.UUID | str) -> bool:
    """Count one delivery of a document's ingestion; False (and the document failed) past the limit.

    The count is cleared by :func:`ingest_delivery_end` on every ending a worker lives to see
    (success, failure, retry). Only deliveries whose worker died mid-way add up, so a file that
    kills its worker (a parser that exhausts memory, a segfault) is failed after
    ``INGEST_MAX_DELIVERIES`` deliveries instead of being redelivered forever.
    """
    key = _deliveries_key(document_id)
    count = _count_delivery(key)
    if count > settings.INGEST_MAX_DELIVERIES:
        cache.delete(key)
        document_fail(
            document_id=document_id,
            reason=f"Ingestion stopped: processing this file ended its worker {count - 1} times "
            "(out of memory or a crash). Check the file, then re-ingest it.",
        )
        return False
    return True


def ingest_delivery_end(*, document_id: uuid.UUID | str) -> None:
    cache.delete(_deliveries_key(document_id))


def _count_delivery(key: str) -> int:
    cache.add(key, 0, timeout=7 * 24 * 3600)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=7 * 24 * 3600)
        return 1


def _batch_key(document_ids: Sequence[uuid.UUID | str]) -> str:
    digest = hashlib.sha256(",".join(sorted(str(pk) for pk in document_ids)).encode()).hexdigest()
    return f"ingest-batch-deliveries:{digest}"


def batch_delivery_begin(*, document_ids: Sequence[uuid.UUID | str]) -> bool:
    """Count one delivery of a batch; False when an earlier one began and never ended (its worker died).

    A batch does not know which of its files killed the worker, so a redelivered batch is not
    run again as a batch (it would meet the same file, and die, forever): the caller hands each
    document still pending to its own single-document task, where :func:`ingest_delivery_begin`
    fails the file that keeps killing workers after ``INGEST_MAX_DELIVERIES``.
    """
    return _count_delivery(_batch_key(document_ids)) == 1


def batch_delivery_end(*, document_ids: Sequence[uuid.UUID | str]) -> None:
    cache.delete(_batch_key(document_ids))


def pending_document_ids(*, document_ids: Sequence[uuid.UUID | str]) -> list[str]:
    """Of ``document_ids``, those still queued or being processed, in the given order."""
    pending = {str(pk) for pk in Document.objects.filter(
        pk__in=document_ids, status__in=[Document.Status.QUEUED, Document.Status.PROCESSING]).values_list("pk", flat=True)}
    return [str(pk) for pk in document_ids if str(pk) in pending]


def document_ingest(*, document_id: uuid.UUID | str) -> Document | None:
    """Parse, chunk and embed one document, then swap its chunks in one transaction.

    Idempotent: a rerun replaces the document's chunks, never adds to them. Returns the
    document, or None when it was deleted before or during the work (cancelled).
    Raises :class:`IngestBusy` while another worker ingests the same document, and the
    errors in :data:`TRANSIENT_ERRORS` for the caller to retry.
    """
    return _ingest(document_id)


def documents_ingest(
    *, document_ids: Sequence[uuid.UUID | str], only_pending: bool = False
) -> list[tuple[str, Document | None | Exception]]:
    """Ingest several documents in order; the next one is read, parsed and chunked while this one embeds.

    One prefetch thread does the parsing (it needs no database), so the encoder, which
    releases the GIL, and the parser overlap. Each document keeps its own lock, status and
    errors: a transient error (see :data:`TRANSIENT_ERRORS`) is returned in its place for
    the caller to retry that document alone. ``only_pending`` skips documents that are
    neither queued nor processing (a redelivered batch skips what it already finished).
    """
    results: list[tuple[str, Document | None | Exception]] = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="codex-ingest-prefetch") as prefetch:

        def ahead(document_id) -> Future | None:
            document = Document.objects.select_related("knowledge_base").filter(pk=document_id).first()
            return prefetch.submit(_prepare, document) if document is not None else None

        upcoming = ahead(document_ids[0]) if document_ids else None
        for position, document_id in enumerate(document_ids):
            prepared = upcoming
            upcoming = ahead(document_ids[position + 1]) if position + 1 < len(document_ids) else None
            try:
                result: Document | None | Exception = _ingest(
                    document_id, prepared=prepared, only_pending=only_pending
                )
            except TRANSIENT_ERRORS as exc:
                result = exc
            results.append((str(document_id), result))
    return results


@dataclass(frozen=True)
class _Prepared:
    """A document's chunks and what they were cut from (a re-upload or new chunk sizes invalidate them)."""

    key: tuple[str, int, int]
    drafts: list | None = None
    error: Exception | None = None


def _chunking_key(document: Document) -> tuple[str, int, int]:
    knowledge_base = document.knowledge_base
    return (
        document.file.name,
        knowledge_base.chunk_size if knowledge_base else 1000,
        knowledge_base.chunk_overlap if knowledge_base else 200,
    )


def _prepare(document: Document) -> _Prepared:
    """Read, parse and chunk: no database access, so a prefetch thread may run it."""
    key = _chunking_key(document)
    try:
        with document.file.open("rb") as handle:
            data = handle.read()
        drafts = chunk_sections(parse(data, document.filename), chunk_size=key[1], chunk_overlap=key[2])
    except Exception as exc:
        return _Prepared(key, error=exc)
    return _Prepared(key, drafts=drafts)


def _ingest(
    document_id: uuid.UUID | str, *, prepared: Future | None = None, only_pending: bool = False
) -> Document | None:
    with _ingestion_lock(document_id) as acquired:
        if not acquired:
            raise IngestBusy(str(document_id))
        document = Document.objects.select_related("knowledge_base").filter(pk=document_id).first()
        if document is None:
            return None
        if only_pending and document.status not in {Document.Status.QUEUED, Document.Status.PROCESSING}:
            return document
        Document.objects.filter(pk=document.pk).update(status=Document.Status.PROCESSING, progress=0.0, error="")
        knowledge_base = document.knowledge_base
        try:
            ready = prepared.result() if prepared is not None else None
            if ready is None or ready.key != _chunking_key(document):
                ready = _prepare(document)
            if ready.error is not None:
                raise ready.error
            drafts = ready.drafts
            vectors: list[list[float] | None] = [None] * len(drafts)
            embedded = 0
            texts = [draft.content for draft in drafts]
            for indices, batch in embedding.embed_batches(texts, knowledge_base=knowledge_base):
                for index, vector in zip(indices, batch, strict=True):
                    vectors[index] = vector
                embedded += len(indices)
                # Progress per batch doubles as the cancellation check: a deleted document updates nothing.
                progress = min(0.99, embedded / len(drafts))
                if not Document.objects.filter(pk=document.pk).update(progress=progress):
                    return None
        except FileNotFoundError:
            _fail(document.pk, "The stored file is missing.")
            return _refreshed(document)
        except ParseError as exc:
            _fail(document.pk, str(exc))
            return _refreshed(document)
        except TRANSIENT_ERRORS:
            raise
        except embedding.EmbeddingError as exc:
            _fail(document.pk, str(exc))
            return _refreshed(document)
        except Exception:
            # A bug or a parser library's own exception: the owner sees a plain reason, the log the detail.
            logger.exception("ingesting document %s failed", document.pk)
            _fail(document.pk, "The file could not be processed.")
            return _refreshed(document)
        with transaction.atomic():
            if not Document.objects.select_for_update().filter(pk=document.pk).exists():
                return None
            Chunk.objects.filter(document_id=document.pk).delete()
            Chunk.objects.bulk_create(
                [
                    Chunk(
                        document_id=document.pk,
                        knowledge_base_id=document.knowledge_base_id,
                        ordinal=ordinal,
                        content=draft.content,
                        metadata=draft.metadata,
                        embedding=vector,
                    )
                    for ordinal, (draft, vector) in enumerate(zip(drafts, vectors, strict=True))
                ],
                batch_size=500,
            )
            Document.objects.filter(pk=document.pk).update(
                status=Document.Status.INGESTED, progress=1.0, chunk_count=len(drafts), error=""
            )
        return _refreshed(document)


def _refreshed(document: Document) -> Document | None:
    return Document.objects.filter(pk=document.pk).first()


# ------------------------------------------------------------------------------
# Deletion
# ------------------------------------------------------------------------------
def document_delete(*, document: Document) -> int:
    """Delete the document, its chunks and (after commit) its file; the number of chunks deleted."""
    with transaction.atomic():
        deleted = Chunk.objects.filter(document_id=document.pk).delete()[0]
        path = document.file.name
        document.delete()
        transaction.on_commit(lambda: default_storage.delete(path) if path else None)
    return deleted


def thread_temporal_clear(*, owner, thread_id: str) -> tuple[int, int]:
    """Delete the thread's temporal documents; ``(files deleted, chunks deleted)``."""
    files = chunks = 0
    for document in list(Document.objects.filter(owner=owner, thread_id=thread_id).filter(~Q(thread_id=""))):
        chunks += document_delete(document=document)
        files += 1
    return files, chunks


def document_reingest_now(*, document: Document) -> Document:
    """Re-ingest synchronously (000's ``/reingest`` answers with the new chunk count)."""
    inline_ingest_check(size=document.size)
    try:
        result = document_ingest(document_id=document.pk)
    except IngestBusy as exc:
        raise Conflict("The document is being ingested right now; try again shortly.") from exc
    if result is None:
        raise Conflict("The document was deleted while it was being re-ingested.")
    return result


# ------------------------------------------------------------------------------
# Object storage (002's /api/oss/upload)
# ------------------------------------------------------------------------------
def oss_file_store(*, owner, upload: UploadedFile, path: str = "") -> str:
    """Store any file under the owner's prefix; returns its storage URL."""
    filename = clean_filename(upload.name or "")
    if not filename:
        raise Invalid("The file needs a name.", field_errors={"file": ["The file needs a name."]})
    if upload.size is not None and upload.size > settings.KNOWLEDGE_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(f"The file is larger than {settings.KNOWLEDGE_MAX_UPLOAD_BYTES} bytes.")
    if not upload.size:
        raise Invalid("The file is empty.", field_errors={"file": ["The file is empty."]})
    with transaction.atomic():
        storage_quota_check(owner=owner, adding=upload.size)
    # Only plain folder names survive: no "..", no absolute paths, no backslashes.
    folders = [clean_filename(part) for part in path.replace("\\", "/").split("/")]
    folders = [part for part in folders if part and part not in {".", ".."}]
    name = "/".join(["oss", str(owner.pk), *folders, uuid.uuid4().hex[:12], filename])
    saved = default_storage.save(name, upload)
    return default_storage.url(saved)
