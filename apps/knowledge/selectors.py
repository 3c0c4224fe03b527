"""Reads of the knowledge app, always scoped to the user asking; the runtime's retrieval entry point."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from pgvector.django import CosineDistance

from apps.core.errors import NotFound
from apps.core.reads import shared
from apps.knowledge.embedding import embed_query
from apps.knowledge.models import TEXT_SEARCH_CONFIG, Chunk, Document, IngestTask, KnowledgeBase

#: Reciprocal-rank-fusion constant (Cormack et al.); 60 is the usual choice.
RRF_K = 60
#: HNSW candidate list; high enough that filtered queries keep recall with the iterative scan.
HNSW_EF_SEARCH = 100
#: Up to this many chunks in scope, the vector ranking is exact (a bitmap scan and a sort):
#: ~1 ms per 1k chunks at 1M (bench/retrieve.py: 30k exact p95 36-46 ms, recall 1.0, where
#: HNSW with the iterative scan took p95 56-85 ms at recall@10 0.66-0.71).
EXACT_SEARCH_MAX_CHUNKS = 30_000


@dataclass(frozen=True)
class RetrievedChunk:
    chunk_id: str
    document_id: str
    filename: str
    title: str
    content: str
    page: int | None
    row: int | None
    score: float


# ------------------------------------------------------------------------------
# Knowledge bases, documents, chunks
# ------------------------------------------------------------------------------
def _as_uuid(value: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError) as exc:
        raise NotFound("Not found.") from exc


def knowledge_base_list(*, user, name: str = "", type: str = "") -> QuerySet[KnowledgeBase]:
    queryset = KnowledgeBase.objects.filter(owner=user)
    if name:
        queryset = queryset.filter(name__icontains=name)
    if type:
        queryset = queryset.filter(type=type)
    return queryset


def knowledge_base_get(*, user, knowledge_base_id: object) -> KnowledgeBase:
    knowledge_base = KnowledgeBase.objects.filter(owner=user, pk=_as_uuid(knowledge_base_id)).first()
    if knowledge_base is None:
        raise NotFound("Knowledge base not found.")
    return knowledge_base


def document_get(*, user, document_id: object, knowledge_base: KnowledgeBase | None = None) -> Document:
    documents = Document.objects.filter(owner=user, pk=_as_uuid(document_id))
    if knowledge_base is not None:
        documents = documents.filter(knowledge_base=knowledge_base)
    document = documents.select_related("knowledge_base").first()
    if document is None:
        raise NotFound("Document not found.")
    return document


def library_documents(*, user) -> QuerySet[Document]:
    """The user's default library: uploads that belong to no knowledge base, thread or task."""
    return Document.objects.filter(owner=user, knowledge_base__isnull=True, thread_id="", task_id="")


def document_by_filename(*, user, filename: str, thread_id: str = "") -> Document:
    if thread_id:
        documents = Document.objects.filter(owner=user, thread_id=thread_id, knowledge_base__isnull=True)
    else:
        documents = library_documents(user=user)
    document = documents.filter(filename=filename).first()
    if document is None:
        raise NotFound(f"{filename} not found.")
    return document


def task_api_documents(*, user) -> QuerySet[Document]:
    """001's ``/api/documents``: the user's library and task documents (not knowledge bases or threads)."""
    return Document.objects.filter(owner=user, knowledge_base__isnull=True, thread_id="")


def task_api_document_get(*, user, document_id: object) -> Document:
    document = task_api_documents(user=user).filter(pk=_as_uuid(document_id)).first()
    if document is None:
        raise NotFound("Document not found.")
    return document


def knowledge_base_document_get(*, user, document_id: object) -> Document:
    """A document of one of the user's knowledge bases (002's ``doc_id`` routes)."""
    document = (
        Document.objects.filter(owner=user, knowledge_base__owner=user, pk=_as_uuid(document_id))
        .select_related("knowledge_base")
        .first()
    )
    if document is None:
        raise NotFound("Document not found.")
    return document


def knowledge_base_documents(
    *, knowledge_base: KnowledgeBase, name: str = "", statuses: Sequence[str] = (), ingest_task_id: object = None
) -> QuerySet[Document]:
    documents = knowledge_base.documents.all()
    if name:
        documents = documents.filter(filename__icontains=name)
    if statuses:
        documents = documents.filter(status__in=statuses)
    if ingest_task_id:
        documents = documents.filter(ingest_task_id=_as_uuid(ingest_task_id))
    return documents


