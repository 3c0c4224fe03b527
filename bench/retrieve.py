"""Vector retrieval at scale: HNSW latency and recall@10 against exact search, unfiltered and filtered.

Builds synthetic chunk tables (384 dims, loaded with one binary COPY stream) in a database of
its own on the project's PostgreSQL, with the same vector index as ``knowledge_chunk`` (HNSW,
vector_cosine_ops, m=16, ef_construction=64) and a btree on the knowledge base. One knowledge
base holds 1 % of the chunks. Two data sets:

* ``clustered`` (default, realistic): sentence embeddings cluster by topic, so the vectors are
  a mixture of Gaussian clusters on the unit sphere (one cluster per ~250 chunks, random
  centres), each point ``normalise(centre + noise)`` with a per-point noise radius chosen so
  that the cosine between two chunks of one cluster spreads over ~0.4-0.8, as between MiniLM
  chunks of one subject (``--calibrate`` prints the shipped corpus' figures beside the
  synthetic ones). The 1 % knowledge base draws its chunks from its own 2.5 % of the topics.
  Queries are drawn the same way (fresh points around the centres, never stored vectors);
  filtered queries around the knowledge base's topics.
* ``uniform`` (``--data uniform``, worst case): random unit vectors, no neighbourhood
  structure at all, where HNSW recall collapses.

Per size it runs:

* exact top-10 (index scans off) for each query: the ground truth;
* the HNSW query retrieval uses (``ORDER BY embedding <=> q LIMIT 10`` with
  ``SET LOCAL hnsw.ef_search`` and ``hnsw.iterative_scan = relaxed_order``), unfiltered and
  filtered to the 1 % knowledge base, at each ``--ef``;
* the filtered query through the product's path (apps/knowledge/selectors.py): count the scope
  up to ``EXACT_SEARCH_MAX_CHUNKS``, then exact (btree bitmap scan and a sort) or HNSW at
  ``HNSW_EF_SEARCH``; both statements are timed; for the 1 % knowledge base and for scopes of
  three and five ordinary knowledge bases (~1 % each),

and prints p50/p95 latency, recall@10 and the filtered/unfiltered p95 ratios. A table whose
row count and generator match is reused, so a 1M build runs once per data set.

    .venv/bin/python bench/retrieve.py [--data clustered|uniform] [--sizes 100000,1000000]
        [--queries 50] [--ef 20,40,100] [--build-only] [--calibrate]

Targets (issue 4 §6), at 1M: p95 <= 50 ms, recall@10 >= 0.95, filtered <= 2x unfiltered.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.sql import SQL, Identifier, Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DIMENSIONS = 384
DATABASE = "codex_bench_knowledge"
FILTERED_KB = uuid.UUID(int=1)
OTHER_KBS = [uuid.UUID(int=i) for i in range(2, 101)]
#: Chunks per topic cluster: 1M chunks -> 4 000 clusters, 100k -> 400.
CHUNKS_PER_CLUSTER = 250
#: Share of the topics the filtered knowledge base covers.
KB_TOPIC_SHARE = 0.025
#: Per-point squared noise radius |noise|^2 (relative to the unit centre), uniform in this range:
#: cos(point, centre) = 1/sqrt(1+r^2), so two points of one cluster sit at cosine
#: 1/sqrt((1+r1^2)(1+r2^2)), from 0.8 (both tight) to 0.4 (both loose).
NOISE_R2 = (0.25, 1.5)
BATCH = 50_000


def server_url(database: str) -> str:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "codex.settings")
    import django

    django.setup()
    from django.conf import settings

    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + database))


def ensure_database() -> str:
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
    url = server_url(DATABASE)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    return url


def normalise(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    return normalise(rng.standard_normal((count, DIMENSIONS), dtype=np.float32))


class Clusters:
    """Topic centres on the unit sphere; points are noisy copies of a centre, renormalised."""

    def __init__(self, size: int) -> None:
        rng = np.random.default_rng(size + 1)
        self.count = max(1, size // CHUNKS_PER_CLUSTER)
        self.centres = unit_vectors(rng, self.count)
        self.kb_topics = max(1, int(self.count * KB_TOPIC_SHARE))

    def points(self, rng: np.random.Generator, cluster_ids: np.ndarray) -> np.ndarray:
        r2 = rng.uniform(*NOISE_R2, size=(len(cluster_ids), 1)).astype(np.float32)
        noise = rng.standard_normal((len(cluster_ids), DIMENSIONS), dtype=np.float32)
        noise *= np.sqrt(r2 / DIMENSIONS)
        return normalise(self.centres[cluster_ids] + noise)

    def describe(self) -> str:
        return (
            f"clustered: {self.count:,} Gaussian topic clusters on the unit sphere, noise r^2 in {NOISE_R2}, "
            f"1 % knowledge base on {self.kb_topics} topics"
        )


def generator(kind: str, size: int) -> str:
    return Clusters(size).describe() if kind == "clustered" else "uniform random unit vectors"


def rows(
    kind: str,
    size: int,
    start: int,
    count: int,
    rng: np.random.Generator,
    clusters: Clusters | None,
):
    ids = np.arange(start, start + count)
    # Every 100th row belongs to the filtered knowledge base (1 %), spread over the whole heap.
    in_kb = ids % 100 == 0
    if kind == "uniform":
        vectors = unit_vectors(rng, count)
    else:
        topics = rng.integers(0, clusters.count, size=count)
        topics[in_kb] = rng.integers(0, clusters.kb_topics, size=int(in_kb.sum()))
        vectors = clusters.points(rng, topics)
    kbs = np.array([kb.bytes for kb in OTHER_KBS], dtype="S16")[ids % len(OTHER_KBS)]
    kbs[in_kb] = FILTERED_KB.bytes
    return ids, kbs, vectors


#: One tuple of PostgreSQL's binary COPY format: (id int8, knowledge_base_id uuid, embedding vector).
ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("id_len", ">i4"),
        ("id", ">i8"),
        ("kb_len", ">i4"),
        ("kb", "S16"),
        ("vec_len", ">i4"),
        ("dim", ">i2"),
        ("unused", ">i2"),
        ("vec", ">f4", (DIMENSIONS,)),
    ]
)


def binary_rows(ids: np.ndarray, kbs: np.ndarray, vectors: np.ndarray) -> bytes:
    # Built with numpy in one go: psycopg's write_row costs ~1 min per million rows of Python.
    block = np.zeros(len(ids), dtype=ROW)
    block["fields"], block["id_len"], block["kb_len"] = 3, 8, 16
    block["vec_len"], block["dim"] = 4 + 4 * DIMENSIONS, DIMENSIONS
    block["id"], block["kb"], block["vec"] = ids, kbs, vectors
    return block.tobytes()


def build(conn: psycopg.Connection, kind: str, table: str, size: int) -> None:
    description = generator(kind, size)
    exists = conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0]
    if exists:
        comment = conn.execute("SELECT obj_description(%s::regclass, 'pg_class')", [table]).fetchone()[0]
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if count == size and comment == description:
            print(f"  reusing {table} ({size:,} rows; {description})")
            return
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, knowledge_base_id uuid NOT NULL, embedding vector({DIMENSIONS}) NOT NULL)"
    )
    rng = np.random.default_rng(size)
    clusters = Clusters(size) if kind == "clustered" else None
    started = time.perf_counter()
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} (id, knowledge_base_id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.write(b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big"))
            for start in range(0, size, BATCH):
                copy.write(binary_rows(*rows(kind, size, start, min(BATCH, size - start), rng, clusters)))
            copy.write((-1).to_bytes(2, "big", signed=True))
    print(f"  COPY {size:,} rows: {time.perf_counter() - started:.1f} s ({description})")
    started = time.perf_counter()
    # The graph must fit in maintenance_work_mem or the build slows down ~10x (26 min at 1M with
    # 128 MB); one parallel worker because the machine has 2 cores and is shared.
    conn.execute("SET maintenance_work_mem = '4GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    conn.execute(
        f"CREATE INDEX ON {table} USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
    )
    print(f"  HNSW build: {time.perf_counter() - started:.1f} s")
    conn.execute(f"CREATE INDEX ON {table} (knowledge_base_id)")
    conn.execute(f"ANALYZE {table}")
    # The generator's description marks the table, so a changed generator rebuilds it.
    conn.execute(SQL("COMMENT ON TABLE {} IS {}").format(Identifier(table), Literal(description)))


def timed(conn: psycopg.Connection, sql: str, params: list, settings: list[str]) -> tuple[float, list[int]]:
    with conn.transaction():
        for statement in settings:
            conn.execute(statement)
        started = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        elapsed = time.perf_counter() - started
    return elapsed * 1000, [row[0] for row in rows]


def product_path(
    conn: psycopg.Connection, table: str, kbs: list[uuid.UUID], query: np.ndarray
) -> tuple[float, list[int]]:
    """A scoped query as apps.knowledge.selectors._vector_ranking runs it, both statements timed."""
    from apps.knowledge.selectors import EXACT_SEARCH_MAX_CHUNKS, HNSW_EF_SEARCH

    started = time.perf_counter()
    with conn.transaction():
        wide = conn.execute(
            f"SELECT 1 FROM {table} WHERE knowledge_base_id = ANY(%s) OFFSET %s LIMIT 1",
            [kbs, EXACT_SEARCH_MAX_CHUNKS],
        ).fetchone()
        if wide:
            conn.execute(f"SET LOCAL hnsw.ef_search = {HNSW_EF_SEARCH}")
            conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        else:
            conn.execute("SET LOCAL enable_indexscan = off")
        ids = conn.execute(
            f"SELECT id FROM {table} WHERE knowledge_base_id = ANY(%s) ORDER BY embedding <=> %s LIMIT 10",
            [kbs, query],
        ).fetchall()
    return (time.perf_counter() - started) * 1000, [row[0] for row in ids]


def measure_product_path(
    conn: psycopg.Connection,
    table: str,
    label: str,
    kbs: list[uuid.UUID],
    queries: np.ndarray,
    exact_settings: list[str],
) -> float:
    """Recall and latency of the product's scoped query; returns its p95."""
    from apps.knowledge.selectors import EXACT_SEARCH_MAX_CHUNKS, HNSW_EF_SEARCH

    scoped = f"SELECT id FROM {table} WHERE knowledge_base_id = ANY(%s) ORDER BY embedding <=> %s LIMIT 10"
    truth = [timed(conn, scoped, [kbs, q], exact_settings)[1] for q in queries]
    product = [product_path(conn, table, kbs, q) for q in queries]
    scope = conn.execute(f"SELECT count(*) FROM {table} WHERE knowledge_base_id = ANY(%s)", [kbs]).fetchone()[0]
    path = "exact, btree" if scope <= EXACT_SEARCH_MAX_CHUNKS else f"HNSW ef_search={HNSW_EF_SEARCH}"
    latencies = [ms for ms, _ in product]
    print(
        line(
            f"product path {label}, {scope:,} chunks ({path})",
            latencies,
            recall_of([i for _, i in product], truth),
        )
    )
    return percentile(latencies, 0.95)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def recall_of(found: list[list[int]], truth: list[list[int]]) -> float:
    return statistics.mean(len(set(ids) & set(t)) / 10 for ids, t in zip(found, truth, strict=True))


