"""Ingestion throughput: documents → stored chunks per second, against the raw encoders on the same text.

In one run, on a database of its own (``codex_bench_ingest`` on the project's PostgreSQL):

* the raw encoders, PyTorch (sentence-transformers ``encode``, batch 64, normalised: the
  reference) and ONNX (the int8 export on onnxruntime), over exactly the chunk texts the
  pipeline will produce, in chunks per second;
* end to end with each backend: ``documents_ingest`` over the uploaded documents, as the
  batch task runs it (read from storage, parse and chunk the next document in a prefetch
  thread, embed in length-sorted batches with a progress write each, swap the chunks in
  one transaction);
* the raw encoders again (load on a shared machine drifts), then query-embedding latency
  p50/p95 for a 20-word question with each backend.

It prints chunks/s and the ratios against the mean of the PyTorch encoder's two runs.

    .venv/bin/python bench/ingest.py [--documents 8] [--chars 24000] [--queries 50]

Target (issue 13): end to end (ONNX) >= 2x the raw PyTorch encoder in the same run.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "codex_bench_ingest"

WORDS = (
    "river library laser printer membership filament backup server tea harvest volcano planet greenhouse "
    "compost invoice receipt hotel flight policy queue worker database index vector search chunk answer "
    "question citation page row document upload storage cluster memory latency recall throughput"
).split()


def configure_database() -> None:
    """Point Django at the bench database (created on first use) before it starts."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")
    import environ

    from codex import embedded_db

    url = environ.Env().str("DATABASE_URL", default="") or embedded_db.database_url(ROOT / "var" / "postgres")
    import psycopg

    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
    os.environ["DATABASE_URL"] = urlunsplit(urlsplit(url)._replace(path="/" + DATABASE))


def synthetic_document(rng: random.Random, chars: int) -> str:
    paragraphs, size = [], 0
    while size < chars:
        sentences = [
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 18))).capitalize() + "."
            for _ in range(rng.randint(3, 7))
        ]
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(paragraphs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=8)
    parser.add_argument("--chars", type=int, default=24_000, help="characters per document")
    parser.add_argument("--queries", type=int, default=50, help="query embeddings timed per backend")
    args = parser.parse_args()

    configure_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    settings.MEDIA_ROOT = tempfile.mkdtemp(prefix="codex-bench-ingest-")
    call_command("migrate", verbosity=0)

    from apps.accounts.models import User
    from apps.knowledge import embedding, encoders, services
    from apps.knowledge.chunking import chunk_sections
    from apps.knowledge.models import Document
    from apps.knowledge.parsing import parse

    user, _ = User.objects.get_or_create(username="bench-ingest", defaults={"email": "bench@example.com"})
    Document.objects.filter(owner=user).delete()
    rng = random.Random(4)
    texts = [synthetic_document(rng, args.chars) for _ in range(args.documents)]
    chunk_texts = [
        draft.content for text in texts for draft in chunk_sections(parse(text.encode(), "doc.md"))
    ]
    print(f"{args.documents} documents, {sum(map(len, texts)):,} characters, {len(chunk_texts)} chunks")
    print(f"encoder threads: {encoders.cpu_threads(settings.EMBEDDING_THREADS)}; load average {os.getloadavg()[0]:.1f}")

    backends = ("torch", "onnx")
    for backend in backends:
        assert embedding.local_encoder(backend).name == backend, f"{backend} is not available"
        embedding.embed_local(chunk_texts[:64], backend=backend)  # warm up: first calls allocate

    def raw_rate(backend: str) -> float:
        started = time.perf_counter()
        embedding.embed_local(chunk_texts, backend=backend)
        return len(chunk_texts) / (time.perf_counter() - started)

    def end_to_end(backend: str, ids: list) -> float:
        settings.EMBEDDING_BACKEND = backend
        started = time.perf_counter()
        results = services.documents_ingest(document_ids=ids)
        elapsed = time.perf_counter() - started
        stored = sum(result.chunk_count for _, result in results)
        assert stored == len(chunk_texts), (backend, stored, len(chunk_texts))
        return stored / elapsed

    raw = {backend: [raw_rate(backend)] for backend in backends}
    documents = [
        services.document_create(
            owner=user, upload=SimpleUploadedFile(f"doc-{i}.md", text.encode()), queue=False
        )
        for i, text in enumerate(texts)
    ]
    ids = [document.pk for document in documents]
    whole = {backend: end_to_end(backend, ids) for backend in backends}
    for backend in backends:
        raw[backend].append(raw_rate(backend))

    question = (
        "Which backup server policy keeps the invoice and receipt documents of the hotel flight "
        "queue worker for how many days?"
    )
    assert len(question.split()) == 20
    latency = {}
    for backend in backends:
        embedding.embed_local([question], backend=backend)
        samples = []
        for _ in range(args.queries):
            started = time.perf_counter()
            embedding.embed_local([question], backend=backend)
            samples.append((time.perf_counter() - started) * 1000)
        latency[backend] = (statistics.median(samples), statistics.quantiles(samples, n=20)[-1])

    torch_raw = statistics.mean(raw["torch"])
    for backend in backends:
        before, after = raw[backend]
        print(f"raw {backend:5s} encoder {before:7.1f} / {after:7.1f} chunks/s (before / after)")
    for backend in backends:
        print(f"end to end, {backend:5s} {whole[backend]:7.1f} chunks/s")
    print(f"ratio raw onnx / raw torch          {statistics.mean(raw['onnx']) / torch_raw:5.2f}")
    print(f"ratio end to end torch / raw torch  {whole['torch'] / torch_raw:5.2f}")
    print(f"ratio end to end onnx / raw onnx    {whole['onnx'] / statistics.mean(raw['onnx']):5.2f}")
    print(f"ratio end to end onnx / raw torch   {whole['onnx'] / torch_raw:5.2f}   (target >= 2.00)")
    for backend in backends:
        p50, p95 = latency[backend]
        print(f"query embedding, {backend:5s} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  (20 words, {args.queries} runs)")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    Document.objects.filter(owner=user).delete()


if __name__ == "__main__":
    main()