def document_chunks(*, document: Document) -> QuerySet[Chunk]:
    return document.chunks.order_by("ordinal")


def chunk_get(*, user, chunk_id: object) -> Chunk:
    try:
        pk = int(str(chunk_id))
    except ValueError as exc:
        raise NotFound("Chunk not found.") from exc
    chunk = Chunk.objects.select_related("document").filter(pk=pk, document__owner=user).first()
    if chunk is None:
        raise NotFound("Chunk not found.")
    return chunk


def ingest_task_get(*, user, knowledge_base: KnowledgeBase, task_id: object) -> IngestTask:
    task = IngestTask.objects.filter(owner=user, knowledge_base=knowledge_base, pk=_as_uuid(task_id)).first()
    if task is None:
        raise NotFound("Task not found.")
    return task


@dataclass(frozen=True)
class TaskProgress:
    success: int
    fail: int
    in_progress: int
    waiting: int
    total: int

    @property
    def ratio(self) -> float:
        return (self.success + self.fail) / self.total if self.total else 1.0


def ingest_task_progress(*, task: IngestTask) -> TaskProgress:
    counts = {row["status"]: row["n"] for row in _status_counts(task.documents.all())}
    return TaskProgress(
        success=counts.get(Document.Status.INGESTED, 0),
        fail=counts.get(Document.Status.FAILED, 0),
        in_progress=counts.get(Document.Status.PROCESSING, 0),
        waiting=counts.get(Document.Status.QUEUED, 0),
        total=sum(counts.values()),
    )


def _status_counts(documents: QuerySet[Document]) -> list[dict]:
    from django.db.models import Count

    return list(documents.order_by().values("status").annotate(n=Count("id")))


# ------------------------------------------------------------------------------
# Retrieval
# ------------------------------------------------------------------------------
def _searchable_documents(
    *, user, knowledge_base_ids: Sequence[str], thread_id: str | None, include_default_library: bool
) -> QuerySet[Document]:
    scope = Q(pk__in=[])
    if include_default_library:
        scope |= Q(knowledge_base__isnull=True, thread_id="", task_id="")
    if thread_id:
        scope |= Q(thread_id=thread_id)
    kb_ids = []
    for value in knowledge_base_ids:
        try:
            kb_ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if kb_ids:
        # Only knowledge bases the user may read: today, the ones they own.
        scope |= Q(knowledge_base__in=KnowledgeBase.objects.filter(owner=user, pk__in=kb_ids))
    return Document.objects.filter(scope, owner=user, status=Document.Status.INGESTED)


def _vector_ranking(chunks: QuerySet[Chunk], vector: list[float], limit: int) -> list[int]:
    # A narrow scope (one user's files, one knowledge base) is searched exactly: its rows are
    # few, and an HNSW walk of the whole graph filtered down to them loses recall (bench/retrieve.py).
    exact = not chunks[EXACT_SEARCH_MAX_CHUNKS : EXACT_SEARCH_MAX_CHUNKS + 1].exists()
    with transaction.atomic(), connection.cursor() as cursor:
        if exact:
            cursor.execute("SET LOCAL enable_indexscan = off")
        else:
            # SET LOCAL lasts for this transaction only; relaxed_order keeps scanning the HNSW
            # graph until enough rows pass the filter.
            cursor.execute(f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, limit)}")
            cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        ordered = chunks.annotate(distance=CosineDistance("embedding", vector)).order_by("distance")
        return list(ordered.values_list("pk", flat=True)[:limit])


def _text_ranking(chunks: QuerySet[Chunk], query: str, limit: int) -> list[int]:
    search = SearchQuery(query, search_type="websearch", config=TEXT_SEARCH_CONFIG)
    ranked = (
        chunks.filter(search_vector=search)
        .annotate(rank=SearchRank(F("search_vector"), search, cover_density=True))
        .order_by("-rank", "pk")
    )
    return list(ranked.values_list("pk", flat=True)[:limit])


