"""pgvector: the HNSW index against an exact scan of the same table.

The table ``bench_vectors`` has the index the app uses on ``Place.embedding`` (HNSW,
vector_cosine_ops, with ``m`` and ``ef_construction`` read from the model's index: 16 and 128).
Rows are loaded first and the index is built after (much faster than inserting with the index
live); both are reused by later runs of the same size and index parameters. The exact side runs
the same query on a connection with ``enable_indexscan = off`` (a sequential scan and sort).
Ground truth is computed in numpy.

``hnsw.ef_search`` is tuned: the smallest value reaching recall@10 ≥ 0.95 is timed against
the exact scan (target ≥ 20x queries/s at 100k vectors), and the one reaching 0.99 is reported.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import psycopg
from pgvector.django import HnswIndex

from bench import data
from bench.harness import SuiteResult, interleave
from places.models import Place

SCALES = {
    "smoke": {"vectors": 2_000, "queries": 50, "exact_queries": 20, "repetitions": 5},
    "full": {"vectors": 100_000, "queries": 200, "exact_queries": 20, "repetitions": 5},
}
EF_SEARCH = (10, 16, 24, 32, 40, 48, 56, 64, 80, 100, 150, 200, 300, 400)  # fine enough to find the smallest
QUERY = "SELECT id FROM bench_vectors ORDER BY embedding <=> %s LIMIT 10"


def index_params() -> tuple[int, int]:
    """(m, ef_construction) of the app's HNSW index on ``Place.embedding``."""
    index = next(i for i in Place._meta.indexes if isinstance(i, HnswIndex))
    return int(index.m or 16), int(index.ef_construction or 64)


def ensure_table(conn: psycopg.Connection, vectors: np.ndarray) -> dict[str, float]:
    """Load ``vectors`` (ids 0..n-1) and build the index, unless the same table is there already."""
    m, ef_construction = index_params()
    conn.execute("CREATE TABLE IF NOT EXISTS bench_vectors (id bigint PRIMARY KEY, embedding vector(384) NOT NULL)")
    row = conn.execute("SELECT count(*) FROM bench_vectors").fetchone()
    indexed = conn.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'bench_vectors_hnsw'").fetchone()
    definition = indexed[0].replace(" ", "") if indexed else ""
    same_index = f"m='{m}'" in definition and f"ef_construction='{ef_construction}'" in definition
    if row and row[0] == len(vectors) and same_index:
        return {"reused": 1.0}
    conn.execute("DROP INDEX IF EXISTS bench_vectors_hnsw")
    conn.execute("TRUNCATE bench_vectors")
    started = time.perf_counter()
    with conn.cursor() as cur, cur.copy("COPY bench_vectors (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int8", "vector"])
        for i, vector in enumerate(vectors):
            copy.write_row((i, vector))
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    # The graph must fit in maintenance_work_mem or the build slows down badly (pgvector's notes).
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute(
        "CREATE INDEX bench_vectors_hnsw ON bench_vectors USING hnsw (embedding vector_cosine_ops) "
        f"WITH (m = {m}, ef_construction = {ef_construction})"
    )
    conn.execute("ANALYZE bench_vectors")
    return {"reused": 0.0, "load_seconds": loaded, "index_seconds": time.perf_counter() - started}


def exact_top10(vectors: np.ndarray, queries: np.ndarray) -> list[set[int]]:
    scores = queries @ vectors.T  # unit vectors: cosine similarity
    top = np.argpartition(-scores, 10, axis=1)[:, :10]
    return [set(row.tolist()) for row in top]


def search(conn: psycopg.Connection, queries: np.ndarray) -> list[set[int]]:
    return [{r[0] for r in conn.execute(QUERY, [q]).fetchall()} for q in queries]


def recall(found: list[set[int]], truth: list[set[int]]) -> float:
    return float(np.mean([len(f & t) / 10 for f, t in zip(found, truth, strict=True)]))


def run(scale: str, on_step: Callable[[], None] | None = None) -> SuiteResult:
    result = SuiteResult("vectors", scale)
    size = SCALES[scale]
    vectors = data.clustered_vectors(size["vectors"])
    queries = _near_centres(size["queries"])
    truth = exact_top10(vectors, queries)
    with data.raw_connection() as hnsw, data.raw_connection() as exact:
        result.info.update({k: round(v, 2) for k, v in ensure_table(hnsw, vectors).items()})
        # HNSW searches are fast only while the graph sits in PostgreSQL's buffer cache.
        sizes = hnsw.execute(
            "SELECT current_setting('shared_buffers'), pg_size_pretty(pg_relation_size('bench_vectors_hnsw'))"
        ).fetchone()
        if sizes is not None:
            result.info.update(shared_buffers=sizes[0], index_size=sizes[1])
        exact.execute("SET enable_indexscan = off")
        exact_queries = queries[: size["exact_queries"]]
        exact_recall = recall(search(exact, exact_queries), truth[: len(exact_queries)])
        curve: dict[int, float] = {}
        for ef in EF_SEARCH:
            hnsw.execute(f"SET hnsw.ef_search = {ef}")
            curve[ef] = recall(search(hnsw, queries), truth)
        ef95 = next((ef for ef in EF_SEARCH if curve[ef] >= 0.95), EF_SEARCH[-1])
        ef99 = next((ef for ef in EF_SEARCH if curve[ef] >= 0.99), EF_SEARCH[-1])

        def qps(conn: psycopg.Connection, qs: np.ndarray) -> float:
            started = time.perf_counter()
            search(conn, qs)
            return len(qs) / (time.perf_counter() - started)

        def hnsw_at(ef: int) -> Callable[[], float]:
            def side() -> float:
                hnsw.execute(f"SET hnsw.ef_search = {ef}")
                return qps(hnsw, queries)

            return side

        target = 20.0 if scale == "full" else None  # the target is for 100k vectors
        for label, ef, tgt in (
            (f"recall 0.95 (ef_search={ef95})", ef95, target),
            (f"recall 0.99 (ef_search={ef99})", ef99, None),
        ):
            result.comparisons.append(
                interleave(
                    f"queries/s HNSW {label} vs exact",
                    lambda: qps(exact, exact_queries),
                    hnsw_at(ef),
                    repetitions=size["repetitions"],
                    unit="/s",
                    target=tgt,
                    goal="higher",
                    on_step=on_step,
                )
            )
    result.check("recall@10 at the timed ef_search", curve[ef95], "higher", 0.95)
    result.check("recall@10 of the exact SQL scan", exact_recall, "higher", 0.999)
    result.info.update(
        vectors=size["vectors"],
        index="hnsw m={} ef_construction={}".format(*index_params()),
        ef_search_for_095=ef95,
        ef_search_for_099=ef99,
        recall_by_ef_search={ef: round(r, 4) for ef, r in curve.items()},
    )
    return result


def _near_centres(n: int) -> np.ndarray:
    """Queries drawn like the table's rows (same centres, fresh noise): in-distribution searches."""
    rng = np.random.default_rng(11)
    centres = rng.standard_normal((100, data.DIMENSIONS)).astype(np.float32)
    q_rng = np.random.default_rng(12)
    x = centres[q_rng.integers(0, 100, n)] + q_rng.standard_normal((n, data.DIMENSIONS)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
