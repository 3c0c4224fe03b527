"""Vector retrieval at scale: HNSW latency and recall@10 against exact search, unfiltered and filtered.

Builds synthetic chunk tables of random unit vectors (384 dims, loaded with binary COPY)
in a database of its own on the project's PostgreSQL, with the same vector index as
``knowledge_chunk`` (HNSW, vector_cosine_ops, m=16, ef_construction=64) and a btree on
the knowledge base. One knowledge base holds 1 % of the chunks. It then runs, per size:

* exact top-10 (index scans off) for each query: the ground truth;
* the HNSW query retrieval uses (``ORDER BY embedding <=> q LIMIT 10`` with
  ``SET LOCAL hnsw.ef_search`` and ``hnsw.iterative_scan = relaxed_order``), unfiltered
  and filtered to the 1 % knowledge base,

and prints p50/p95 latency, recall@10 and the filtered/unfiltered ratio per ef_search.
A table that already holds the right number of rows is reused, so the 1M build runs once.

    .venv/bin/python bench/retrieve.py [--sizes 100000,1000000] [--queries 50] [--ef 40,100,200]

Targets (issue 4 §6), at 1M: p95 <= 50 ms, recall@10 >= 0.95, filtered <= 2x unfiltered.
Random vectors are the hardest case for HNSW (no neighbourhood structure), so recall here
is a lower bound for real embeddings.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DIMENSIONS = 384
DATABASE = "codex_bench_knowledge"
FILTERED_KB = uuid.UUID(int=1)


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


def unit_vectors(rng: np.random.Generator, count: int) -> np.ndarray:
    vectors = rng.standard_normal((count, DIMENSIONS), dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def build(conn: psycopg.Connection, table: str, size: int) -> None:
    exists = conn.execute("SELECT to_regclass(%s)", [table]).fetchone()[0]
    if exists and conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == size:
        print(f"  reusing {table} ({size:,} rows)")
        return
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(
        f"CREATE TABLE {table} (id bigint PRIMARY KEY, knowledge_base_id uuid NOT NULL, embedding vector({DIMENSIONS}) NOT NULL)"
    )
    rng = np.random.default_rng(size)
    other_kbs = [uuid.UUID(int=i) for i in range(2, 101)]
    started = time.perf_counter()
    batch = 50_000
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} (id, knowledge_base_id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "uuid", "vector"])
            for start in range(0, size, batch):
                vectors = unit_vectors(rng, min(batch, size - start))
                for offset, vector in enumerate(vectors):
                    row = start + offset
                    # Every 100th row belongs to the filtered knowledge base: 1 % of the table.
                    kb = FILTERED_KB if row % 100 == 0 else other_kbs[row % len(other_kbs)]
                    copy.write_row((row, kb, vector))
    print(f"  COPY {size:,} rows: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    conn.execute("SET maintenance_work_mem = '3GB'")
    conn.execute("SET max_parallel_maintenance_workers = 1")
    conn.execute(
        f"CREATE INDEX ON {table} USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
    )
    conn.execute(f"CREATE INDEX ON {table} (knowledge_base_id)")
    conn.execute(f"ANALYZE {table}")
    print(f"  HNSW build: {time.perf_counter() - started:.1f} s")


def timed(conn: psycopg.Connection, sql: str, params: list, settings: list[str]) -> tuple[float, list[int]]:
    with conn.transaction():
        for statement in settings:
            conn.execute(statement)
        started = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        elapsed = time.perf_counter() - started
    return elapsed * 1000, [row[0] for row in rows]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(conn: psycopg.Connection, table: str, queries: np.ndarray, ef_values: list[int]) -> None:
    unfiltered = f"SELECT id FROM {table} ORDER BY embedding <=> %s LIMIT 10"
    filtered = f"SELECT id FROM {table} WHERE knowledge_base_id = %s ORDER BY embedding <=> %s LIMIT 10"
    exact_settings = ["SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off"]
    truth = [timed(conn, unfiltered, [q], exact_settings)[1] for q in queries]
    truth_filtered = [timed(conn, filtered, [FILTERED_KB, q], exact_settings)[1] for q in queries]
    exact_ms = [timed(conn, unfiltered, [q], exact_settings)[0] for q in queries[:10]]
    print(f"  exact search p50 {statistics.median(exact_ms):.1f} ms (the baseline the index replaces)")
    plan = conn.execute("EXPLAIN " + filtered, [FILTERED_KB, queries[0]]).fetchall()
    print("  filtered plan:", " / ".join(row[0].strip() for row in plan[:3]))
    # What retrieval does for a scope of at most 20k chunks: the btree on the knowledge base
    # (bitmap scan) and an exact sort, no HNSW.
    exact_filtered = [
        timed(conn, filtered, [FILTERED_KB, q], ["SET LOCAL enable_indexscan = off"]) for q in queries
    ]
    latencies = [ms for ms, _ in exact_filtered]
    recall = statistics.mean(len(set(ids) & set(t)) / 10 for (_, ids), t in zip(exact_filtered, truth_filtered))
    print(
        f"  exact, btree   filtered 1%  p50 {percentile(latencies, 0.5):6.1f} ms  "
        f"p95 {percentile(latencies, 0.95):6.1f} ms  recall@10 {recall:.3f}  (retrieval's path below 20k chunks)"
    )
    for ef in ef_values:
        index_settings = [f"SET LOCAL hnsw.ef_search = {ef}", "SET LOCAL hnsw.iterative_scan = relaxed_order"]
        for q in queries[:5]:  # warm the index pages
            timed(conn, unfiltered, [q], index_settings)
        results = {}
        for name, sql, expected in [
            ("unfiltered", unfiltered, truth),
            ("filtered 1%", filtered, truth_filtered),
        ]:
            latencies, recalls = [], []
            for q, exact in zip(queries, expected):
                params = [q] if name == "unfiltered" else [FILTERED_KB, q]
                ms, ids = timed(conn, sql, params, index_settings)
                latencies.append(ms)
                recalls.append(len(set(ids) & set(exact)) / 10)
            results[name] = (percentile(latencies, 0.5), percentile(latencies, 0.95), statistics.mean(recalls))
            p50, p95, recall = results[name]
            print(f"  ef_search={ef:<4} {name:<12} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  recall@10 {recall:.3f}")
        ratio = results["filtered 1%"][1] / results["unfiltered"][1]
        print(f"  ef_search={ef:<4} filtered/unfiltered p95 ratio {ratio:.2f}x; p95 vs exact p50 {results['unfiltered'][1] / statistics.median(exact_ms):.3f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--ef", default="40,100,200")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    url = ensure_database()
    ef_values = [int(value) for value in args.ef.split(",")]
    # No server-side prepared statements: a generic plan cached while index scans were off (the
    # exact runs) would otherwise be reused for the HNSW runs, whatever SET LOCAL says.
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        register_vector(conn)
        for size in [int(value) for value in args.sizes.split(",")]:
            table = f"bench_chunk_{size}"
            print(f"{size:,} chunks")
            build(conn, table, size)
            if args.build_only:
                continue
            queries = unit_vectors(np.random.default_rng(7), args.queries)
            run(conn, table, queries, ef_values)


if __name__ == "__main__":
    main()
