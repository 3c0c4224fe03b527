"""Text → unit vectors: the bundled all-MiniLM-L6-v2 by default, or a knowledge base's own endpoint."""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import httpx
from django.conf import settings

from apps.knowledge import encoders
from apps.knowledge.models import EMBEDDING_DIMENSIONS

if TYPE_CHECKING:
    from apps.knowledge.models import KnowledgeBase

logger = logging.getLogger(__name__)

#: Texts per encoder call: large enough to keep the CPU busy, small enough to report progress often.
BATCH_SIZE = 64
REMOTE_TIMEOUT_SECONDS = 60.0
BACKENDS = ("onnx", "torch")

#: One encoder per (backend, cache folder, threads), loaded once per process (workers and web alike).
_encoders: dict[tuple, encoders.Encoder] = {}
_encoders_lock = threading.Lock()


class EmbeddingError(Exception):
    """Embedding failed for a reason worth showing to the document's owner."""


class TransientEmbeddingError(EmbeddingError):
    """A remote endpoint failed in a way a retry may fix (timeout, 5xx, 429)."""


def _load(backend: str) -> encoders.Encoder:
    if backend == "onnx":
        try:
            return encoders.OnnxEncoder(cache_dir=settings.EMBEDDING_CACHE_DIR, threads=settings.EMBEDDING_THREADS)
        except Exception as exc:  # onnxruntime missing, or the export failed: the reference still works
            logger.warning(
                "The ONNX encoder is unavailable (%s: %s); embedding with the PyTorch encoder instead.",
                type(exc).__name__,
                exc,
            )
    elif backend != "torch":
        logger.warning("EMBEDDING_BACKEND=%r is not one of %s; using torch.", backend, ", ".join(BACKENDS))
    return encoders.TorchEncoder(threads=settings.EMBEDDING_THREADS)


def local_encoder(backend: str | None = None) -> encoders.Encoder:
    """The bundled model's encoder for ``backend`` (default: ``EMBEDDING_BACKEND``)."""
    backend = backend or settings.EMBEDDING_BACKEND
    key = (backend, str(settings.EMBEDDING_CACHE_DIR), settings.EMBEDDING_THREADS)
    encoder = _encoders.get(key)
    if encoder is None:
        with _encoders_lock:
            encoder = _encoders.get(key)
            if encoder is None:
                encoder = _encoders[key] = _load(backend)
    return encoder


def embed_local(texts: Sequence[str], *, backend: str | None = None) -> list[list[float]]:
    return local_encoder(backend).encode(texts, batch_size=BATCH_SIZE).tolist()


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


def embed_batches(
    texts: Sequence[str], *, knowledge_base: KnowledgeBase | None = None, batch_size: int = BATCH_SIZE
) -> Iterator[tuple[list[int], list[list[float]]]]:
    """``(indices, vectors)`` per batch of ``texts``, batched by length so padding wastes little.

    The texts are sorted by token count (by characters for a remote endpoint) and cut into
    batches of ``batch_size``; the caller puts each vector back at its index.
    """
    if knowledge_base is not None and knowledge_base.uses_remote_embeddings:
        lengths = [len(text) for text in texts]
    else:
        lengths = local_encoder().token_counts(texts)
    order = sorted(range(len(texts)), key=lengths.__getitem__)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        yield indices, embed_texts([texts[i] for i in indices], knowledge_base=knowledge_base)