def _fuse(rankings: Sequence[Sequence[int]]) -> dict[int, float]:
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, pk in enumerate(ranking, start=1):
            scores[pk] = scores.get(pk, 0.0) + 1.0 / (RRF_K + rank)
    return scores


def search_chunks(*, user, query: str, documents: QuerySet[Document], top_k: int) -> list[RetrievedChunk]:
    """Hybrid search over the chunks of ``documents``: HNSW cosine and full text, fused by reciprocal rank."""
    query = (query or "").strip()
    if not query or top_k < 1:
        return []
    candidates = max(top_k * 4, 20)
    document_ids = documents.values("pk")
    chunks = Chunk.objects.filter(document_id__in=document_ids)
    # Most chats have nothing to search: one cheap query spares loading and running the encoder.
    if not chunks.exists():
        return []
    rankings: list[list[int]] = []
    # Each embedding space is searched with the query embedded in that space.
    remote_bases = list(KnowledgeBase.objects.filter(pk__in=documents.values("knowledge_base")).exclude(embedding_base_url=""))
    local_chunks = chunks.exclude(knowledge_base__in=[kb.pk for kb in remote_bases])
    rankings.append(_vector_ranking(local_chunks, embed_query(query), candidates))
    for knowledge_base in remote_bases:
        vector = embed_query(query, knowledge_base=knowledge_base)
        rankings.append(_vector_ranking(chunks.filter(knowledge_base=knowledge_base), vector, candidates))
    rankings.append(_text_ranking(chunks, query, candidates))
    scores = _fuse(rankings)
    best = sorted(scores, key=lambda pk: (-scores[pk], pk))[:top_k]
    rows = {chunk.pk: chunk for chunk in Chunk.objects.select_related("document").filter(pk__in=best)}
    return [
        RetrievedChunk(
            chunk_id=str(pk),
            document_id=str(rows[pk].document_id),
            filename=rows[pk].document.filename,
            title=rows[pk].document.title or rows[pk].document.filename,
            content=rows[pk].content,
            page=rows[pk].metadata.get("page"),
            row=rows[pk].metadata.get("row"),
            score=round(scores[pk], 6),
        )
        for pk in best
        if pk in rows
    ]


def knowledge_search(
    *,
    user,
    query: str,
    knowledge_base_ids: Sequence[str] = (),
    thread_id: str | None = None,
    include_default_library: bool = True,
    top_k: int = 5,
) -> list[RetrievedChunk]:
    """What the chat runtime calls: the user's library, the thread's temporal files and the given bases."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    # Every searchable document is the user's. Most users have none: the runs of one user
    # prepared together (apps/core/reads.py) learn that with one query, not one each.
    if not shared(("has-ingested-documents", user.pk),
                  lambda: Document.objects.filter(owner=user, status=Document.Status.INGESTED).exists()):
        return []
    documents = _searchable_documents(
        user=user,
        knowledge_base_ids=knowledge_base_ids,
        thread_id=thread_id,
        include_default_library=include_default_library,
    )
    return search_chunks(user=user, query=query, documents=documents, top_k=top_k)


def knowledge_base_search(*, user, knowledge_base: KnowledgeBase, query: str, top_k: int) -> list[RetrievedChunk]:
    documents = Document.objects.filter(owner=user, knowledge_base=knowledge_base, status=Document.Status.INGESTED)
    return search_chunks(user=user, query=query, documents=documents, top_k=top_k)


#: Top-level storage folders whose second level is the owner's id (``oss/<user id>/...``).
OWNER_PREFIXED_FOLDERS = ("oss", "knowledge")


def media_file_get(*, user, name: str) -> str:
    """The storage name of a file under ``MEDIA_URL`` that belongs to ``user``; 404 otherwise.

    Only owner-prefixed folders are served, and only to their owner: ``oss/<id>/...`` (002's
    ``/api/oss/upload``) and ``knowledge/<id>/...`` (uploaded documents).
    """
    parts = name.split("/")
    if (
        len(parts) < 3
        or parts[0] not in OWNER_PREFIXED_FOLDERS
        or parts[1] != str(user.pk)
        or any(part in ("", ".", "..") or "\\" in part or "\x00" in part for part in parts)
    ):
        raise NotFound("File not found.")
    if not default_storage.exists(name):
        raise NotFound("File not found.")
    return name
