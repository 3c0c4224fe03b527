"""Ingestion throughput: documents → stored chunks per second, against the raw encoder on the same text.

In one run, on a database of its own (``codex_bench_ingest`` on the project's PostgreSQL):

* the raw encoder: all-MiniLM-L6-v2 ``encode`` (batch 64, normalised) over exactly the
  chunk texts the pipeline will produce, in sentences (chunks) per second;
* end to end: ``document_ingest`` for each uploaded document (read from storage, parse,
  chunk, embed in batches with progress writes, swap the chunks in one transaction);

then the raw encoder again, since other load on the machine drifts. It prints chunks/s
for both and their ratio against the mean of the two raw runs.

    .venv/bin/python bench/ingest.py [--documents 8] [--chars 24000]

Target (issue 4 §6): end to end >= 80 % of the raw encoder.
"""
from __future__ import annotations

import argparse
import os
import random
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
    from apps.knowledge import embedding, services
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

    embedding.local_model()
    embedding.embed_local(chunk_texts[:64])  # warm up: first calls allocate

    def raw_rate() -> float:
        started = time.perf_counter()
        embedding.embed_local(chunk_texts)
        return len(chunk_texts) / (time.perf_counter() - started)

    raw_before = raw_rate()
    documents = [
        services.document_create(
            owner=user, upload=SimpleUploadedFile(f"doc-{i}.md", text.encode()), queue=False
        )
        for i, text in enumerate(texts)
    ]
    started = time.perf_counter()
    stored = 0
    for document in documents:
        stored += services.document_ingest(document_id=document.pk).chunk_count
    end_to_end = stored / (time.perf_counter() - started)
    raw_after = raw_rate()
    raw = (raw_before + raw_after) / 2

    assert stored == len(chunk_texts), (stored, len(chunk_texts))
    print(f"raw encoder      {raw_before:7.1f} / {raw_after:7.1f} chunks/s (before / after)")
    print(f"end to end       {end_to_end:7.1f} chunks/s ({stored} chunks stored)")
    print(f"ratio            {end_to_end / raw:.2f} of the raw encoder (target >= 0.80)")
    Document.objects.filter(owner=user).delete()


if __name__ == "__main__":
    main()