def line(label: str, latencies: list[float], recall: float) -> str:
    return (
        f"  {label:<52} p50 {percentile(latencies, 0.5):6.1f} ms  p95 {percentile(latencies, 0.95):6.1f} ms  "
        f"recall@10 {recall:.3f}"
    )


def run(
    conn: psycopg.Connection,
    table: str,
    queries: np.ndarray,
    kb_queries: np.ndarray,
    ef_values: list[int],
) -> None:
    unfiltered = f"SELECT id FROM {table} ORDER BY embedding <=> %s LIMIT 10"
    filtered = f"SELECT id FROM {table} WHERE knowledge_base_id = %s ORDER BY embedding <=> %s LIMIT 10"
    exact_settings = [
        "SET LOCAL enable_indexscan = off",
        "SET LOCAL enable_bitmapscan = off",
    ]
    exact = [timed(conn, unfiltered, [q], exact_settings) for q in queries]
    truth = [ids for _, ids in exact]
    truth_filtered = [timed(conn, filtered, [FILTERED_KB, q], exact_settings)[1] for q in kb_queries]
    exact_ms = [ms for ms, _ in exact]
    print(f"  exact search unfiltered p50 {statistics.median(exact_ms):.1f} ms (the baseline the index replaces)")
    # Sanity of the synthetic set: how close the true neighbours are (MiniLM: see --calibrate).
    top = conn.execute(
        f"SELECT 1 - (embedding <=> %s) FROM {table} WHERE id = ANY(%s)",
        [queries[0], truth[0]],
    ).fetchall()
    print(f"  query 0: cosine of its true top-10 {min(r[0] for r in top):.2f}..{max(r[0] for r in top):.2f}")
    results: dict[int, tuple[float, float]] = {}
    for ef in ef_values:
        index_settings = [
            f"SET LOCAL hnsw.ef_search = {ef}",
            "SET LOCAL hnsw.iterative_scan = relaxed_order",
        ]
        for q in queries[:5]:  # warm the index pages
            timed(conn, unfiltered, [q], index_settings)
        hnsw = [timed(conn, unfiltered, [q], index_settings) for q in queries]
        print(
            line(
                f"HNSW ef_search={ef} unfiltered",
                [ms for ms, _ in hnsw],
                recall_of([i for _, i in hnsw], truth),
            )
        )
        hnsw_f = [timed(conn, filtered, [FILTERED_KB, q], index_settings) for q in kb_queries]
        print(
            line(
                f"HNSW ef_search={ef} filtered 1% (iter.)",
                [ms for ms, _ in hnsw_f],
                recall_of([i for _, i in hnsw_f], truth_filtered),
            )
        )
        results[ef] = (
            percentile([ms for ms, _ in hnsw], 0.95),
            percentile([ms for ms, _ in hnsw_f], 0.95),
        )
    product_p95 = measure_product_path(conn, table, "1% KB", [FILTERED_KB], kb_queries, exact_settings)
    # Several ordinary knowledge bases at once (~1 % each): at 1M, three sit at
    # EXACT_SEARCH_MAX_CHUNKS and five above it, on the product's filtered HNSW path.
    for count in (3, 5):
        measure_product_path(conn, table, f"{count} KBs", OTHER_KBS[:count], queries, exact_settings)
    for ef, (p95, p95_f) in results.items():
        print(
            f"  ef_search={ef:<4} filtered/unfiltered p95: HNSW iterative {p95_f / p95:.2f}x, "
            f"product path {product_p95 / p95:.2f}x"
        )


