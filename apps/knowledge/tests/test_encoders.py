"""The bundled encoder: ONNX against the PyTorch reference, the offline export, the fallback, length batches."""
from __future__ import annotations

import logging
import socket

import numpy as np
from django.conf import settings

from apps.knowledge import embedding, encoders
from apps.knowledge.chunking import chunk_sections
from apps.knowledge.parsing import parse
from apps.knowledge.tests.conftest import CORPUS

#: The chunkings the retrieval tests and the defaults produce.
CHUNKINGS = [(160, 30), (1000, 200)]


def corpus_chunks() -> list[str]:
    texts = []
    for path in sorted(CORPUS.iterdir()):
        if path.suffix == ".py":
            continue
        sections = parse(path.read_bytes(), path.name)
        for size, overlap in CHUNKINGS:
            texts += [draft.content for draft in chunk_sections(sections, chunk_size=size, chunk_overlap=overlap)]
    return texts


def test_onnx_is_the_default_backend_and_really_loads():
    assert settings.EMBEDDING_BACKEND == "onnx"
    encoder = embedding.local_encoder()
    assert isinstance(encoder, encoders.OnnxEncoder), "the ONNX encoder fell back to torch; see the warning log"
    assert encoders.onnx_export_path(settings.EMBEDDING_CACHE_DIR).exists()


def test_onnx_vectors_match_the_pytorch_reference_for_every_corpus_chunk():
    texts = corpus_chunks()
    assert len(texts) > 40
    reference = np.asarray(embedding.embed_local(texts, backend="torch"))
    quantized = np.asarray(embedding.embed_local(texts, backend="onnx"))
    assert embedding.local_encoder("onnx").name == "onnx" and embedding.local_encoder("torch").name == "torch"
    assert quantized.shape == reference.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(quantized, axis=1), 1.0, atol=1e-5)
    cosines = (reference * quantized).sum(axis=1)
    worst = int(cosines.argmin())
    assert cosines.min() >= 0.99, (float(cosines.min()), texts[worst][:80])
    # And the query side: a question alone in its batch.
    question = "How long must NIGHTJAR_SECRET be?"
    assert np.dot(embedding.embed_local([question], backend="torch")[0], embedding.embed_query(question)) >= 0.99


def test_the_token_counts_are_the_reference_tokenizers():
    texts = corpus_chunks()[:20] + ["word " * 400]
    assert embedding.local_encoder("onnx").token_counts(texts) == embedding.local_encoder("torch").token_counts(texts)
    assert max(embedding.local_encoder("onnx").token_counts(texts)) == 256


def test_a_clean_cache_builds_the_export_by_itself_without_network(settings, tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    settings.EMBEDDING_CACHE_DIR = tmp_path / "var" / "models"
    assert not settings.EMBEDDING_CACHE_DIR.exists()
    encoder = embedding.local_encoder()
    assert isinstance(encoder, encoders.OnnxEncoder)
    built = encoders.onnx_export_path(settings.EMBEDDING_CACHE_DIR)
    assert built.exists()
    # Only the export and its lock are left: no temporary folder of the build.
    assert sorted(p.name for p in settings.EMBEDDING_CACHE_DIR.iterdir()) == [built.name, built.name + ".lock"]
    text = "Nightjar listens on port 7443."
    fresh = encoder.encode([text], batch_size=8)[0]
    reference = embedding.embed_local([text], backend="torch")[0]
    assert float(np.dot(fresh, reference)) >= 0.99


def test_a_failing_onnx_backend_falls_back_to_torch_with_a_clear_log_line(settings, tmp_path, monkeypatch, caplog):
    settings.EMBEDDING_CACHE_DIR = tmp_path / "unused"

    def missing(**kwargs):
        raise ModuleNotFoundError("No module named 'onnxruntime'")

    monkeypatch.setattr(encoders, "OnnxEncoder", missing)
    with caplog.at_level(logging.WARNING, logger="apps.knowledge.embedding"):
        encoder = embedding.local_encoder()
    assert encoder.name == "torch"
    assert "ONNX encoder is unavailable (ModuleNotFoundError: No module named 'onnxruntime')" in caplog.text
    assert "PyTorch encoder instead" in caplog.text
    assert len(embedding.embed_texts(["still embeds"])[0]) == 384


def test_batches_are_cut_by_token_count_and_every_index_comes_back_once():
    texts = corpus_chunks()[:30]
    counts = embedding.local_encoder().token_counts(texts)
    assert len(set(counts)) > 10
    batches = list(embedding.embed_batches(texts, batch_size=8))
    assert [len(indices) for indices, _ in batches] == [8, 8, 8, 6]
    order = [index for indices, _ in batches for index in indices]
    assert sorted(order) == list(range(len(texts)))
    assert [counts[i] for i in order] == sorted(counts)
    reference = np.asarray(embedding.embed_local(texts, backend="torch"))
    whole = np.asarray(embedding.embed_texts(texts))
    for indices, vectors in batches:
        assert (np.einsum("ij,ij->i", reference[indices], np.asarray(vectors)) >= 0.99).all()
        # A text's ONNX vector does not depend on the texts batched with it.
        assert np.allclose(whole[indices], vectors, atol=1e-6)
