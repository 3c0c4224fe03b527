"""Retrieval for a run: the question's passages from the knowledge app, as numbered sources."""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from apps.agents.runtime.options import RunOptions
from apps.core.errors import ServiceError
from apps.knowledge.selectors import knowledge_search
from apps.providers.llm import Source
from apps.system import tracing

if TYPE_CHECKING:
    from apps.agents.models import Agent

logger = logging.getLogger(__name__)

TOP_K = 5


def search(
    *, user: Any, query: str, knowledge_base_ids: Sequence[str], thread_id: str | None, top_k: int = TOP_K
) -> list[Any]:
    """The best chunks of the user's library, the thread's files and the given bases (database reads)."""
    span = tracing.start_span("retrieval.search", thread_id=thread_id, knowledge_bases=len(knowledge_base_ids))
    try:
        chunks = knowledge_search(
            user=user, query=query, knowledge_base_ids=knowledge_base_ids, thread_id=thread_id,
            include_default_library=True, top_k=top_k,
        )
        span.set_attribute("retrieval.chunks", len(chunks))
    except ServiceError as exc:
        logger.info("retrieval skipped: %s", exc.message)
        span.set_attribute("retrieval.skipped", exc.message)
        return []
    finally:
        tracing.end_span(span)
    return chunks


def knowledge_base_ids_for(*, agent: Agent | None, options: RunOptions) -> list[str]:
    """The knowledge bases a run of ``agent`` searches: the request's, else the agent's."""
    knowledge = options.available_knowledge_bases
    if knowledge is None:
        knowledge = agent.available_knowledge_bases if agent else []
    return list(knowledge or [])


def sources_of(chunks: Sequence[Any]) -> list[Source]:
    sources = []
    for number, chunk in enumerate(chunks, start=1):
        where = f", page {chunk.page}" if getattr(chunk, "page", None) else ""
        where += f", row {chunk.row}" if getattr(chunk, "row", None) is not None else ""
        title = f"{getattr(chunk, 'title', '') or chunk.filename}{where}"
        sources.append(Source(number=number, title=title, content=chunk.content))
    return sources


def sources_text(sources: Sequence[Source]) -> str:
    body = "\n\n".join(f"[{source.number}] {source.title}\n{source.content}" for source in sources)
    return "\n\nSources from the user's documents. Ground your answer in them and cite them as [n].\n\n" + body


def citation(chunk: Any) -> dict[str, Any]:
    return {
        "document_id": str(chunk.document_id),
        "filename": chunk.filename,
        "page": chunk.page,
        "row": chunk.row,
        "chunk_id": str(chunk.chunk_id),
        "score": float(chunk.score),
    }