def calibrate() -> None:
    """Cosines between real MiniLM embeddings of the shipped corpus beside the synthetic set's.

    The corpus' six files are six unrelated subjects, each a handful of short passages: the
    pairs inside one file stand for one topic cluster, pairs across files for unrelated topics.
    """
    from apps.knowledge.chunking import chunk_sections
    from apps.knowledge.embedding import embed_local
    from apps.knowledge.parsing import is_supported, parse

    corpus = ROOT / "apps" / "knowledge" / "tests" / "corpus"
    texts, sources = [], []
    for path in sorted(corpus.iterdir()):
        if not is_supported(path.name):
            continue
        # Small chunks so each file yields several passages of one subject.
        for draft in chunk_sections(parse(path.read_bytes(), path.name), chunk_size=300, chunk_overlap=0):
            texts.append(draft.content)
            sources.append(path.name)
    vectors = np.asarray(embed_local(texts), dtype=np.float32)
    clusters = Clusters(100_000)
    rng = np.random.default_rng(3)
    topics = np.repeat(np.arange(len(set(sources))), max(2, len(texts) // len(set(sources))))
    synthetic = clusters.points(rng, topics)

    def spread(vectors: np.ndarray, labels: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cosines = vectors @ vectors.T
        same = np.equal.outer(labels, labels)
        upper = np.triu(np.ones_like(same), 1)
        np.fill_diagonal(cosines, -1)
        return cosines[same & upper], cosines[~same & upper], cosines.max(axis=1)

    def q(values: np.ndarray) -> str:
        return "/".join(f"{v:.2f}" for v in np.percentile(values, [10, 50, 90]))

    print(f"calibration: {len(texts)} MiniLM chunks (300 chars) of {len(set(sources))} corpus files")
    for name, (same, other, nearest) in [
        ("MiniLM corpus", spread(vectors, sources)),
        ("synthetic", spread(synthetic, list(topics))),
    ]:
        print(
            f"  {name:<14} cosine p10/p50/p90: same topic {q(same)}, other topic {q(other)}, nearest neighbour {q(nearest)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=["clustered", "uniform"], default="clustered")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--ef", default="20,40,100")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--calibrate", action="store_true")
    args = parser.parse_args()
    url = ensure_database()
    if args.calibrate:
        calibrate()
    ef_values = [int(value) for value in args.ef.split(",")]
    # No server-side prepared statements: a generic plan cached while index scans were off (the
    # exact runs) would otherwise be reused for the HNSW runs, whatever SET LOCAL says.
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        register_vector(conn)
        for size in [int(value) for value in args.sizes.split(",")]:
            table = f"bench_{args.data}_{size}"
            print(f"{size:,} chunks, {generator(args.data, size)}")
            build(conn, args.data, table, size)
            if args.build_only:
                continue
            rng = np.random.default_rng(7)
            if args.data == "uniform":
                queries, kb_queries = (
                    unit_vectors(rng, args.queries),
                    unit_vectors(rng, args.queries),
                )
            else:
                clusters = Clusters(size)
                queries = clusters.points(rng, rng.integers(0, clusters.count, size=args.queries))
                kb_queries = clusters.points(rng, rng.integers(0, clusters.kb_topics, size=args.queries))
            run(conn, table, queries, kb_queries, ef_values)


if __name__ == "__main__":
    main()
